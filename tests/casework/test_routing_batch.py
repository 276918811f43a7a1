"""The routing job routes a batch in one transaction (issue 16: ≥ 500 reports/s), and still one report's
failure holds up no other and an acknowledged report is never lost. Both databases."""
import json

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from casework.deadline_models import CaseDeadline
from casework.models import Case, CaseReport, Classification
from casework.recusal_models import ReportNameText
from tests.casework.test_opening import INSURANCE, RUDE, case_of, pending


def _queue(app, texts: list[str]) -> list[int]:
    from core.db import new_session
    client = app.test_client()
    for text in texts:
        resp = client.post("/api/v1/reports", data=json.dumps({"text": text}), content_type="application/json")
        assert resp.status_code == 201
    with app.app_context(), new_session() as session:
        return pending(session)


@pytest.fixture
def job_app(app_factory):
    return app_factory(env={"ROUTING_IN_REQUEST": "false"})


def _count_commits(app) -> list[int]:
    from core.db import get_engine
    commits = [0]
    with app.app_context():
        event.listen(get_engine(), "commit", lambda _conn: commits.__setitem__(0, commits[0] + 1))
    return commits


def test_a_batch_is_one_transaction_with_the_same_cases_as_one_by_one(job_app):
    from core.db import new_session
    from jobs.tasks import routing_job
    texts = [INSURANCE, RUDE, INSURANCE + "另有一家药店刷医保卡换生活用品。", "医院药房主任收药企回扣，每盒药返两块钱。"]
    ids = _queue(job_app, texts)
    commits = _count_commits(job_app)
    with job_app.app_context():
        assert routing_job(job_app) == 4
        assert commits[0] == 1              # one transaction for the batch
        with new_session() as session:
            assert pending(session) == []
            cases = [case_of(session, rid) for rid in ids]
            assert cases[0].lead_unit == "medinsure" and cases[0].status == "to_accept"
            assert cases[0].units and {u.unit_code for u in cases[0].units} >= {"medinsure"}
            for rid, case in zip(ids, cases):
                assert session.scalar(select(Classification).where(Classification.report_id == rid)) is not None
                assert session.scalar(select(CaseReport).where(CaseReport.case_id == case.id)).report_id == rid
                assert session.get(ReportNameText, rid) is not None         # the recusal scan ran
                open_rows = session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id)).all()
                assert {r.stage for r in open_rows} >= {"acceptance"} and case.next_due_on is not None
            # the same as the one-by-one path gives for the same text (its deadlines included)
            from casework.opening import route_report
            from casework.runtime import routing_runtime
            again = _queue(job_app, [INSURANCE])[0]
            single = route_report(session, routing_runtime(job_app).taxonomy, again,
                                  routing_runtime(job_app).learned_model(session))
            stages = {(r.stage, r.due_on, r.unit_code) for r in session.scalars(
                select(CaseDeadline).where(CaseDeadline.case_id == single.id))}
            assert stages == {(r.stage, r.due_on, r.unit_code) for r in session.scalars(
                select(CaseDeadline).where(CaseDeadline.case_id == cases[0].id))}
            assert (single.lead_unit, single.status, single.item_code, single.next_due_on) == \
                (cases[0].lead_unit, cases[0].status, cases[0].item_code, cases[0].next_due_on)


def test_a_batch_writes_each_case_once_and_indexes_it_once(job_app):
    """What makes the batch fast, held: the cases go out with their next due date (no UPDATE of cases
    after their INSERT, which on PostgreSQL also rewrote each case's search row by trigger), and the
    search index is written once for the batch, when the cases hold their reports."""
    from core.db import get_engine
    from jobs.tasks import routing_job
    texts = [INSURANCE, RUDE, "医院药房主任收药企回扣，每盒药返两块钱。", "区医院骨科主任让病人买指定耗材，拿提成。"]
    _queue(job_app, texts)
    seen: list[str] = []
    with job_app.app_context():
        engine = get_engine()

        def note(_conn, _cursor, statement, _params, _context, _many):
            seen.append(" ".join(statement.split()[:3]).lower())
        event.listen(engine, "before_cursor_execute", note)
        try:
            assert routing_job(job_app) == 4
        finally:
            event.remove(engine, "before_cursor_execute", note)
    assert "insert into cases" in seen
    assert not [s for s in seen if s.startswith("update cases")], seen
    index_writes = [s for s in seen if s.startswith("insert into case_search")]
    assert len(index_writes) == 1, seen


