"""The audit trail's hash chain and `flask audit verify`: OK on an intact trail; an edited or a
deleted entry is found, with the number of the first entry that does not fit — also when someone holding
the database but not the audit key deletes an identity view and recomputes the chain (plain SHA-256, or
HMAC under a wrong key). Entries from before the keyed chain still verify. Queue listings are audited with
their filters; a failed login keeps the typed name only when it is an account's."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from core.audit import GENESIS, AuditEvent, AuditHead, _digest, record, seal, verify
from core.keys import AuditKey
from tests.support.concurrency import run_in_threads
from tests.support.staff import login, make_user


def _trail(session, n: int = 4) -> None:
    user = make_user(session, "wang")
    for i in range(n):
        record(session, "case.viewed", actor=user, case_id=i + 1, note=f"第{i + 1}次")
    session.commit()


def test_verify_ok_counts_every_entry(runner, session):
    assert runner.invoke(args=["audit", "verify"]).output.strip() == "OK: 0 entries"
    _trail(session)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert result.output.strip() == "OK: 4 entries"


def test_login_events_chain_onto_the_trail(client, runner, session):
    make_user(session, "wang")
    login(client, "nobody")
    login(client, "wang")
    session.rollback()
    count = session.scalar(select(func.count()).select_from(AuditEvent))
    assert count == 2
    assert runner.invoke(args=["audit", "verify"]).output.strip() == "OK: 2 entries"


def test_an_edited_entry_is_found(runner, session):
    _trail(session)
    session.execute(text("""UPDATE audit_events SET detail = '{"note": "改过了"}' WHERE seq = 2"""))
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.strip() == "BROKEN at entry 2: its content was changed"
    session.rollback()
    outcome = verify(session)
    assert (outcome.ok, outcome.checked, outcome.first_broken) == (False, 1, 2)


def test_an_edited_actor_is_found(runner, session):
    _trail(session)
    session.execute(text("UPDATE audit_events SET actor = 'someone else' WHERE seq = 3"))
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and result.output.startswith("BROKEN at entry 3:")


def test_a_deleted_entry_is_found(runner, session):
    _trail(session)
    session.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.strip() == "BROKEN at entry 2: entry 2 is missing"


def test_a_deleted_last_entry_is_found(runner, session):
    _trail(session)
    session.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.strip() == "BROKEN at entry 4: entries after it were deleted"


# --- an attacker holding the database but not the key ---------------------------------------------------------

WRONG_KEY = AuditKey(b"w" * 32)


def _identity_trail(session) -> None:
    """Six entries; the third is the handler's view of a reporter's identity, the one to hide."""
    handler = make_user(session, "wang")
    record(session, "case.viewed", actor=handler, case_id=7)
    record(session, "case.accepted", actor=handler, case_id=7)
    record(session, "identity.viewed", actor=handler, case_id=7, report_id=7, reason="核实举报人身份")
    for n in range(3):
        record(session, "case.viewed", actor=handler, case_id=8 + n)
    session.commit()


def rewrite_without_key(session, delete_seq: int, mac_for) -> None:
    """What someone with only the database (and the public code) can do: delete an entry, renumber and
    re-hash every entry after it with plain SHA-256, give each a MAC by `mac_for(event)`, reset the head."""
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    session.delete(events[delete_seq - 1])
    session.flush()
    prev = events[delete_seq - 2].hash if delete_seq > 1 else GENESIS
    for ev in events[delete_seq:]:
        ev.seq, ev.prev_hash = ev.seq - 1, prev
        ev.hash = _digest(prev, ev.seq, ev.at, ev.actor_id, ev.actor, ev.action, ev.case_id, ev.report_id, ev.detail)
        ev.mac_key, ev.mac = mac_for(ev)
        session.flush()
        prev = ev.hash
    head = session.scalar(select(AuditHead))
    head.seq, head.hash = head.seq - 1, prev
    session.commit()


ATTACKS = {
    # the MACs left as they were: they no longer fit the new numbers and hashes
    "plain SHA-256, MACs kept": (lambda ev: (ev.mac_key, ev.mac), 3,
                                 "its MAC does not match: the chain was recomputed without the audit key"),
    # the rewritten entries passed off as entries from before the keyed chain
    "plain SHA-256, MACs removed": (lambda ev: (None, None), 3,
                                    "it has no MAC, but the keyed chain began at entry 1: entries were rewritten "
                                    "by someone without the audit key"),
    # HMAC under a key of the attacker's, named as such
    "HMAC under a wrong key": (lambda ev: (WRONG_KEY.key_id, WRONG_KEY.mac(ev.seq, ev.hash)), 3,
                               "from this entry on the MACs are under a key this service does not have (a wrong "
                               "AUDIT_KEY or IDENTITY_KEY, or entries forged under another key)"),
    # HMAC under a wrong key, labelled with our key's id
    "HMAC under a wrong key, our key id": (lambda ev: (ev.mac_key, WRONG_KEY.mac(ev.seq, ev.hash)), 3,
                                           "its MAC does not match: the chain was recomputed without the audit key"),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_deleted_identity_view_with_the_chain_recomputed_without_the_key_is_found(runner, session, attack):
    _identity_trail(session)
    mac_for, seq, problem = ATTACKS[attack]
    rewrite_without_key(session, 3, mac_for)
    assert session.scalar(select(func.count()).where(AuditEvent.action == "identity.viewed")) == 0
    assert session.scalar(select(AuditHead.seq)) == 5  # the head agrees with the rewritten chain
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.strip() == f"BROKEN at entry {seq}: {problem}"


def test_the_same_rewrite_under_the_real_key_would_pass(runner, session, app):
    """The control of the attacks above: the rewrite itself is complete; only the key is missing."""
    _identity_trail(session)
    key = app.extensions["audit_keys"][0]
    rewrite_without_key(session, 3, lambda ev: (key.key_id, key.mac(ev.seq, ev.hash)))
    assert runner.invoke(args=["audit", "verify"]).output.strip() == "OK: 5 entries"


def test_every_mac_stripped_makes_the_newest_entry_fail(runner, session):
    """Passing the whole trail off as one from before the keyed chain: the newest entry must have a MAC."""
    _identity_trail(session)
    rewrite_without_key(session, 3, lambda ev: (None, None))
    session.execute(text("UPDATE audit_events SET mac = NULL, mac_key = NULL"))
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.strip() == ("BROKEN at entry 5: the newest entry has no MAC: the MACs were stripped, unless "
                                     "the database was just upgraded without `flask setup` and nothing was recorded since")


def test_entries_from_before_the_keyed_chain_still_verify(runner, session, app):
    _trail(session, 3)
    session.execute(text("UPDATE audit_events SET mac = NULL, mac_key = NULL"))  # as written before migration 0011
    session.commit()
    with app.app_context():
        sealed = seal(session)
    session.commit()
    assert (sealed.seq, sealed.action) == (4, "audit.chain_keyed")
    record(session, "case.viewed", actor="cli", case_id=9)
    session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert result.output.strip() == ("OK: 5 entries (3 from before the keyed chain, checked by their hash and "
                                     "covered by the MAC of entry 4)")
    session.execute(text("UPDATE audit_events SET mac = NULL, mac_key = NULL WHERE seq = 5"))  # relabelled as old
    session.commit()
    assert runner.invoke(args=["audit", "verify"]).output.strip().startswith(
        "BROKEN at entry 5: it has no MAC, but the keyed chain began at entry 4")
    session.execute(text("UPDATE audit_events SET mac = NULL, mac_key = NULL"))  # the switch-over moved to the end
    session.commit()
    assert runner.invoke(args=["audit", "verify"]).output.strip().startswith(
        "BROKEN at entry 5: the newest entry has no MAC")


def test_an_old_entry_edited_is_found_by_its_hash(runner, session):
    _trail(session, 3)
    session.execute(text("UPDATE audit_events SET mac = NULL, mac_key = NULL WHERE seq < 3"))
    session.execute(text("""UPDATE audit_events SET detail = '{"note": "改过了"}' WHERE seq = 2"""))
    session.commit()
    assert runner.invoke(args=["audit", "verify"]).output.strip() == "BROKEN at entry 2: its content was changed"


# --- listings and failed logins -----------------------------------------------------------------------------

def test_a_queue_search_is_audited_with_its_filters(client, session):
    make_user(session, "wang")
    login(client, "wang")
    response = client.get("/queue?tab=closed&q=%E5%BC%A0%E4%B8%89&item=6.4&received_from=2026-01-01&page=3&sort=due")
    assert response.status_code == 200
    session.rollback()
    listed = session.scalars(select(AuditEvent).where(AuditEvent.action == "queue.listed")).all()
    assert len(listed) == 1
    assert listed[0].actor_id is not None and "wang" in listed[0].actor
    assert listed[0].detail == {"tab": "closed", "filters": {"item": "6.4", "received_from": "2026-01-01"},
                                "q": "张三", "page": 1, "sort": "due", "descending": True, "matched": 0}
    client.get("/queue")
    session.rollback()
    assert session.scalar(select(func.count()).where(AuditEvent.action == "queue.listed")) == 2


def test_a_failed_login_with_an_unknown_name_keeps_no_plaintext(client, session, caplog):
    """A password typed into the user-name field must not land in the audit trail or the log."""
    make_user(session, "wang")
    typed = "Hunter2-My-Real-Passw0rd"
    caplog.set_level("WARNING")
    login(client, typed, "whatever is in the password box")
    login(client, typed, "again")
    session.rollback()
    failed = session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert len(failed) == 2
    for ev in failed:
        assert "username" not in ev.detail and ev.detail["reason"] == "unknown user"
        assert typed not in json.dumps(ev.detail, ensure_ascii=False) and typed.lower() not in str(ev.detail).lower()
        assert "whatever" not in json.dumps(ev.detail, ensure_ascii=False)
    assert failed[0].detail["username_hash"] == failed[1].detail["username_hash"]  # the same name twice
    assert typed not in caplog.text and "whatever" not in caplog.text
    assert "unknown user name #" + failed[0].detail["username_hash"] in caplog.text


def test_a_failed_login_with_a_known_name_keeps_the_name(client, session, caplog):
    make_user(session, "wang")
    caplog.set_level("WARNING")
    login(client, "wang", "not the password at all")
    session.rollback()
    failed = session.scalar(select(AuditEvent).where(AuditEvent.action == "login.failed"))
    assert failed.detail["username"] == "wang" and "username_hash" not in failed.detail
    assert failed.detail["reason"] == "wrong password" and "not the password" not in str(failed.detail)
    assert "'wang'" in caplog.text and "not the password" not in caplog.text


def test_concurrent_writers_keep_one_keyed_chain(app, runner, session):
    """Writers serialise on the head row: none chains onto the same predecessor, every MAC fits."""
    maker = app.extensions["db_sessionmaker"]

    def write() -> None:
        with maker() as s:
            for n in range(5):
                record(s, "queue.listed", actor="cli", tab="all", page=n + 1)
                s.commit()

    assert run_in_threads(write, 4) == []
    result = runner.invoke(args=["audit", "verify"])
    assert (result.exit_code, result.output.strip()) == (0, "OK: 20 entries")
