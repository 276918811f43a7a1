"""The scheduler: the lease in the database, `reminders run --now`, and real `flask scheduler run`
processes — two at once, the lease holder killed with SIGKILL, a sender killed in the middle of an
outbox drain — against a real SMTP server (aiosmtpd): every reminder arrives, none twice."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from casework import workflow as casework
from casework.deadline_models import CaseDeadline, PersonalReminder, Reminder
from core.db import utcnow
from intake.mail_models import OutboxMessage
from jobs.models import SchedulerLease
from jobs.scheduler import acquire, release
from tests.conftest import IDENTITY_KEY
from tests.support.mailserver import SmtpSink
from tests.support.staff import Team, make_user, open_case

ROOT = Path(__file__).resolve().parents[2]
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture
def team(session):
    return Team(session)


def test_the_lease_has_one_holder_and_passes_on_when_it_runs_out(app, session):
    assert acquire(session, "a", timedelta(seconds=60))
    assert acquire(session, "a", timedelta(seconds=60))  # renewing
    assert not acquire(session, "b", timedelta(seconds=60))
    session.get(SchedulerLease, "scheduler").expires_at = utcnow() - timedelta(seconds=1)  # "a" stopped renewing
    session.commit()
    assert acquire(session, "b", timedelta(seconds=60))
    assert not acquire(session, "a", timedelta(seconds=60))
    release(session, "b")
    assert acquire(session, "a", timedelta(seconds=60))


def test_reminders_run_now_runs_one_pass_as_of_that_moment(app, session, ctx, team, runner):
    team.head  # noqa: B018
    case, _ = open_case(app, session, ctx)
    casework.accept(session, team.handler, case)
    row = session.scalar(select(CaseDeadline).where(CaseDeadline.stage == "handling"))
    row.due_on, row.next_remind_on = date(2027, 1, 20), date(2027, 1, 1)
    session.commit()
    out = runner.invoke(args=["reminders", "run", "--now", "2027-01-20T10:00"])
    assert out.exit_code == 0, out.output
    assert "2027-01-20 10:00" in out.output and "2 reminder(s)" in out.output
    assert "warning: no official holiday schedule for 2027" in out.output  # 2027 is not in holidays.toml yet
    again = runner.invoke(args=["reminders", "run", "--now", "2027-01-20T10:10"])
    assert "0 reminder(s)" in again.output
    assert runner.invoke(args=["reminders", "run", "--now", "tomorrow"]).exit_code != 0


# --- real scheduler processes -----------------------------------------------------------------------

def config_dir_for_today(tmp_path: Path) -> Path:
    """The shipped domain config, with today made a working day and reminders allowed at any hour, so
    the processes (which run on the real clock) remind whatever the day and time of the test run."""
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    deadlines = (target / "deadlines.toml").read_text(encoding="utf-8")
    # the weekly ledger reminder (周调度, to unit heads) on yesterday's weekday: a test that runs on the
    # weekly day after its hour (Thursday 14:00 in Panjin) would otherwise count that reminder too
    yesterday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(TODAY - timedelta(days=1)).weekday()]
    assert 'weekly_day = "thu"' in deadlines
    (target / "deadlines.toml").write_text(deadlines.replace('send_from = "08:30"', 'send_from = "00:00"')
                                           .replace('weekly_day = "thu"', f'weekly_day = "{yesterday}"'),
                                           encoding="utf-8")
    holidays = (target / "holidays.toml").read_text(encoding="utf-8")
    (target / "holidays.toml").write_text(holidays.replace("workdays = []", f'workdays = ["{TODAY.isoformat()}"]'),
                                          encoding="utf-8")
    return target


class Schedulers:
    def __init__(self, env: dict[str, str], tmp_path: Path):
        self.env, self.tmp_path, self.procs = env, tmp_path, {}

    def start(self, name: str) -> None:
        with open(self.tmp_path / f"scheduler-{name}.log", "w") as log:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run",
                                                 "--holder", name], cwd=ROOT, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT)

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                proc.kill()
                proc.wait(10)

    def log(self, name: str) -> str:
        return (self.tmp_path / f"scheduler-{name}.log").read_text(errors="replace")


def wait_until(check, timeout: float = 60.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or check}")


def reminder_lines(sink: SmtpSink) -> list[str]:
    """Every reminder listed in every mail received, with its recipient (one line per reminder)."""
    lines = []
    for m in sink.messages:
        text = m.message.get_body(preferencelist=("plain",)).get_content()
        lines += [f"{m.rcpt_tos[0]} {line}" for line in re.findall(r"^\d+\. (.+)$", text.split("----")[0], flags=re.M)]
    return lines


def holder(session) -> str | None:
    session.expire_all()
    lease = session.get(SchedulerLease, "scheduler")
    return lease.holder if lease is not None and lease.expires_at > utcnow() else None


def test_two_schedulers_a_killed_holder_and_a_killed_drain_send_every_reminder_once(
        app_factory, database_url, session, ctx, tmp_path):
    sink = SmtpSink().start()
    env = {**os.environ, "APP_ENV": "testing", "SECRET_KEY": "test-secret-key-" + "x" * 32,
           "IDENTITY_KEY": IDENTITY_KEY, "DATABASE_URL": database_url, "INSTANCE_DIR": str(tmp_path / "instance"),
           "UPLOAD_DIR": str(tmp_path / "uploads"), "DOMAIN_CONFIG_DIR": str(config_dir_for_today(tmp_path)),
           "SMTP_URL": sink.url, "MAIL_FROM": "noreply@xlt.gov.cn", "SCHEDULER_REMINDERS_SECONDS": "1",
           "SCHEDULER_OUTBOX_SECONDS": "1", "SCHEDULER_MAIL_FETCH_SECONDS": "3600", "SCHEDULER_LEASE_SECONDS": "3",
           "MAIL_CLAIM_SECONDS": "2", "RECEIPT_SCRYPT_N": "1024", "PYTHONUNBUFFERED": "1"}
    app = app_factory(env={"DOMAIN_CONFIG_DIR": env["DOMAIN_CONFIG_DIR"]})
    team = Team(session)
    team.head, team.coordinator  # noqa: B018
    for n in range(8):  # eight cases whose handling deadline passed three weeks ago
        case, _ = open_case(app, session, ctx, text=f"区人民医院第{n}名外科医生收受患者红包{n + 1}千元，不给就拖延手术。")
        casework.accept(session, team.handler, case)
        row = session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id,
                                                        CaseDeadline.stage == "handling"))
        row.due_on, row.next_remind_on = TODAY - timedelta(days=21), TODAY - timedelta(days=21)
    session.commit()
    procs = Schedulers(env, tmp_path)
    try:
        procs.start("A")
        procs.start("B")
        # overdue to the handler and the unit head, escalation to the coordinator: 8 × 3 reminders
        wait_until(lambda: len(reminder_lines(sink)) >= 24, what="the first reminders")
        time.sleep(3)  # several more passes of both processes
        assert len(reminder_lines(sink)) == 24 and len(set(reminder_lines(sink))) == 24
        assert {m.rcpt_tos[0] for m in sink.messages} == {team.handler.email, team.head.email,
                                                          team.coordinator.email}
        first = wait_until(lambda: holder(session), what="a lease holder")
        other = "B" if first == "A" else "A"

        # the holder dies without a word; the other takes over and sends what falls due next
        procs.kill(first)
        case = session.scalar(select(CaseDeadline.case_id).limit(1))
        session.add_all([PersonalReminder(case_id=case, user_id=u.id, remind_on=TODAY, note="")
                         for u in (team.handler, team.head)])
        session.commit()
        wait_until(lambda: len(reminder_lines(sink)) >= 26, what="the reminders after the takeover")
        assert wait_until(lambda: holder(session), what="the new holder") == other

        # a slow SMTP relay, and the sender killed while it holds a message
        sink.data_delay = 1.0
        started = sink.data_started
        others = [make_user(session, f"tf-{n}", role="coordinator", unit="taskforce") for n in range(5)]
        session.add_all([PersonalReminder(case_id=case, user_id=u.id, remind_on=TODAY, note="") for u in others])
        session.commit()
        sink.wait_for_data_start(started + 2)
        procs.kill(other)
        procs.start("C")
        wait_until(lambda: len(reminder_lines(sink)) >= 31, timeout=90, what="the mail after the restart")
        time.sleep(3)
    finally:
        procs.stop_all()
        sink.stop()
    lines = reminder_lines(sink)
    ids = [m.message["Message-ID"] for m in sink.messages]
    assert len(lines) == 31 and len(ids) == len(set(ids))  # nothing lost, nothing twice
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Reminder)) == 31
    statuses = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    assert statuses == {"sent": len(ids)}
    assert session.scalar(select(func.count()).select_from(PersonalReminder)
                          .where(PersonalReminder.sent_at.is_(None))) == 0


@pytest.mark.postgres
def test_a_scheduler_killed_in_the_middle_of_a_reminders_pass_loses_and_doubles_nothing(migrated_postgres, tmp_path):
    """The pass is stopped at its first write by a table lock the test holds (PostgreSQL), killed there with
    SIGKILL, and a new scheduler sends every reminder once."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import sessionmaker

    from tests.conftest import _truncate_all, make_test_app
    _truncate_all(migrated_postgres)
    sink = SmtpSink().start()
    config = config_dir_for_today(tmp_path)
    env = {**os.environ, "APP_ENV": "testing", "SECRET_KEY": "test-secret-key-" + "x" * 32,
           "IDENTITY_KEY": IDENTITY_KEY, "DATABASE_URL": migrated_postgres, "INSTANCE_DIR": str(tmp_path / "instance"),
           "UPLOAD_DIR": str(tmp_path / "uploads"), "DOMAIN_CONFIG_DIR": str(config), "SMTP_URL": sink.url,
           "MAIL_FROM": "noreply@xlt.gov.cn", "SCHEDULER_REMINDERS_SECONDS": "1", "SCHEDULER_OUTBOX_SECONDS": "1",
           "SCHEDULER_MAIL_FETCH_SECONDS": "3600", "SCHEDULER_LEASE_SECONDS": "3", "RECEIPT_SCRYPT_N": "1024"}
    app = make_test_app(migrated_postgres, tmp_path, env={"DOMAIN_CONFIG_DIR": str(config)})
    engine = create_engine(migrated_postgres)
    session = sessionmaker(engine)()
    ctx = app.extensions["intake"]
    team = Team(session)
    team.head  # noqa: B018
    for n in range(5):
        case, _ = open_case(app, session, ctx, text=f"区人民医院第{n}名外科医生收受患者红包{n + 1}千元，不给就拖延手术。")
        casework.accept(session, team.handler, case)
        row = session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id,
                                                        CaseDeadline.stage == "handling"))
        row.due_on, row.next_remind_on = TODAY - timedelta(days=1), TODAY - timedelta(days=1)
    session.commit()
    conn = engine.connect()
    procs = Schedulers(env, tmp_path)
    try:
        tx = conn.begin()
        conn.execute(text("LOCK TABLE reminders IN EXCLUSIVE MODE"))
        procs.start("A")
        watch = engine.connect()  # its own transactions: pg_stat_activity is a snapshot per transaction

        def blocked() -> int:
            count = watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                       "AND query LIKE 'INSERT INTO reminders%'")).scalar()
            watch.rollback()
            return count
        wait_until(blocked, what="the pass waiting on its first write")
        watch.close()
        procs.kill("A")  # in the middle of the pass
        tx.rollback()
        conn.close()
        assert sink.messages == [] and session.scalar(select(func.count()).select_from(Reminder)) == 0
        procs.start("B")
        sink.wait_for(2, timeout=60)  # one summary mail each to the handler and the unit head
        time.sleep(3)
        session.expire_all()
        assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted([team.handler.email, team.head.email])
        assert session.scalar(select(func.count()).select_from(Reminder)) == 10
    finally:
        procs.stop_all()
        sink.stop()
        session.close()
        engine.dispose()
        app.extensions["db_engine"].dispose()



def test_a_second_sigterm_ends_the_scheduler_quietly():
    """`make run` stops the scheduler with SIGTERM from its trap and Ctrl-C sends one more: the first stops
    the scheduler, the next (it is no longer running) ends the process without a traceback."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from jobs.scheduler import stopper
    scheduler = BackgroundScheduler()
    scheduler.start()
    stop = stopper(scheduler)
    stop(signal.SIGTERM, None)
    assert not scheduler.running
    with pytest.raises(SystemExit) as ended:
        stop(signal.SIGTERM, None)  # the code before raised SchedulerNotRunningError here
    assert ended.value.code == 0
