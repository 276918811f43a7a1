"""The audit trail's anchor: `flask audit anchor` prints the head as one line to keep outside the database;
`flask audit verify --anchor LINE` fails (exit 1), naming what is missing, when the chain no longer holds
that head — the tail cut, the head rolled back, the database restored from an older copy (with or without
entries written since). Also: the scheduler's daily anchor job, key rotation (IDENTITY_KEY_PREVIOUS and a
stable AUDIT_KEY) and the seal `flask setup` writes on a trail from before the keyed chain."""
from __future__ import annotations

import base64
import logging
import sqlite3

from sqlalchemy import create_engine, delete, insert, select, text

from core.accounts import find_user
from core.audit import GENESIS, AuditEvent, AuditHead, _digest, record
from core.db import utcnow
from jobs.scheduler import JobRunner, build_scheduler
from jobs.tasks import audit_anchor_job
from tests.conftest import IDENTITY_KEY, make_test_app
from tests.core.test_audit import rewrite_without_key
from tests.support.staff import make_user
from wiring.migrate import upgrade

NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()
OTHER_KEY = base64.urlsafe_b64encode(b"o" * 32).decode()
AUDIT_KEY = "a-stable-audit-key-kept-apart-" + "z" * 10


def _events(session, n: int, start: int = 0) -> None:
    user = find_user(session, "wang") or make_user(session, "wang")
    for i in range(n):
        record(session, "case.viewed", actor=user, case_id=start + i + 1)
    session.commit()


def _anchor(runner) -> str:
    result = runner.invoke(args=["audit", "anchor"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _verify(runner, anchor: str | None = None):
    return runner.invoke(args=["audit", "verify"] + (["--anchor", anchor] if anchor is not None else []))


def _cut_tail(session, after_seq: int, *, reset_head: bool) -> None:
    session.execute(delete(AuditEvent).where(AuditEvent.seq > after_seq))
    if reset_head:
        last = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == after_seq))
        session.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": after_seq, "h": last})
    session.commit()


def test_the_anchor_is_one_line_naming_the_head(runner, session):
    assert _anchor(runner) == f"xlt-audit-anchor v1 seq=0 mac={GENESIS}"
    _events(session, 4)
    line = _anchor(runner)
    newest = session.scalar(select(AuditEvent).where(AuditEvent.seq == 4))
    assert line == f"xlt-audit-anchor v1 seq=4 mac={newest.mac}"
    result = _verify(runner, line)
    assert result.exit_code == 0
    assert result.output.strip() == "OK: 4 entries (anchor seq=4 found)"
    _events(session, 3, start=4)  # the chain goes on: the old anchor is still in it
    assert _verify(runner, "2026-12-01 23:55:00 INFO jobs.tasks: audit anchor: " + line).output.strip() \
        == "OK: 7 entries (anchor seq=4 found)"  # pasted from the scheduler's log as it is


def test_a_line_that_is_no_anchor_is_refused(runner, session):
    _events(session, 2)
    for bad in ("", "seq=2", "xlt-audit-anchor v1 seq=2 mac=abc", "xlt-audit-anchor v2 seq=2 mac=" + "0" * 64):
        result = _verify(runner, bad)
        assert result.exit_code == 2, bad
        assert "not an anchor line" in result.output


def test_the_tail_cut_after_an_anchor_is_found(runner, session):
    _events(session, 6)
    line = _anchor(runner)
    _cut_tail(session, 4, reset_head=False)
    result = _verify(runner, line)
    assert result.exit_code == 1
    assert result.output.strip() == "BROKEN at entry 5: entries after it were deleted"


