"""Queue page with many cases: server time of the queue view per tab and of its text search (casework.search)
for a unit handler and the task force, beside a bare indexed query of the same run, on N synthetic cases
(default 20,000) with varied texts. Prints figures; not a test.

    .venv/bin/python bench/bench_queue.py [N] [DATABASE_URL]
    .venv/bin/python bench/bench_queue.py --postgres [N]     # a throwaway PostgreSQL cluster
    .venv/bin/python bench/bench_queue.py --full [--postgres] # 100,000 on SQLite, 1,000,000 on PostgreSQL
    .venv/bin/python bench/bench_queue.py N URL              # fill a database of your own (then --reuse)
    .venv/bin/python bench/bench_queue.py --reuse N URL      # measure again a database filled before

SQLite: rows go in with executemany, the search index built in the same pass (casework.search's own
functions, the tab keys from the same SQL). PostgreSQL: the server generates the rows (generate_series, the same
stock phrases) and their tsvectors (checked against casework.search.tsvector_literal on a sample), the tab keys
set by migration 0022's trigger, GIN index built last."""
from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, select  # noqa: E402
from sqlalchemy import text as sql  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from casework import search  # noqa: E402
from casework.models import Case, CaseReport, CaseUnit  # noqa: E402
from casework.queue_counts import compact  # noqa: E402
from casework.recusal_models import CaseExcludedUnit, CaseWall, Recusal  # noqa: E402
from casework.reference import load_negative_list  # noqa: E402
from casework.search_models import INDEX_SQL, sqlite_keys_sql  # noqa: E402
from config import CONFIG_DIR  # noqa: E402
from core.accounts import User, hash_password  # noqa: E402
from core.units import load_units  # noqa: E402
from intake.models import Report  # noqa: E402
from wiring.migrate import upgrade  # noqa: E402

UNITS = ["health", "market", "medinsure"]
STATUSES = ["triage", "to_accept", "in_progress", "in_progress", "closed", "closed", "not_accepted"]


INSTITUTIONS = ["区人民医院", "区中医院", "兴隆台街道社区卫生服务中心", "某民营医院", "某口腔诊所", "某药店",
                "区妇幼保健院", "区疾控中心", "振兴街道卫生院", "博爱医院", "仁和诊所", "康泰药房"]
CONDUCT = ["收受回扣", "收受红包", "挂床住院", "串换药品", "乱收费", "过度检查", "虚开发票", "骗取医保",
           "倒卖药品", "违规收费", "索要财物", "吃拿卡要", "推销耗材", "以药养医", "开大处方", "诱导住院"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "建国立华伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英玉兰志红亮飞鹏辉"
FILLER = ["患者反映", "家属说", "多名群众举报", "科室里都知道", "已经持续半年", "金额较大", "请求调查处理",
          "手术前暗示", "出院时才发现", "账单明细不清"]


def synthetic(rnd: random.Random, rid: int) -> dict:
    """One report's searchable fields: an institution, a person, a conduct and some filler."""
    person = rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN)
    place, conduct = rnd.choice(INSTITUTIONS), rnd.choice(CONDUCT)
    words = [f"{place}{person}{conduct}", *rnd.sample(FILLER, 3), f"涉及金额{rnd.randint(2, 200) * 100}元"]
    return dict(title=f"{place}{conduct}", text="，".join(words) + "。", accused_name=person,
                accused_institution=place, accused_position="医生")


def _users_and_walls(s, n: int) -> None:
    start = datetime(2025, 1, 1)
    s.add_all([User(username="h", unit_code="health", role="handler", password_hash=hash_password("x" * 12),
                    display_name="基准承办人"),
               User(username="c", unit_code="taskforce", role="coordinator", password_hash=hash_password("x" * 12),
                    display_name="基准协调员")])
    s.commit()  # casework.recusal records their name keys (the ORM events of every session)
    # the walls as a busy year might leave them: each user named in 1 case in 200, the health unit's
    # leadership accused in 1 in 500, 1 in 2,000 for coordinators only
    users = {u.username: u.id for u in s.query(User)}
    s.execute(insert(Recusal), [dict(case_id=cid, user_id=users[name], source="text", created_at=start,
                                     lift_reason="") for name in ("h", "c") for cid in range(1, n + 1, 200)])
    s.execute(insert(CaseExcludedUnit), [dict(case_id=cid, unit_code="health", created_at=start, lift_reason="")
                                         for cid in range(7, n + 1, 500)])
    s.execute(insert(CaseWall), [dict(case_id=cid, rule="taskforce_leadership", coordinators_only=True, reason="",
                                      created_at=start, lift_reason="") for cid in range(11, n + 1, 2000)])
    s.commit()


