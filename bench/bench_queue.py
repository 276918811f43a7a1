"""Queue page with many cases: server time of queue_page() per tab for a unit handler and the task
force, on a SQLite file filled with N synthetic cases (default 100,000). Prints figures; not a test.

    .venv/bin/python bench/bench_queue.py [N] [DATABASE_URL]"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, select  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from casework.models import Case, CaseReport, CaseUnit  # noqa: E402
from casework.recusal_models import CaseExcludedUnit, CaseWall, Recusal  # noqa: E402
from casework.queue import QueueFilters, queue_page  # noqa: E402
from casework.reference import load_negative_list  # noqa: E402
from config import CONFIG_DIR  # noqa: E402
from core.accounts import User, hash_password  # noqa: E402
from core.units import load_units  # noqa: E402
from intake.models import Report  # noqa: E402
from wiring.migrate import upgrade  # noqa: E402

UNITS = ["health", "market", "medinsure"]
STATUSES = ["triage", "to_accept", "in_progress", "in_progress", "closed", "closed", "not_accepted"]


def fill(url: str, n: int) -> None:
    upgrade(url)
    engine = create_engine(url)
    with sessionmaker(engine)() as s:
        load_units(s, CONFIG_DIR)
        load_negative_list(s, CONFIG_DIR)
        s.commit()
        rnd = random.Random(7)
        items = [f"{a}.{i}" for a in range(1, 7) for i in range(1, 6)]
        start = datetime(2025, 1, 1)
        for base in range(0, n, 10_000):
            rows, cases, links, units = [], [], [], []
            for i in range(base, min(base + 10_000, n)):
                rid = i + 1
                at = start + timedelta(minutes=rnd.randrange(0, 60 * 24 * 690))
                rows.append(dict(id=rid, reference=f"XLT-{at.year}-{rid:06d}", channel=rnd.choice(["web", "phone", "email"]),
                                 received_via="", received_at=at, title=f"举报 {rid}", text="某医院医生收受回扣 " * 5,
                                 occurred="", accused_name="", accused_institution="", accused_position="",
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
            s.execute(insert(Report), rows)
            s.execute(insert(Case), cases)
            s.execute(insert(CaseReport), links)
            s.execute(insert(CaseUnit), units)
            s.commit()
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
    engine.dispose()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn, rounds: int, warm: int = 3) -> list[float]:
    for _ in range(warm):  # compiled templates and statement caches, as in a running server
        fn()
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def measure(url: str, rounds: int = 30) -> None:
    """Server time of the real views (access checks, tab counts, templates) in a request context, and of
    a bare baseline: the same 50 rows (cases joined to their reports, newest first) with no access
    check, no counts and no template."""
    import flask_login
    from sqlalchemy import text as sql

    from wiring.factory import create_app
    app = create_app(env={"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "b" * 40,
                          "IDENTITY_KEY": "A" * 43 + "=", "RATELIMIT_ENABLED": "false",
                          "INSTANCE_DIR": tempfile.mkdtemp()})
    engine = create_engine(url)
    with sessionmaker(engine)() as s:
        s.execute(sql("ANALYZE")) if url.startswith("sqlite") else None
        users = {u.username: u for u in s.query(User).all()}
        refs = [r for (r,) in s.execute(sql("SELECT reference FROM reports ORDER BY id DESC LIMIT 200"))]
        baseline = timed(lambda: s.execute(sql(
            "SELECT c.id, c.status, r.reference, r.title FROM cases c JOIN reports r ON r.id = c.report_id "
            "ORDER BY c.received_at DESC LIMIT 50")).all(), rounds)
    print(f"  baseline (bare 50-row query)             p50 {pct(baseline, 50):6.1f} ms  p95 {pct(baseline, 95):6.1f} ms")
    queue, case_page = app.view_functions["staff.queue"], app.view_functions["staff.case_page"]
    for username in ("h", "c"):
        for label, path, view, kwargs in (
                ("queue to_accept", "/queue?tab=to_accept", queue, {}),
                ("queue in_progress", "/queue?tab=in_progress", queue, {}),
                ("queue closed page 50", "/queue?tab=closed&page=50", queue, {}),
                ("queue all", "/queue?tab=all", queue, {}),
                ("queue search", "/queue?tab=all&q=%E5%9B%9E%E6%89%A3%2012", queue, {})):
            def call(path=path, view=view, kwargs=kwargs):
                with app.test_request_context(path):
                    flask_login.login_user(users[username])
                    view(**kwargs)
            times = timed(call, rounds)
            print(f"  {username:2} {label:36} p50 {pct(times, 50):6.1f} ms  p95 {pct(times, 95):6.1f} ms  "
                  f"({pct(times, 95) / max(pct(baseline, 95), 0.01):.0f}× baseline)")
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
        print(f"  {username:2} {'case page':36} p50 {pct(times, 50):6.1f} ms  p95 {pct(times, 95):6.1f} ms")
    engine.dispose()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{tempfile.mkdtemp()}/queue.sqlite3"
    t = time.perf_counter()
    fill(url, n)
    print(f"queue and case pages with {n:,} cases on {url.split(':')[0]} (filled in {time.perf_counter() - t:.0f} s); "
          "server time of the view, templates included, for a unit handler (h) and the task force (c):")
    measure(url)