def test_the_head_rolled_back_is_found_only_with_the_anchor(runner, session):
    _events(session, 6)
    line = _anchor(runner)
    _cut_tail(session, 4, reset_head=True)  # the last two entries gone and the head row set back to match
    assert _verify(runner).output.strip() == "OK: 4 entries"  # what the database alone can tell
    result = _verify(runner, line)
    assert result.exit_code == 1
    assert result.output.strip() == ("BROKEN at entry 6: the anchor's entry 6 is missing: the trail ends at entry 4 "
                                     "(its tail was cut, its head rolled back, or the database restored from an older "
                                     "copy)")


def _backup(app):
    """A copy of the database as an operator would keep it: the SQLite file (backup API, WAL and all);
    on PostgreSQL the audit tables' rows (what a restore of an older dump puts back)."""
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        copy = path + ".older"
        with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
        return copy
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = ([dict(r._mapping) for r in conn.execute(select(AuditEvent.__table__))],
                [dict(r._mapping) for r in conn.execute(select(AuditHead.__table__))])
    engine.dispose()
    return rows


def _restore(app, session, copy) -> None:
    session.close()
    app.extensions["db_engine"].dispose()
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(copy) as src, sqlite3.connect(url.split("///", 1)[1]) as dst:
            src.backup(dst)
        return
    events, heads = copy
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(delete(AuditEvent.__table__))
        conn.execute(delete(AuditHead.__table__))
        conn.execute(insert(AuditHead.__table__), heads)
        conn.execute(insert(AuditEvent.__table__), events)
    engine.dispose()


def test_a_database_restored_from_an_older_copy_is_found(app, runner, session):
    _events(session, 3)
    older = _backup(app)
    _events(session, 4, start=3)  # among them, say, the identity view someone wants undone
    line = _anchor(runner)
    _restore(app, session, older)
    assert _verify(runner).output.strip() == "OK: 3 entries"  # a consistent, older trail
    result = _verify(runner, line)
    assert result.exit_code == 1
    assert result.output.strip().startswith("BROKEN at entry 7: the anchor's entry 7 is missing: the trail ends at "
                                            "entry 3")


def test_a_restored_copy_written_on_since_is_found(app, runner, session):
    _events(session, 3)
    older = _backup(app)
    _events(session, 4, start=3)
    line = _anchor(runner)
    _restore(app, session, older)
    _events(session, 5, start=100)  # the service went on after the restore: entry 7 exists again, another one
    result = _verify(runner, line)
    assert result.exit_code == 1
    assert result.output.strip() == ("BROKEN at entry 7: it is not the entry the anchor names: the trail was "
                                     "rewritten from there, or the database restored from an older copy and "
                                     "written on")


def test_an_anchor_is_refused_when_the_newest_mac_is_wrong(runner, session):
    _events(session, 3)
    session.execute(text("UPDATE audit_events SET mac = :m WHERE seq = 3"), {"m": "f" * 64})
    session.commit()
    result = runner.invoke(args=["audit", "anchor"])
    assert result.exit_code == 1
    assert "entry 3, the newest, has no valid MAC" in result.output


def test_the_scheduler_writes_the_anchor_to_the_log_daily(app, session, caplog):
    _events(session, 2)
    caplog.set_level(logging.INFO, logger="jobs.tasks")
    with app.app_context():
        line = audit_anchor_job(app)
    newest = session.scalar(select(AuditEvent).where(AuditEvent.seq == 2))
    assert line == f"xlt-audit-anchor v1 seq=2 mac={newest.mac}"
    assert [r.getMessage() for r in caplog.records if r.name == "jobs.tasks"] == [f"audit anchor: {line}"]
    assert caplog.records[-1].levelno == logging.INFO
    job = build_scheduler(app, JobRunner(app, holder="test")).get_job("audit_anchor")
    assert job is not None and job.name == "audit_anchor"
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"], fields["day"]) == ("23", "55", "*")  # once a day


