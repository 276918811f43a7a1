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

from sqlalchemy import create_engine, insert  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from core.accounts import User, hash_password  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.units import load_units  # noqa: E402
from config import CONFIG_DIR  # noqa: E402
from intake.models import Report  # noqa: E402
from routing.models import Case, CaseReport, CaseUnit  # noqa: E402
from routing.queue import QueueFilters, queue_page  # noqa: E402
from routing.reference import load_negative_list  # noqa: E402

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
                                  plan_deadline=(at + timedelta(days=60)).date() if status == "in_progress" else None))
                links.append(dict(case_id=rid, report_id=rid))
                units.append(dict(case_id=rid, unit_code=cases[-1]["lead_unit"], role="lead"))
                if rnd.random() < 0.3 and lead != "health":
                    units.append(dict(case_id=rid, unit_code="health", role="assist"))
            s.execute(insert(Report), rows)
            s.execute(insert(Case), cases)
            s.execute(insert(CaseReport), links)
            s.execute(insert(CaseUnit), units)
            s.commit()
        s.add_all([User(username="h", unit_code="health", role="handler", password_hash=hash_password("x" * 12)),
                   User(username="c", unit_code="taskforce", role="coordinator", password_hash=hash_password("x" * 12))])
        s.commit()
    engine.dispose()


def measure(url: str) -> None:
    engine = create_engine(url)
    with sessionmaker(engine)() as s:
        for username in ("h", "c"):
            user = s.query(User).filter_by(username=username).one()
            for tab, q in (("to_accept", ""), ("in_progress", ""), ("closed", ""), ("all", ""), ("all", "回扣 12")):
                times = []
                for page in (1, 2, 50):
                    t = time.perf_counter()
                    result = queue_page(s, user, QueueFilters(tab=tab, q=q, page=page))
                    times.append((time.perf_counter() - t) * 1000)
                print(f"  {username:2} {tab:12} q={q!r:10} total {result.total:7d}  "
                      f"median {statistics.median(times):7.1f} ms  max {max(times):7.1f} ms")
    engine.dispose()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{tempfile.mkdtemp()}/queue.sqlite3"
    t = time.perf_counter()
    fill(url, n)
    print(f"queue page with {n} cases on {url.split(':')[0]} (filled in {time.perf_counter() - t:.0f} s)")
    measure(url)
