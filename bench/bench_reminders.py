"""The reminders pass with many open cases: time and peak memory of one pass over N open cases
(default 1,000,000) of which D (default 10,000) have a reminder due, on a SQLite file (or DATABASE_URL).
The baseline is what a pass that looked at every open case would at least cost: one read of every open
deadline row. Prints figures; not a test.

    .venv/bin/python bench/bench_reminders.py [N] [D] [DATABASE_URL]"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, delete, insert, select, text, update  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from casework.deadline_models import CaseDeadline, Reminder, Supervision  # noqa: E402
from casework.models import Case, CaseReport, CaseUnit  # noqa: E402
from casework.reference import load_negative_list  # noqa: E402
from config import CONFIG_DIR  # noqa: E402
from core.accounts import User, hash_password  # noqa: E402
from core.units import load_units  # noqa: E402
from intake.mail_models import OutboxMessage  # noqa: E402
from intake.models import Report  # noqa: E402
from wiring.migrate import upgrade  # noqa: E402

NOW = datetime(2026, 12, 16, 10, 0)  # a Wednesday, after office hours begin
UNITS = ["health", "market", "medinsure", "police", "audit"]


def fill(url: str, n: int, due: int) -> None:
    upgrade(url)
    engine = create_engine(url)
    today = NOW.date()
    with sessionmaker(engine)() as s:
        load_units(s, CONFIG_DIR)
        load_negative_list(s, CONFIG_DIR)
        password = hash_password("x" * 12)
        handlers = {}
        for unit in UNITS:
            s.add(User(username=f"{unit}-head", unit_code=unit, role="unit_head", email=f"{unit}-head@x.cn",
                       password_hash=password))
            for k in range(20):
                user = User(username=f"{unit}-h{k}", unit_code=unit, role="handler", email=f"{unit}-h{k}@x.cn",
                            password_hash=password)
                s.add(user)
                handlers.setdefault(unit, []).append(user)
        s.add(User(username="coord", unit_code="taskforce", role="coordinator", email="coord@x.cn",
                   password_hash=password))
        s.commit()
        ids = {unit: [u.id for u in users] for unit, users in handlers.items()}
        step = max(1, n // due)
        at = datetime(2026, 10, 1)
        for base in range(0, n, 20_000):
            reports, cases, links, units, deadlines = [], [], [], [], []
            for i in range(base, min(base + 20_000, n)):
                rid, unit = i + 1, UNITS[(i // 7) % 5]
                reports.append(dict(id=rid, reference=f"XLT-2026-{rid:07d}", channel="web", received_via="",
                                    received_at=at, title="", text="x", occurred="", accused_name="",
                                    accused_institution="", accused_position="", anonymous=True, own_conduct=False,
                                    status="accepted", status_changed_at=at, receipt_hash=rid.to_bytes(32, "big"),
                                    receipt_must_reset=False, created_at=at))
                handler = ids[unit][(i // 3) % 20]
                cases.append(dict(id=rid, report_id=rid, status="in_progress", lead_unit=unit, in_scope=True,
                                  transfer_suggested=False, routing_reason="", how_found="report",
                                  not_accepted_reason="", plan_problem="", plan_measures="", plan_responsible="",
                                  plan_goal="", findings_note="", rectification_note="", created_at=at,
                                  updated_at=at, handler_id=handler, deadlines_version=1, next_due_uncertain=False,
                                  received_at=at))
                links.append(dict(case_id=rid, report_id=rid))
                units.append(dict(case_id=rid, unit_code=unit, role="lead"))
                is_due = i % step == 0 and i // step < due
                due_on = today + timedelta(days=2) if is_due else today + timedelta(days=30 + i % 60)
                deadlines.append(dict(case_id=rid, stage="handling", unit_code=unit, starts_on=date(2026, 10, 1),
                                      due_on=due_on, uncertain=False, extension_days=0, extension_reason="",
                                      paused=0, state="open", next_remind_on=today - timedelta(days=1) if is_due
                                      else due_on - timedelta(days=5), created_at=at))
            for model, rows in ((Report, reports), (Case, cases), (CaseReport, links), (CaseUnit, units),
                                (CaseDeadline, deadlines)):
                s.execute(insert(model), rows)
            s.commit()
        if url.startswith("sqlite"):
            s.execute(text("ANALYZE"))
    engine.dispose()


def reset(session, today: date) -> None:
    """Undo a pass: the same reminders are due again."""
    session.execute(delete(Reminder))
    session.execute(delete(Supervision))
    session.execute(delete(OutboxMessage))
    session.execute(update(CaseDeadline).where(CaseDeadline.due_on == today + timedelta(days=2))
                    .values(next_remind_on=today - timedelta(days=1)))
    session.commit()


def measure(url: str) -> None:
    from core.db import new_session
    from jobs.tasks import reminder_context
    from oversight.reminders import run_pass
    from wiring.factory import create_app
    app = create_app(env={"APP_ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "b" * 40,
                          "IDENTITY_KEY": "A" * 43 + "=", "INSTANCE_DIR": tempfile.mkdtemp()})
    with app.app_context():
        ctx = reminder_context(app)
        with new_session() as s:
            reset(s, NOW.date())
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            t = time.perf_counter()
            result = run_pass(s, ctx, NOW)
            elapsed = time.perf_counter() - t
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            idle = time.perf_counter()
            run_pass(s, ctx, NOW + timedelta(minutes=10))  # the next pass: nothing due
            idle = time.perf_counter() - idle
            t = time.perf_counter()  # after the pass, so that its rows do not count in the pass's memory
            rows = s.execute(select(CaseDeadline.id, CaseDeadline.next_remind_on)
                             .where(CaseDeadline.state == "open")).all()
            baseline = time.perf_counter() - t
            del rows
            reset(s, NOW.date())
            tracemalloc.start()
            run_pass(s, ctx, NOW)
            _cur, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    print(f"  pass: {elapsed:.2f} s for {result.deadlines:,} due deadlines → {result.reminders:,} reminders in "
          f"{result.mails:,} mails ({result.deadlines / elapsed:,.0f} deadlines/s); the next pass, nothing due: "
          f"{idle * 1000:.0f} ms")
    print(f"  baseline (read every open deadline once): {baseline:.2f} s — the pass costs "
          f"{elapsed / baseline:.2f}× that, and its idle pass {idle / baseline:.3f}×")
    print(f"  memory (a process of its own, after the fill): peak {peak / 1e6:.0f} MB of Python objects during the "
          f"pass; process max RSS {rss_after / 1024:.0f} MB (the pass added {max(rss_after - rss_before, 0) / 1024:.0f} MB)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure(sys.argv[2])
        sys.exit(0)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    due = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    url = sys.argv[3] if len(sys.argv) > 3 else f"sqlite:///{tempfile.mkdtemp()}/reminders.sqlite3"
    t = time.perf_counter()
    fill(url, n, due)
    print(f"reminders pass: {n:,} open cases, {due:,} with a reminder due, on {url.split(':')[0]} "
          f"(filled in {time.perf_counter() - t:.0f} s)", flush=True)
    import subprocess
    subprocess.run([sys.executable, __file__, "--measure", url], check=True)