def _ready(url: str):
    """The database migrated, with the units and the negative list; its engine."""
    upgrade(url)
    engine = create_engine(url)
    with sessionmaker(engine)() as s:
        load_units(s, CONFIG_DIR)
        load_negative_list(s, CONFIG_DIR)
        s.commit()
    return engine


def fill(url: str, n: int) -> None:
    """SQLite: rows generated here, inserted with executemany."""
    engine = _ready(url)
    with sessionmaker(engine)() as s:
        rnd = random.Random(7)
        items = [f"{a}.{i}" for a in range(1, 7) for i in range(1, 6)]
        start = datetime(2025, 1, 1)
        for base in range(0, n, 10_000):
            rows, cases, links, units = [], [], [], []
            for i in range(base, min(base + 10_000, n)):
                rid = i + 1
                at = start + timedelta(minutes=rnd.randrange(0, 60 * 24 * 690))
                rows.append(dict(id=rid, reference=f"XLT-{at.year}-{rid:06d}", channel=rnd.choice(["web", "phone", "email"]),
                                 received_via="", received_at=at, occurred="", **synthetic(rnd, rid),
                                 anonymous=True, own_conduct=False, status="received", status_changed_at=at,
                                 receipt_hash=rid.to_bytes(32, "big"), receipt_must_reset=False, created_at=at))
                lead = rnd.choice(UNITS)
                status = rnd.choice(STATUSES)
                cases.append(dict(id=rid, report_id=rid, status=status, item_code=rnd.choice(items), area=rnd.randint(1, 6),
                                  lead_unit="taskforce" if status == "triage" else lead, in_scope=True,
                                  transfer_suggested=False, routing_reason="", created_at=at, updated_at=at,
                                  how_found="report", not_accepted_reason="", plan_problem="", plan_measures="",
                                  plan_responsible="", plan_goal="", findings_note="", rectification_note="",
                                  plan_deadline=(at + timedelta(days=60)).date() if status == "in_progress" else None,
                                  received_at=at, deadlines_version=1, next_due_uncertain=False,
                                  next_due_on=(at + timedelta(days=rnd.choice((15, 60)))).date()
                                  if status in ("to_accept", "in_progress", "triage") else None))
                links.append(dict(case_id=rid, report_id=rid))
                units.append(dict(case_id=rid, unit_code=cases[-1]["lead_unit"], role="lead"))
                if rnd.random() < 0.3 and lead != "health":
                    units.append(dict(case_id=rid, unit_code="health", role="assist"))
            index = []
            for row in rows:
                columns = search._columns([[row[name] for name in search.SEARCHED]])
                index.append({"rowid": row["id"], **{c: " ".join(g for k in columns[c] for g in search.bigrams(k))
                                                      for c, _w, _n in search.COLUMNS}})
            s.execute(insert(Report), rows)
            s.execute(insert(Case), cases)
            s.execute(insert(CaseReport), links)
            s.execute(insert(CaseUnit), units)
            s.execute(sql(f"INSERT INTO {search.FTS_TABLE} (rowid, a, b, d, k) VALUES (:rowid, :a, :b, :d, "
                          f"{sqlite_keys_sql(':rowid')})"), index)  # the tab keys as casework.search writes them
            s.commit()
        _users_and_walls(s, n)
    engine.dispose()


def _sql_array(values) -> str:
    return "ARRAY[" + ", ".join("'" + v + "'" for v in values) + "]"


def _pick(values) -> str:
    """SQL: one of the values at random (per row)."""
    return f"({_sql_array(values)})[1 + floor(random() * {len(values)})::int]"


