"""weekly reminders (催报)

Revision ID: 0015
Revises: 0008
Create Date: 2026-12-01

The task force reminds a unit that has not sent a week's report, at most once a day per unit.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('weekly_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=20), nullable=False),
    sa.Column('week_of', sa.Date(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('sent_by', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['sent_by'], ['users.id'], name=op.f('fk_weekly_reminders_sent_by_users')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_weekly_reminders_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weekly_reminders')),
    sa.UniqueConstraint('unit_code', 'sent_on', name='uq_weekly_reminders_unit_day')
    )


def downgrade() -> None:
    op.drop_table('weekly_reminders')
