"""queue counts kept by triggers

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02

Issue 18 at scale: a queue tab's count was a count over every case of the tab (hundreds of thousands at a
province's size, six tabs a page). queue_counts holds signed deltas of cases per (lead unit, status): triggers
on cases append +1 / -1 on every insert, change and delete, whatever the writer; casework.queue_counts.compact folds them (the routing job does, every run).
The walls' rows (recusals, case_excluded_units, case_walls) get a copy of their case's lead unit and
status, set and kept by triggers, so that the cases hidden from a person are counted per tab from those
rows alone. The upgrade counts the cases already there and copies their lead units and statuses.
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

INSERT = "INSERT INTO queue_counts (unit_code, status, n) "

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER queue_counts_case_insert AFTER INSERT ON cases BEGIN
        {INSERT} VALUES (NEW.lead_unit, NEW.status, 1); END""",
    f"""CREATE TRIGGER queue_counts_case_update AFTER UPDATE OF lead_unit, status ON cases
        WHEN OLD.lead_unit IS NOT NEW.lead_unit OR OLD.status IS NOT NEW.status BEGIN
        {INSERT} VALUES (OLD.lead_unit, OLD.status, -1), (NEW.lead_unit, NEW.status, 1); END""",
    f"""CREATE TRIGGER queue_counts_case_delete AFTER DELETE ON cases BEGIN
        {INSERT} VALUES (OLD.lead_unit, OLD.status, -1); END""",
)
SQLITE_NAMES = ("queue_counts_case_insert", "queue_counts_case_update", "queue_counts_case_delete")

POSTGRES_FUNCTIONS = (
    f"""CREATE FUNCTION queue_counts_cases() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND OLD.lead_unit IS NOT DISTINCT FROM NEW.lead_unit
         AND OLD.status IS NOT DISTINCT FROM NEW.status THEN
        RETURN NULL;
      END IF;
      IF TG_OP IN ('UPDATE', 'DELETE') THEN {INSERT} VALUES (OLD.lead_unit, OLD.status, -1); END IF;
      IF TG_OP IN ('INSERT', 'UPDATE') THEN {INSERT} VALUES (NEW.lead_unit, NEW.status, 1); END IF;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER queue_counts_cases AFTER INSERT OR DELETE OR UPDATE OF lead_unit, status ON cases
       FOR EACH ROW EXECUTE FUNCTION queue_counts_cases()""",
)


WALLS = (  # table, its index for the counts (after the copied columns are in)
    ('recusals', 'ix_recusals_user_tab', ['user_id', 'case_lead_unit', 'lifted_at', 'case_status', 'case_id']),
    ('case_excluded_units', 'ix_case_excluded_units_tab',
     ['unit_code', 'case_lead_unit', 'lifted_at', 'case_status', 'case_id']),
    ('case_walls', 'ix_case_walls_tab', ['coordinators_only', 'case_lead_unit', 'lifted_at', 'case_status', 'case_id']),
)
COPY = ("SET case_lead_unit = (SELECT lead_unit FROM cases WHERE cases.id = {t}.case_id), "
        "case_status = (SELECT status FROM cases WHERE cases.id = {t}.case_id)")


def _sqlite_wall_triggers() -> list[str]:
    out = ["""CREATE TRIGGER walls_follow_case AFTER UPDATE OF lead_unit, status ON cases
        WHEN OLD.lead_unit IS NOT NEW.lead_unit OR OLD.status IS NOT NEW.status BEGIN """
           + " ".join(f"UPDATE {t} SET case_lead_unit = NEW.lead_unit, case_status = NEW.status "
                      f"WHERE case_id = NEW.id;" for t, _i, _c in WALLS) + " END"]
    for table, _index, _columns in WALLS:
        key = "case_id = NEW.case_id" if table == 'case_walls' else "id = NEW.id"
        for event in ("INSERT", "UPDATE OF case_id"):
            name = f"{table}_copy_case_{'insert' if event == 'INSERT' else 'update'}"
            out.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
                       f"UPDATE {table} {COPY.format(t=table)} WHERE {key}; END")
    return out


POSTGRES_WALL_TRIGGERS = (
    """CREATE FUNCTION walls_follow_case() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.lead_unit IS DISTINCT FROM NEW.lead_unit OR OLD.status IS DISTINCT FROM NEW.status THEN
        UPDATE recusals SET case_lead_unit = NEW.lead_unit, case_status = NEW.status WHERE case_id = NEW.id;
        UPDATE case_excluded_units SET case_lead_unit = NEW.lead_unit, case_status = NEW.status WHERE case_id = NEW.id;
        UPDATE case_walls SET case_lead_unit = NEW.lead_unit, case_status = NEW.status WHERE case_id = NEW.id;
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER walls_follow_case AFTER UPDATE OF lead_unit, status ON cases
       FOR EACH ROW EXECUTE FUNCTION walls_follow_case()""",
    """CREATE FUNCTION wall_copies_case() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      SELECT lead_unit, status INTO NEW.case_lead_unit, NEW.case_status FROM cases WHERE id = NEW.case_id;
      RETURN NEW;
    END $$""",
    *[f"""CREATE TRIGGER {t}_copy_case BEFORE INSERT OR UPDATE OF case_id ON {t}
       FOR EACH ROW EXECUTE FUNCTION wall_copies_case()""" for t, _i, _c in WALLS],
)


def upgrade() -> None:
    op.create_table('queue_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_counts'))
    )
    op.create_index('ix_queue_counts_key', 'queue_counts', ['unit_code', 'status'], unique=False)
    op.execute(INSERT + "SELECT lead_unit, status, count(*) FROM cases GROUP BY lead_unit, status")
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table, index, columns in WALLS:
        op.add_column(table, sa.Column('case_lead_unit', sa.String(length=20), nullable=True))
        op.add_column(table, sa.Column('case_status', sa.String(length=20), nullable=True))
        op.execute(f"UPDATE {table} {COPY.format(t=table)}")
        op.create_index(index, table, columns, unique=False)
    for statement in ([*SQLITE_TRIGGERS, *_sqlite_wall_triggers()] if sqlite
                      else [*POSTGRES_FUNCTIONS, *POSTGRES_WALL_TRIGGERS]):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        names = [*SQLITE_NAMES, "walls_follow_case"] + [f"{t}_copy_case_{e}" for t, _i, _c in WALLS
                                                       for e in ("insert", "update")]
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS queue_counts_cases ON cases")
        op.execute("DROP TRIGGER IF EXISTS walls_follow_case ON cases")
        for table, _index, _columns in WALLS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_copy_case ON {table}")
        for name in ("queue_counts_cases", "walls_follow_case", "wall_copies_case"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    for table, index, _columns in WALLS:
        op.drop_index(index, table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column('case_status')
            batch.drop_column('case_lead_unit')
    op.drop_index('ix_queue_counts_key', table_name='queue_counts')
    op.drop_table('queue_counts')
