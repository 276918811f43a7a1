"""search entries carry their case's tab keys

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03

Issue 18 at scale: a search's count per tab walked the tab's cases (or all of the word's matches) and
re-checked each one. Each search entry now carries its case's tab keys (lead unit, status class, the units
that lead or assist it, the assisting units, whether it has a deadline: casework.search_models), so that "words AND tab" is one index
intersection. PostgreSQL: case_search.keys text[], one GIN index over (tsv, keys) in place of the tsvector's
own. SQLite: case_search_fts gets a column k (FTS5 cannot add one: the table is copied). Triggers keep the
keys in step with every write, whatever the writer: a new entry takes its case's keys, a change of a case's
lead unit, status or next due date (set or cleared) and every insert, change and delete of its case_units rows rewrite them. The upgrade
computes the keys of the entries already there.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

OPEN = "('triage', 'to_accept', 'in_progress')"
CLASS = f"CASE WHEN status IN {OPEN} THEN status ELSE 'closed' END"

# --- PostgreSQL ---------------------------------------------------------------------------------------

POSTGRES = (
    f"""CREATE FUNCTION case_search_keys(cid integer) RETURNS text[] LANGUAGE sql STABLE AS $$
      SELECT coalesce((SELECT ARRAY['u:' || lead, 'l:' || lead || ':' || cls, 's:' || cls]
                              || CASE WHEN due THEN ARRAY['o:' || lead, 'o:*'] ELSE '{{}}'::text[] END
                       FROM (SELECT coalesce(lead_unit, '') AS lead, {CLASS} AS cls, next_due_on IS NOT NULL AS due
                             FROM cases WHERE id = cid) c),
                      '{{}}'::text[])
        || ARRAY(SELECT 'v:' || unit_code FROM case_units WHERE case_id = cid ORDER BY unit_code)
        || ARRAY(SELECT 'a:' || unit_code FROM case_units WHERE case_id = cid AND role = 'assist' ORDER BY unit_code)
    $$""",
    """CREATE FUNCTION case_search_keys_new() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.keys := case_search_keys(NEW.case_id);
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER case_search_keys_new BEFORE INSERT OR UPDATE OF case_id, tsv ON case_search
       FOR EACH ROW EXECUTE FUNCTION case_search_keys_new()""",
    """CREATE FUNCTION case_search_keys_case() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.lead_unit IS DISTINCT FROM NEW.lead_unit OR OLD.status IS DISTINCT FROM NEW.status
         OR (OLD.next_due_on IS NULL) <> (NEW.next_due_on IS NULL) THEN
        UPDATE case_search SET keys = case_search_keys(NEW.id) WHERE case_id = NEW.id;
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER case_search_keys_case AFTER UPDATE OF lead_unit, status, next_due_on ON cases
       FOR EACH ROW EXECUTE FUNCTION case_search_keys_case()""",
    """CREATE FUNCTION case_search_keys_unit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE case_search SET keys = case_search_keys(OLD.case_id) WHERE case_id = OLD.case_id;
      END IF;
      IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.case_id IS DISTINCT FROM OLD.case_id) THEN
        UPDATE case_search SET keys = case_search_keys(NEW.case_id) WHERE case_id = NEW.case_id;
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER case_search_keys_unit AFTER INSERT OR DELETE OR UPDATE OF case_id, unit_code, role
       ON case_units FOR EACH ROW EXECUTE FUNCTION case_search_keys_unit()""",
)
# the keys of every entry at once (a join, not the function per row)
POSTGRES_FILL = f"""UPDATE case_search s SET keys = k.keys FROM (
    SELECT c.id, ARRAY['u:' || coalesce(c.lead_unit, ''), 'l:' || coalesce(c.lead_unit, '') || ':' || {CLASS},
                       's:' || {CLASS}]
           || CASE WHEN c.next_due_on IS NOT NULL THEN ARRAY['o:' || coalesce(c.lead_unit, ''), 'o:*']
                   ELSE '{{}}'::text[] END
           || coalesce(u.v, '{{}}') || coalesce(u.a, '{{}}') AS keys
    FROM cases c LEFT JOIN (SELECT case_id, array_agg('v:' || unit_code ORDER BY unit_code) AS v,
                                   array_agg('a:' || unit_code ORDER BY unit_code) FILTER (WHERE role = 'assist') AS a
                            FROM case_units GROUP BY case_id) u ON u.case_id = c.id) k
    WHERE k.id = s.case_id"""

# --- SQLite -------------------------------------------------------------------------------------------


def sqlite_keys(case_id: str) -> str:
    """The FTS5 k column's text (casework.search_models.sqlite_keys_sql, as of this revision)."""
    return (f"(SELECT group_concat('k' || lower(hex(key)), ' ') FROM ("
            f"SELECT 'u:' || coalesce(lead_unit, '') AS key FROM cases WHERE id = {case_id} "
            f"UNION ALL SELECT 'l:' || coalesce(lead_unit, '') || ':' || {CLASS} FROM cases WHERE id = {case_id} "
            f"UNION ALL SELECT 's:' || {CLASS} FROM cases WHERE id = {case_id} "
            f"UNION ALL SELECT 'o:' || coalesce(lead_unit, '') FROM cases WHERE id = {case_id} AND next_due_on IS NOT NULL "
            f"UNION ALL SELECT 'o:*' FROM cases WHERE id = {case_id} AND next_due_on IS NOT NULL "
            f"UNION ALL SELECT 'v:' || unit_code FROM case_units WHERE case_id = {case_id} "
            f"UNION ALL SELECT 'a:' || unit_code FROM case_units WHERE case_id = {case_id} AND role = 'assist'))")