# the bigrams of a name key at positions start.. with a weight, in tsvector input syntax (duplicates merge)
BIGRAMS_SQL = """CREATE FUNCTION pg_temp.bg(k text, start int, w text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(string_agg(chr(39) || substr(k, i, 2) || chr(39) || ':' || least(start + i - 1, 16383) || w, ' '), '')
  FROM generate_series(1, length(k) - 1) AS i $$"""


def fill_postgres(url: str, n: int) -> None:
    """The same kind of rows as fill(), generated by the server (generate_series, random picks from the
    same stock phrases) and the tsvector built in SQL in casework.search's layout (checked against
    tsvector_literal on a sample); the GIN index is created after the rows are in."""
    engine = _ready(url)
    with sessionmaker(engine)() as s:
        items = [f"{a}.{i}" for a in range(1, 7) for i in range(1, 6)]
        x = s.execute
        x(sql("SELECT setseed(0.7)"))
        x(sql("DROP INDEX IF EXISTS ix_case_search_tsv_keys"))
        x(sql(f"""CREATE TEMP TABLE gen AS SELECT i AS id,
            timestamp '2025-01-01' + make_interval(mins => floor(random() * {60 * 24 * 690})::int) AS at,
            {_pick(INSTITUTIONS)} AS place, {_pick(CONDUCT)} AS conduct,
            substr('{SURNAMES}', 1 + floor(random() * {len(SURNAMES)})::int, 1)
              || substr('{GIVEN}', 1 + floor(random() * {len(GIVEN)})::int, 1)
              || substr('{GIVEN}', 1 + floor(random() * {len(GIVEN)})::int, 1) AS person,
            floor(random() * 10)::int AS f, 1 + floor(random() * 4)::int AS fs,
            (2 + floor(random() * 199)::int) * 100 AS amount, {_pick(["web", "phone", "email"])} AS channel,
            {_pick(UNITS)} AS lead, {_pick(STATUSES)} AS status, {_pick(items)} AS item,
            1 + floor(random() * 6)::int AS area, {_pick(["15", "60"])}::int AS due, random() AS r
            FROM generate_series(1, :n) AS i"""), {"n": n})
        fillers = _sql_array(FILLER)
        x(sql(f"""CREATE TEMP TABLE gen2 AS SELECT g.*,
            'XLT-' || extract(year FROM at) || '-' || lpad(id::text, 6, '0') AS reference, place || conduct AS title,
            place || person || conduct || '，' || ({fillers})[1 + f] || '，' || ({fillers})[1 + (f + fs) % 10] || '，'
              || ({fillers})[1 + (f + 2 * fs) % 10] || '，涉及金额' || amount || '元。' AS text,
            CASE WHEN status = 'triage' THEN 'taskforce' ELSE lead END AS lead_unit FROM gen g"""))
        x(sql("""INSERT INTO reports (id, reference, channel, received_via, received_at, occurred, title, text,
            accused_name, accused_institution, accused_position, anonymous, own_conduct, status, status_changed_at,
            receipt_hash, receipt_must_reset, created_at)
            SELECT id, reference, channel, '', at, '', title, text, person, place, '医生', true, false, 'received', at,
            decode(lpad(to_hex(id), 64, '0'), 'hex'), false, at FROM gen2"""))
        x(sql("""INSERT INTO cases (id, report_id, status, item_code, area, lead_unit, in_scope, transfer_suggested,
            routing_reason, created_at, updated_at, how_found, not_accepted_reason, plan_problem, plan_measures,
            plan_responsible, plan_goal, findings_note, rectification_note, plan_deadline, received_at,
            deadlines_version, next_due_uncertain, next_due_on)
            SELECT id, id, status, item, area, lead_unit, true, false, '', at, at, 'report', '', '', '', '', '', '', '',
            CASE WHEN status = 'in_progress' THEN (at + interval '60 days')::date END, at, 1, false,
            CASE WHEN status IN ('to_accept', 'in_progress', 'triage') THEN (at + make_interval(days => due))::date END
            FROM gen2"""))
        x(sql("INSERT INTO case_reports (case_id, report_id) SELECT id, id FROM gen2"))
        x(sql("""INSERT INTO case_units (case_id, unit_code, role) SELECT id, lead_unit, 'lead' FROM gen2
            UNION ALL SELECT id, 'health', 'assist' FROM gen2 WHERE r < 0.3 AND lead <> 'health' ORDER BY 1"""))
        x(sql(BIGRAMS_SQL))
        # the tab keys: migration 0022's insert trigger on case_search (case_search_keys, from cases and case_units)
        # positions as tsvector_literal counts them: each value's bigrams, then two more before the next value
        x(sql("""INSERT INTO case_search (case_id, tsv) SELECT id, (
              pg_temp.bg(k1, 1, 'A') || ' ' || pg_temp.bg(k2, p2, 'A') || ' ' || pg_temp.bg(person, p3, 'B') || ' '
              || pg_temp.bg('医生', p4, 'B') || ' ' || pg_temp.bg(place, p5, 'B') || ' ' || pg_temp.bg(k6, p6, 'D')
            )::tsvector
            FROM (SELECT id, k1, k2, person, place, k6, p2, p3, p3 + length(person) + 1 AS p4,
                         p3 + length(person) + 4 AS p5, p3 + length(person) + length(place) + 5 AS p6
                  FROM (SELECT id, k1, k2, person, place, k6, length(k1) + 2 AS p2,
                               length(k1) + length(k2) + 3 AS p3
                        FROM (SELECT id, lower(replace(reference, '-', '')) AS k1, title AS k2, person, place,
                                     replace(replace(text, '，', ''), '。', '') AS k6 FROM gen2) a) b) c"""))
        for table in ("reports", "cases", "case_reports", "case_units"):
            x(sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        for report in s.execute(select(Report).order_by(Report.id).limit(500)).scalars():
            expected = search.tsvector_literal(search._columns([[getattr(report, f) for f in search.SEARCHED]]))
            same = x(sql("SELECT tsv = CAST(:e AS tsvector) FROM case_search WHERE case_id = :id"),
                     {"e": expected, "id": report.id}).scalar()
            assert same, (report.id, expected)  # the SQL-built entry is the one casework.search writes
        s.commit()
        x(sql(INDEX_SQL))
        s.commit()
        _users_and_walls(s, n)
    engine.dispose()


SEARCHES = [("王建国", "a person: rare"), ("仁和诊所", "1 in 12"), ("回扣", "2 chars, 1 in 16"),
            ("博爱醫院 紅包", "繁體, two words, 1 in 200"), ("醫院", "2 chars 繁體, 1 in 3")]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


CPU: dict[int, list[float]] = {}  # id(the wall times' list) -> this process's CPU time of each call


def timed(fn, rounds: int, warm: int = 3) -> list[float]:
    """Wall times in ms; the CPU times of this process beside them (CPU, on a shared machine: what the call
    itself costs when other processes take the cores; on SQLite that includes the database's work)."""
    for _ in range(warm):  # compiled templates and statement caches, as in a running server
        fn()
    out, cpu = [], []
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    CPU[id(out)] = cpu
    return out


def cpu95(times: list[float]) -> str:
    return f"cpu p95 {pct(CPU[id(times)], 95):6.1f} ms"


def measure(url: str, rounds: int = 30) -> None:
    """Server time of the real views (access checks, tab counts, templates) in a request context, and of
    a bare baseline: the same 50 rows (cases joined to their reports, newest first) with no access
    check, no counts and no template."""
    import flask_login

    from wiring.factory import create_app
    app = create_app(env={"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "b" * 40,
                          "IDENTITY_KEY": "A" * 43 + "=", "RATELIMIT_ENABLED": "false",
                          "INSTANCE_DIR": tempfile.mkdtemp()})
    engine = create_engine(url)
    with sessionmaker(engine)() as s:
        print(f"  queue count deltas folded: {compact(s):,} (the scheduler's queue_counts job does this every minute)")
        s.commit()
        s.execute(sql("ANALYZE"))
        s.commit()
        users = {u.username: u for u in s.query(User).all()}
        refs = [r for (r,) in s.execute(sql("SELECT reference FROM reports ORDER BY id DESC LIMIT 200"))]
        baseline = timed(lambda: s.execute(sql(
            "SELECT c.id, c.status, r.reference, r.title FROM cases c JOIN reports r ON r.id = c.report_id "
            "ORDER BY c.received_at DESC LIMIT 50")).all(), rounds)
        print(f"  baseline (bare 50-row query)             p50 {pct(baseline, 50):6.1f} ms  p95 {pct(baseline, 95):6.1f} ms  "
              f"{cpu95(baseline)}")
        for q, share in SEARCHES:  # the bare index: the first 50 matching case ids, no access, rank or page
            found = search.hits(s, search.terms_of(q))
            bare = timed(lambda found=found: s.execute(select(found.c.case_id).limit(50)).all(), rounds)
            print(f"  baseline bare index match {q:14} p50 {pct(bare, 50):6.1f} ms  p95 {pct(bare, 95):6.1f} ms  "
                  f"{cpu95(bare)}")
    queue, case_page = app.view_functions["staff.queue"], app.view_functions["staff.case_page"]
    for username in ("h", "c"):
        for label, path, view, kwargs in (
                ("queue to_accept", "/queue?tab=to_accept", queue, {}),
                ("queue in_progress", "/queue?tab=in_progress", queue, {}),
                ("queue closed page 50", "/queue?tab=closed&page=50", queue, {}),
                ("queue all", "/queue?tab=all", queue, {}),
                *[(f"search {q} ({share})", f"/queue?tab=all&q={quote(q)}", queue, {}) for q, share in SEARCHES]):
            def call(path=path, view=view, kwargs=kwargs):
                with app.test_request_context(path):
                    flask_login.login_user(users[username])
                    view(**kwargs)
            times = timed(call, rounds)
            print(f"  {username:2} {label:36} p50 {pct(times, 50):6.1f} ms  p95 {pct(times, 95):6.1f} ms  "
                  f"{cpu95(times)}  ({pct(times, 95) / max(pct(baseline, 95), 0.01):.0f}× baseline)")
        with app.app_context():
            from casework.access import visible_clause
            from core.db import get_session
            with app.test_request_context("/"):
                visible = [r for r in refs[:60] if get_session().scalar(
                    select(Case.id).join(Report, Report.id == Case.report_id)
                    .where(Report.reference == r, visible_clause(get_session(), users[username])))]
        cycle = iter(visible * (rounds + 3))

        def case_call():
            ref = next(cycle)
            with app.test_request_context(f"/cases/{ref}"):
                flask_login.login_user(users[username])
                case_page(reference=ref)
        times = timed(case_call, rounds)
        print(f"  {username:2} {'case page':36} p50 {pct(times, 50):6.1f} ms  p95 {pct(times, 95):6.1f} ms  "
              f"{cpu95(times)}")
    engine.dispose()


if __name__ == "__main__":
    if {"-h", "--help"} & set(sys.argv[1:]):  # the usage, not a run
        print(__doc__)
        raise SystemExit(0)
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    postgres, full = "--postgres" in sys.argv, "--full" in sys.argv
    n = int(args[0]) if args else (1_000_000 if postgres else 100_000) if full else 20_000
    cluster = None
    if len(args) > 1:  # a database of your own (PostgreSQL or SQLite), e.g. to fill once and --reuse it
        url = args[1]
    elif postgres:
        from tests.support.postgres import TempCluster, find_bindir
        cluster = TempCluster(find_bindir())
        url = cluster.start()
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/queue.sqlite3"
    t = time.perf_counter()
    try:
        if "--reuse" not in sys.argv:  # --reuse N URL: measure a database filled by an earlier run
            (fill_postgres if url.startswith("postgresql") else fill)(url, n)
        else:
            upgrade(url)  # a migration added since the fill
        print(f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
        print(f"queue and case pages with {n:,} cases on {url.split(':')[0]} (filled in {time.perf_counter() - t:.0f} s); "
              "server time of the view, templates included, for a unit handler (h) and the task force (c):")
        measure(url, rounds=int(os.environ.get("BENCH_ROUNDS", "30")))
    finally:
        if cluster is not None:
            cluster.stop()
