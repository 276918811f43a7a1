"""queue indexes that end in the case id

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-02

Issue 18 at scale. A queue tab's count checks each case's id against the walls and recusals (`id NOT IN
…`): with the id in the index PostgreSQL answers it from the index alone instead of visiting every case of
the tab, and a page's order (newest first, then id) is the index's own order, so a page of 50 reads 50
entries instead of sorting the tab. case_units' index ends in case_id for the assisting tab likewise.
"""
from alembic import op

revision = '0020'
down_revision = '0018'
branch_labels = None
depends_on = None

INDEXES = (  # name, table, columns before, columns after
    ('ix_cases_lead_status_received', 'cases', ['lead_unit', 'status', 'received_at'],
     ['lead_unit', 'status', 'received_at', 'id']),
    ('ix_cases_status_received', 'cases', ['status', 'received_at'], ['status', 'received_at', 'id']),
    ('ix_cases_lead_due', 'cases', ['lead_unit', 'next_due_on'], ['lead_unit', 'next_due_on', 'id']),
    ('ix_cases_lead_received', 'cases', ['lead_unit', 'received_at'], ['lead_unit', 'received_at', 'id']),
    ('ix_cases_received', 'cases', ['received_at'], ['received_at', 'id']),
    ('ix_case_units_unit_role', 'case_units', ['unit_code', 'role'], ['unit_code', 'role', 'case_id']),
)


def _indexes(which: int) -> None:
    for name, table, *columns in INDEXES:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns[which], unique=False)


def upgrade() -> None:
    _indexes(1)


def downgrade() -> None:
    _indexes(0)
