"""audit mac

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-01

Audit entries carry an HMAC-SHA256 of their number and hash under the audit key (not in the database)
and the id of that key. Entries written before have neither: they keep their plain hash, and the keyed
chain begins at the first entry with a MAC (`flask setup` writes one when the newest entry has none).
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac_key', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('mac')
        batch_op.drop_column('mac_key')
