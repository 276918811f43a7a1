"""The audit trail's hash chain and `flask audit verify`: OK on an intact trail; an edited or a
deleted entry is found, with the number of the first entry that does not fit."""
from __future__ import annotations

from sqlalchemy import func, select, text

from core.audit import AuditEvent, record, verify
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