def _set_keys(case_id: str) -> str:
    return f"UPDATE case_search_fts SET k = {sqlite_keys(case_id)} WHERE rowid = {case_id};"


SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER case_search_keys_case AFTER UPDATE OF lead_unit, status, next_due_on ON cases
        WHEN OLD.lead_unit IS NOT NEW.lead_unit OR OLD.status IS NOT NEW.status
          OR (OLD.next_due_on IS NULL) IS NOT (NEW.next_due_on IS NULL) BEGIN {_set_keys('NEW.id')} END""",
    f"CREATE TRIGGER case_search_keys_unit_insert AFTER INSERT ON case_units BEGIN {_set_keys('NEW.case_id')} END",
    f"CREATE TRIGGER case_search_keys_unit_delete AFTER DELETE ON case_units BEGIN {_set_keys('OLD.case_id')} END",
    f"""CREATE TRIGGER case_search_keys_unit_update AFTER UPDATE OF case_id, unit_code, role ON case_units BEGIN
        {_set_keys('OLD.case_id')} {_set_keys('NEW.case_id')} END""",
)
SQLITE_NAMES = ("case_search_keys_case", "case_search_keys_unit_insert", "case_search_keys_unit_delete",
                "case_search_keys_unit_update")


def _copy_fts(with_keys: bool) -> None:
    """FTS5 has no ADD/DROP COLUMN: a new table, the rows copied (keys computed), the old one dropped."""
    columns = "a, b, d, k" if with_keys else "a, b, d"
    op.execute(f"CREATE VIRTUAL TABLE case_search_fts_new USING fts5({columns}, tokenize = 'unicode61')")
    keys = f", {sqlite_keys('case_search_fts.rowid')}" if with_keys else ""
    op.execute(f"INSERT INTO case_search_fts_new (rowid, {columns}) SELECT rowid, a, b, d{keys} FROM case_search_fts")
    op.execute("DROP TABLE case_search_fts")
    op.execute("ALTER TABLE case_search_fts_new RENAME TO case_search_fts")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.drop_index('ix_case_search_tsv', table_name='case_search', postgresql_using='gin')
    op.add_column('case_search', sa.Column('keys', postgresql.ARRAY(sa.Text()).with_variant(sa.Text(), 'sqlite'),
                                           nullable=True))
    if sqlite:
        _copy_fts(with_keys=True)
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    else:
        op.execute("SET LOCAL maintenance_work_mem = '512MB'")
        op.execute(POSTGRES_FILL)  # before the index and the triggers: one pass, no index upkeep
        # the UPDATE left every row's old version behind: the table rewritten compact, in case order (a scan
        # that stops at a search's first matches reads only live rows)
        op.execute("CLUSTER case_search USING pk_case_search")
        for statement in POSTGRES:
            op.execute(statement)
    op.create_index('ix_case_search_tsv_keys', 'case_search', ['tsv', 'keys'], unique=False,
                    postgresql_using='gin')


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.drop_index('ix_case_search_tsv_keys', table_name='case_search', postgresql_using='gin')
    if sqlite:
        for name in SQLITE_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        _copy_fts(with_keys=False)
    else:
        op.execute("DROP TRIGGER IF EXISTS case_search_keys_new ON case_search")
        op.execute("DROP TRIGGER IF EXISTS case_search_keys_case ON cases")
        op.execute("DROP TRIGGER IF EXISTS case_search_keys_unit ON case_units")
        for name in ("case_search_keys_new()", "case_search_keys_case()", "case_search_keys_unit()",
                     "case_search_keys(integer)"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}")
    with op.batch_alter_table('case_search') as batch:
        batch.drop_column('keys')
    op.create_index('ix_case_search_tsv', 'case_search', ['tsv'], unique=False, postgresql_using='gin')
