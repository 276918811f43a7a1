"""search index

Revision ID: 0019
Revises: 0009
Create Date: 2026-12-02

case_search: one entry per case of the bigrams of its reports' references, titles, accused and texts
(casework.search). PostgreSQL: a tsvector column with a GIN index. SQLite: an FTS5 table,
case_search_fts (rowid = case id, columns a, b, d), beside an unused case_search table. The upgrade
indexes the cases already there.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0019'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_search',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('tsv', postgresql.TSVECTOR().with_variant(sa.Text(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_search_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_search'))
    )
    bind = op.get_bind()
    op.create_index('ix_case_search_tsv', 'case_search', ['tsv'], unique=False, postgresql_using='gin')
    if bind.dialect.name == 'sqlite':
        op.execute("CREATE VIRTUAL TABLE case_search_fts USING fts5(a, b, d, tokenize = 'unicode61')")
    from sqlalchemy.orm import Session

    from casework.search import rebuild
    session = Session(bind=bind)
    rebuild(session)
    session.flush()


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TABLE IF EXISTS case_search_fts")
    op.drop_index('ix_case_search_tsv', table_name='case_search', postgresql_using='gin')
    op.drop_table('case_search')