def test_identity_key_rotation_keeps_the_trail_verifiable(app_factory, session):
    app = app_factory()
    _events(session, 3)
    before = _anchor(app.test_cli_runner())
    rotated = app_factory(env={"IDENTITY_KEY": NEW_KEY, "IDENTITY_KEY_PREVIOUS": IDENTITY_KEY})
    assert rotated.test_cli_runner().invoke(args=["identity", "rotate"]).exit_code == 0
    with rotated.app_context():
        rotated_session = rotated.extensions["db_sessionmaker"]()
        _events(rotated_session, 2, start=3)
        rotated_session.close()
    assert _verify(rotated.test_cli_runner(), before).output.strip() == "OK: 6 entries (anchor seq=3 found)"
    # the old key retired: its entries are covered by the hash chain and the MACs after them
    retired = app_factory(env={"IDENTITY_KEY": NEW_KEY})
    result = _verify(retired.test_cli_runner(), before)
    assert result.exit_code == 0
    assert result.output.strip() == ("OK: 6 entries (3 under a retired key, covered by the MACs of the entries after "
                                     "them; anchor seq=3 found)")
    # ... and still checked: an entry under the retired key deleted and the chain recomputed without a key
    rewrite_without_key(session, 2, lambda ev: (ev.mac_key, ev.mac))
    assert _verify(retired.test_cli_runner()).output.strip() == (
        "BROKEN at entry 3: its MAC does not match: the chain was recomputed without the audit key")


def test_a_stable_audit_key_outlives_identity_rotations(app_factory):
    first = app_factory(env={"AUDIT_KEY": AUDIT_KEY})
    with first.extensions["db_sessionmaker"]() as first_session:
        _events(first_session, 3)
        assert {ev.mac_key for ev in first_session.scalars(select(AuditEvent))} == {
            first.extensions["audit_keys"][0].key_id}
    later = app_factory(env={"AUDIT_KEY": AUDIT_KEY, "IDENTITY_KEY": NEW_KEY})  # old identity key gone
    assert _verify(later.test_cli_runner()).output.strip() == "OK: 3 entries"
    assert first.extensions["audit_keys"][0] == later.extensions["audit_keys"][0]


def test_a_wrong_key_is_named(app_factory, session):
    app_factory()
    _events(session, 2)
    stranger = app_factory(env={"IDENTITY_KEY": OTHER_KEY})
    result = _verify(stranger.test_cli_runner())
    assert result.exit_code == 1
    assert result.output.strip().startswith("BROKEN at entry 1: from this entry on the MACs are under a key this "
                                            "service does not have")


def test_setup_seals_a_trail_from_before_the_keyed_chain(tmp_path):
    """A database at the revision before the MACs, with entries the old code wrote: `flask setup` migrates
    it and writes the first keyed entry; the old entries verify by their hash, covered by that MAC."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0008")
    engine = create_engine(url)
    prev = GENESIS
    with engine.begin() as conn:
        for seq in (1, 2, 3):
            at = utcnow()
            digest = _digest(prev, seq, at, None, "cli", "user.created", None, None, {"username": f"u{seq}"})
            conn.execute(text("INSERT INTO audit_events (seq, at, actor, action, detail, prev_hash, hash) "
                              "VALUES (:seq, :at, 'cli', 'user.created', :detail, :prev, :hash)"),
                         {"seq": seq, "at": at, "detail": f'{{"username": "u{seq}"}}', "prev": prev, "hash": digest})
            prev = digest
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 3, :h)"), {"h": prev})
    engine.dispose()
    app = make_test_app(url, tmp_path)
    try:
        result = app.test_cli_runner().invoke(args=["audit", "verify"])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == ("OK: 4 entries (3 from before the keyed chain, checked by their hash and "
                                         "covered by the MAC of entry 4)")
        again = app.test_cli_runner().invoke(args=["setup"])  # idempotent: no second seal
        assert "keyed chain" not in again.output
        assert app.test_cli_runner().invoke(args=["audit", "verify"]).output.startswith("OK: 4 entries")
    finally:
        app.extensions["db_engine"].dispose()
