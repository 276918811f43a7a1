"""The scheduler process (`flask --app wsgi scheduler run`): an APScheduler 3 BlockingScheduler with
explicit job ids, coalescing and max_instances=1. Several may be started (one per machine, say); only
the holder of the lease in the database runs jobs, and another takes over when the holder stops
renewing it. Jobs are idempotent anyway (reminder keys, outbox claims, mail UIDs), so even two holders
at once would send nothing twice."""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from core.db import new_session, utcnow
from jobs.models import SchedulerLease
from jobs.tasks import (
    audit_anchor_job,
    mail_fetch_job,
    outbox_job,
    queue_counts_job,
    reminders_job,
    retention_job,
    routing_job,
)

log = logging.getLogger(__name__)
LEASE = "scheduler"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def acquire(session: Session, holder: str, ttl: timedelta, name: str = LEASE) -> bool:
    """Take or renew the lease; True while `holder` has it. One statement decides, so two processes
    cannot both win: the row is updated only if it is ours or has run out."""
    now = utcnow()
    result = session.execute(update(SchedulerLease)
                             .where(SchedulerLease.name == name,
                                    or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now))
                             .values(holder=holder, expires_at=now + ttl))
    if result.rowcount == 1:
        session.commit()
        return True
    session.rollback()
    if session.get(SchedulerLease, name) is not None:
        return False
    try:
        session.add(SchedulerLease(name=name, holder=holder, expires_at=now + ttl, acquired_at=now))
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
        return False


def release(session: Session, holder: str, name: str = LEASE) -> None:
    session.execute(update(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == holder)
                    .values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()


class JobRunner:
    """Runs each job in an app context, only while this process holds the lease."""

    def __init__(self, app: Flask, holder: str | None = None):
        self.app = app
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.ttl = timedelta(seconds=app.config["SCHEDULER_LEASE_SECONDS"])
        self.holding = False
        self._lock = threading.Lock()

    def heartbeat(self) -> bool:
        with self._lock, self.app.app_context():
            try:
                with new_session() as session:
                    held = acquire(session, self.holder, self.ttl)
            except SQLAlchemyError as exc:
                log.warning("scheduler lease: database unavailable (%s)", exc.__class__.__name__)
                held = False
            if held != self.holding:
                log.info("scheduler %s %s the lease", self.holder, "took" if held else "lost")
            self.holding = held
            return held

    def wrap(self, name: str, job: Callable[[Flask], object]) -> Callable[[], None]:
        def run() -> None:
            if not self.heartbeat():
                return
            with self.app.app_context():
                try:
                    job(self.app)
                except Exception:  # a failing job must not stop the scheduler; the next run retries
                    log.exception("job %s failed", name)
        run.__name__ = f"job_{name}"
        return run

    def stop(self) -> None:
        if self.holding:
            with self.app.app_context(), new_session() as session:
                release(session, self.holder)
            self.holding = False


def build_scheduler(app: Flask, runner: JobRunner) -> BlockingScheduler:
    """Every interval job runs once at start, then at its interval; the weekly one on its day and time."""
    cfg, zone = app.config, ZoneInfo(app.config["TIMEZONE"])
    weekly = app.extensions["deadline_policy"].reminders
    scheduler = BlockingScheduler(timezone=zone, job_defaults={"coalesce": True, "max_instances": 1,
                                                               "misfire_grace_time": 600})
    now = datetime.now(zone)
    intervals = [("lease", runner.heartbeat, max(1, cfg["SCHEDULER_LEASE_SECONDS"] // 3)),
                 ("routing", runner.wrap("routing", routing_job), cfg["SCHEDULER_ROUTING_SECONDS"]),
                 ("reminders", runner.wrap("reminders", reminders_job), cfg["SCHEDULER_REMINDERS_SECONDS"]),
                 ("outbox", runner.wrap("outbox", outbox_job), cfg["SCHEDULER_OUTBOX_SECONDS"]),
                 ("mail_fetch", runner.wrap("mail_fetch", mail_fetch_job), cfg["SCHEDULER_MAIL_FETCH_SECONDS"]),
                 ("queue_counts", runner.wrap("queue_counts", queue_counts_job), cfg["SCHEDULER_COUNTS_SECONDS"])]
    for job_id, func, seconds in intervals:
        scheduler.add_job(func, IntervalTrigger(seconds=seconds, timezone=zone), id=job_id, name=job_id,
                          replace_existing=True, next_run_time=now)
    scheduler.add_job(runner.wrap("weekly_reminder", reminders_job),
                      CronTrigger(day_of_week=WEEKDAYS[weekly.weekly_day], hour=weekly.weekly_time.hour,
                                  minute=weekly.weekly_time.minute, timezone=zone),
                      id="weekly_reminder", name="weekly_reminder", replace_existing=True)
    scheduler.add_job(runner.wrap("retention", retention_job), CronTrigger(hour=2, minute=30, timezone=zone),
                      id="retention", name="retention", replace_existing=True)
    scheduler.add_job(runner.wrap("audit_anchor", audit_anchor_job), CronTrigger(hour=23, minute=55, timezone=zone),
                      id="audit_anchor", name="audit_anchor", replace_existing=True)  # the head, to the log
    scheduler.add_job(runner.wrap("monthly_bulletin", reminders_job),  # the pass knows the first working day
                      CronTrigger(day="1-7", hour=9, minute=1, timezone=zone),
                      id="monthly_bulletin", name="monthly_bulletin", replace_existing=True)
    return scheduler


def stopper(scheduler):
    """The SIGTERM handler: stop the scheduler; a second SIGTERM (make run's trap after Ctrl-C) or one before
    the start ends the process quietly instead of raising SchedulerNotRunningError with a traceback."""
    def stop(*_):
        if scheduler.running:
            scheduler.shutdown(wait=False)
        else:
            raise SystemExit(0)
    return stop


def run_forever(app: Flask, holder: str | None = None) -> None:
    runner = JobRunner(app, holder)
    scheduler = build_scheduler(app, runner)
    signal.signal(signal.SIGTERM, stopper(scheduler))
    log.info("scheduler %s starting; jobs: %s", runner.holder, ", ".join(j.id for j in scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        runner.stop()