def test_a_report_whose_classification_raises_blocks_nothing_in_the_batch(job_app, monkeypatch, caplog):
    from casework import opening as service
    from core.db import new_session
    from jobs.tasks import routing_job
    ids = _queue(job_app, [INSURANCE, "BOOM " + INSURANCE, RUDE])
    real = service.classify

    def failing(tax, *, title, text, **kw):
        if "BOOM" in text:
            raise RuntimeError("the model exploded")
        return real(tax, title=title, text=text, **kw)

    monkeypatch.setattr(service, "classify", failing)
    commits = _count_commits(job_app)
    with job_app.app_context():
        assert routing_job(job_app) == 3
        assert commits[0] == 1
        assert f"classifier failed on report {ids[1]}" in caplog.text
        with new_session() as session:
            assert pending(session) == []
            boom = case_of(session, ids[1])
            assert boom.status == "triage" and boom.lead_unit == "taskforce"
            record = session.scalar(select(Classification).where(Classification.report_id == ids[1]))
            assert "the model exploded" in record.error
            assert case_of(session, ids[0]).lead_unit == "medinsure"
            assert case_of(session, ids[2]) is not None


def test_a_failed_commit_loses_no_acknowledged_report(job_app):
    """The database fails as the batch commits: every report stays queued, none has a case, and the next
    run routes them all."""
    from core.db import new_session
    from jobs.tasks import routing_job
    ids = _queue(job_app, [INSURANCE, RUDE, INSURANCE])
    from sqlalchemy.orm import Session

    def fail(session):
        raise OperationalError("COMMIT", {}, Exception("the disk went away"))

    event.listen(Session, "before_commit", fail)
    try:
        with job_app.app_context(), pytest.raises(OperationalError):
            routing_job(job_app)
    finally:
        event.remove(Session, "before_commit", fail)
    with job_app.app_context():
        with new_session() as session:
            assert pending(session) == ids
            assert session.scalars(select(Case)).all() == []
        assert routing_job(job_app) == 3
        with new_session() as session:
            assert pending(session) == [] and all(case_of(session, rid) is not None for rid in ids)


def test_a_write_that_fails_for_one_report_sends_the_batch_one_by_one(job_app, monkeypatch, caplog):
    """One report's rows cannot be written: the batch is rolled back and routed one by one; that report
    stays queued (retried by the next run), the others are routed and off the queue."""
    from casework import opening as service
    from core.db import new_session
    from jobs.tasks import routing_job
    ids = _queue(job_app, [INSURANCE, RUDE, INSURANCE + "另有一家药店刷医保卡换生活用品。"])
    real_sync = service.sync_deadlines

    def failing(session, case, *a, **k):
        if case.report_id == ids[1]:
            raise OSError("disk full")
        return real_sync(session, case, *a, **k)

    monkeypatch.setattr(service, "sync_deadlines", failing)
    with job_app.app_context():
        assert routing_job(job_app) == 2
        assert "routing them one by one" in caplog.text and f"routing report {ids[1]} failed" in caplog.text
        with new_session() as session:
            assert pending(session) == [ids[1]]
            assert case_of(session, ids[0]) is not None and case_of(session, ids[2]) is not None
            assert case_of(session, ids[1]) is None
        monkeypatch.undo()
        assert routing_job(job_app) == 1
        with new_session() as session:
            assert pending(session) == [] and case_of(session, ids[1]) is not None


def test_the_sweep_command_prints_what_it_routed_and_how_long_it_took(job_app):
    import re
    _queue(job_app, [INSURANCE, RUDE])
    out = job_app.test_cli_runner().invoke(args=["routing", "sweep"]).output
    assert re.fullmatch(r"routed 2 report\(s\) in \d+\.\d s\n", out), out
