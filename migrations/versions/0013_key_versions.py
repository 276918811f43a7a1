"""key versions

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-01

Each report records which receipt key made its stored receipt hash (reports.receipt_key_id, a 16-hex
fingerprint that does not reveal the key), so that `identity rotate --status` can count the receipts still
under a previous key. Existing rows stay NULL: they were hashed under the oldest key listed at the time.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_key_id', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_column('receipt_key_id')
