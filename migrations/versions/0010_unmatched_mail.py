"""unmatched mail: what a clerk needs about mail waiting for them, and what they did with it

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01

A mail that looks like a reply but may not speak for the reporter (status "unmatched" on mail_messages)
and a quarantined one are reviewed by a clerk: the sender, subject and text are kept encrypted in
mail_reviews, with the clerk's decision (a new report, attached to a case as a staff note, dismissed).
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mail_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mail_message_id', sa.Integer(), nullable=False),
    sa.Column('envelope', sa.LargeBinary(), nullable=True),
    sa.Column('points_to', sa.String(length=300), nullable=False),
    sa.Column('resolution', sa.String(length=12), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mail_message_id'], ['mail_messages.id'], name=op.f('fk_mail_reviews_mail_message_id_mail_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_mail_reviews_report_id_reports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resolved_by'], ['users.id'], name=op.f('fk_mail_reviews_resolved_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_reviews')),
    sa.UniqueConstraint('mail_message_id', name=op.f('uq_mail_reviews_mail_message_id'))
    )


def downgrade() -> None:
    op.drop_table('mail_reviews')
