"""queue counts kept by triggers

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02

Issue 18 at scale: a queue tab's count was a count over every case of the tab (hundreds of thousands at a
province's size, six tabs a page). queue_counts holds signed deltas per (kind, unit, status): triggers on
cases (lead unit and status) and case_units (assisting rows) append +1 / -1 on every insert, change and
delete, whatever the writer; casework.queue_counts.compact folds them (the routing job does, every run).
The upgrade counts the cases already there.
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

INSERT = "INSERT INTO queue_counts (unit_code, kind, status, n) "

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER queue_counts_case_insert AFTER INSERT ON cases BEGIN
        {INSERT} VALUES (NEW.lead_unit, 'lead', NEW.status, 1); END""",
    f"""CREATE TRIGGER queue_counts_case_update AFTER UPDATE OF lead_unit, status ON cases
        WHEN OLD.lead_unit IS NOT NEW.lead_unit OR OLD.status IS NOT NEW.status BEGIN
        {INSERT} VALUES (OLD.lead_unit, 'lead', OLD.status, -1), (NEW.lead_unit, 'lead', NEW.status, 1); END""",
    f"""CREATE TRIGGER queue_counts_case_delete AFTER DELETE ON cases BEGIN
        {INSERT} VALUES (OLD.lead_unit, 'lead', OLD.status, -1); END""",
    f"""CREATE TRIGGER queue_counts_unit_insert AFTER INSERT ON case_units WHEN NEW.role = 'assist' BEGIN
        {INSERT} VALUES (NEW.unit_code, 'assist', '', 1); END""",
    f"""CREATE TRIGGER queue_counts_unit_update AFTER UPDATE OF unit_code, role ON case_units BEGIN
        {INSERT} SELECT OLD.unit_code, 'assist', '', -1 WHERE OLD.role = 'assist';
        {INSERT} SELECT NEW.unit_code, 'assist', '', 1 WHERE NEW.role = 'assist'; END""",
    f"""CREATE TRIGGER queue_counts_unit_delete AFTER DELETE ON case_units WHEN OLD.role = 'assist' BEGIN
        {INSERT} VALUES (OLD.unit_code, 'assist', '', -1); END""",
)
SQLITE_NAMES = ("queue_counts_case_insert", "queue_counts_case_update", "queue_counts_case_delete",
                "queue_counts_unit_insert", "queue_counts_unit_update", "queue_counts_unit_delete")

POSTGRES_FUNCTIONS = (
    f"""CREATE FUNCTION queue_counts_cases() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.lead_unit IS NOT DISTINCT FROM NEW.lead_unit
         AND OLD.status IS NOT DISTINCT FROM NEW.status THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') THEN {INSERT} VALUES (OLD.lead_unit, 'lead', OLD.status, -1); END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN {INSERT} VALUES (NEW.lead_unit, 'lead', NEW.status, 1); END IF;
      RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION queue_counts_case_units() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.role = 'assist' THEN
        {INSERT} VALUES (OLD.unit_code, 'assist', '', -1);
      END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.role = 'assist' THEN
        {INSERT} VALUES (NEW.unit_code, 'assist', '', 1);
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER queue_counts_cases AFTER INSERT OR DELETE OR UPDATE OF lead_unit, status ON cases
       FOR EACH ROW EXECUTE FUNCTION queue_counts_cases()""",
    """CREATE TRIGGER queue_counts_case_units AFTER INSERT OR DELETE OR UPDATE OF unit_code, role ON case_units
       FOR EACH ROW EXECUTE FUNCTION queue_counts_case_units()""",
)


def upgrade() -> None:
    op.create_table('queue_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_counts'))
    )
    op.create_index('ix_queue_counts_key', 'queue_counts', ['kind', 'unit_code', 'status'], unique=False)
    op.execute(INSERT + "SELECT lead_unit, 'lead', status, count(*) FROM cases GROUP BY lead_unit, status")
    op.execute(INSERT + "SELECT unit_code, 'assist', '', count(*) FROM case_units WHERE role = 'assist' "
               "GROUP BY unit_code")
    for statement in (SQLITE_TRIGGERS if op.get_bind().dialect.name == 'sqlite' else POSTGRES_FUNCTIONS):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name in SQLITE_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS queue_counts_cases ON cases")
        op.execute("DROP TRIGGER IF EXISTS queue_counts_case_units ON case_units")
        op.execute("DROP FUNCTION IF EXISTS queue_counts_cases()")
        op.execute("DROP FUNCTION IF EXISTS queue_counts_case_units()")
    op.drop_index('ix_queue_counts_key', table_name='queue_counts')
    op.drop_table('queue_counts')
