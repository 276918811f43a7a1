"""The routing job's batch classified in worker processes (routing.pool, ROUTING_WORKERS): the same records
and cases as in process, one report that raises in a worker goes to triage alone, and a pool that breaks
leaves the batch to be decided in process. Both databases."""
import os
import time

import pytest
from sqlalchemy import select

from casework.models import Case, CaseUnit, Classification
from routing import classifier, pool
from tests.casework.test_opening import INSURANCE, RUDE, pending
from tests.casework.test_routing_batch import _queue

TEXTS = [INSURANCE, RUDE, INSURANCE + "另有一家药店刷医保卡换生活用品。", "医院药房主任收药企回扣，每盒药返两块钱。",
         "区人民医院骨科主任收受医药代表回扣，每用一套耗材返现两千元。", "卫生院院长让病人住院挂床，套取医保基金。"]


@pytest.fixture
def pool_app(app_factory):
    pool.shutdown()
    yield app_factory(env={"ROUTING_IN_REQUEST": "false", "ROUTING_WORKERS": "2"})
    pool.shutdown()


def _texts(n: int) -> list[str]:
    return [f"{TEXTS[i % len(TEXTS)]}第{i}件" for i in range(n)]


def _routed(session, ids: list[int]) -> list[tuple]:
    out = []
    for rid in ids:
        case = session.scalar(select(Case).where(Case.report_id == rid))
        record = session.scalar(select(Classification).where(Classification.report_id == rid))
        units = sorted(session.execute(select(CaseUnit.unit_code, CaseUnit.role).where(CaseUnit.case_id == case.id)))
        out.append((case.status, case.lead_unit, case.item_code, case.area, case.in_scope, case.transfer_suggested,
                    case.routing_reason, case.how_found, units, record.item_code, record.in_scope, record.confidence,
                    record.candidates, record.routing, record.rules_version, record.model_version, record.error))
    return out


def test_the_pool_gives_the_cases_and_records_of_the_job_in_process(pool_app, app_factory):
    from core.db import new_session
    from jobs.tasks import routing_job
    texts = _texts(2 * pool.POOL_MIN + 6)   # three batches: the second one classified while the first is written
    ids = _queue(pool_app, texts)
    with pool_app.app_context():
        assert routing_job(pool_app, batch=pool.POOL_MIN) == len(texts)
        assert pool._pool is not None     # the batches went to the workers
        with new_session() as session:
            assert pending(session) == []
            by_pool = _routed(session, ids)
    pool.shutdown()
    alone = app_factory(env={"ROUTING_IN_REQUEST": "false", "ROUTING_WORKERS": "0"})
    alone_ids = _queue(alone, texts)
    with alone.app_context():
        assert routing_job(alone, batch=pool.POOL_MIN) == len(texts)
        assert pool._pool is None
        with new_session() as session:
            assert _routed(session, alone_ids) == by_pool
    assert {row[0] for row in by_pool} >= {"to_accept"} and len({row[1] for row in by_pool}) > 1


def test_a_report_that_raises_in_a_worker_goes_to_triage_alone(pool_app, monkeypatch, caplog):
    from core.db import new_session
    from jobs.tasks import routing_job
    texts = _texts(pool.POOL_MIN + 2)
    texts[5] = "BOOM " + texts[5]
    ids = _queue(pool_app, texts)
    real = classifier.classify

    def failing(tax, *, title, text, **kw):
        if "BOOM" in text:
            raise RuntimeError("the model exploded in a worker")
        return real(tax, title=title, text=text, **kw)

    monkeypatch.setattr(classifier, "classify", failing)   # what the forked workers call (not casework.opening's)
    with pool_app.app_context():
        assert routing_job(pool_app) == len(texts)
        assert f"classifier failed on report {ids[5]}" in caplog.text and "Traceback" in caplog.text
        with new_session() as session:
            assert pending(session) == []
            routed = _routed(session, ids)
            boom = session.scalar(select(Case).where(Case.report_id == ids[5]))
            assert boom.status == "triage" and boom.lead_unit == "taskforce"
            assert routed[5][-1] == "RuntimeError: the model exploded in a worker"
            assert all(row[-1] is None for n, row in enumerate(routed) if n != 5)
            assert routed[0][1] == "medinsure"


def _route_with_a_faulty_worker(pool_app, monkeypatch, marker: str, fault) -> None:
    """Route a pool-sized batch in which the report marked `marker` makes its worker call `fault()`; the job
    must route every report in process (no classifier error recorded), after logging the pool's failure."""
    from core.db import new_session
    from jobs.tasks import routing_job
    texts = _texts(pool.POOL_MIN)
    texts[3] = f"{marker} " + texts[3]
    ids = _queue(pool_app, texts)
    real = classifier.classify

    def faulty(tax, *, title, text, **kw):
        if marker in text:
            fault()
        return real(tax, title=title, text=text, **kw)

    monkeypatch.setattr(classifier, "classify", faulty)
    with pool_app.app_context():
        assert routing_job(pool_app) == len(texts)
        with new_session() as session:
            assert pending(session) == []
            routed = _routed(session, ids)
            assert all(row[-1] is None for row in routed)   # decided in process: nobody's classifier failed
            assert routed[0][1] == "medinsure"


def test_a_worker_that_dies_leaves_the_batch_to_the_job_in_process(pool_app, monkeypatch, caplog):
    _route_with_a_faulty_worker(pool_app, monkeypatch, "DIE", lambda: os._exit(3))
    assert "the routing pool failed" in caplog.text


def test_a_worker_that_hangs_is_killed_and_the_batch_decided_in_process(pool_app, monkeypatch, caplog):
    """A worker that never answers must not stall routing: after the wait the pool's workers are killed and
    the batch is decided by the job itself."""
    monkeypatch.setattr(pool, "WAIT_SECONDS", 2.0)
    monkeypatch.setattr(pool, "WAIT_PER_REPORT", 0.0)
    started = time.monotonic()
    _route_with_a_faulty_worker(pool_app, monkeypatch, "HANG", lambda: time.sleep(3600))
    assert time.monotonic() - started < 120
    assert "the routing pool failed" in caplog.text
    assert pool._pool is None   # the hung pool is gone; the next batch starts a fresh one


def test_a_report_sent_ahead_is_decided_again_if_it_changed_meanwhile(pool_app):
    from casework.opening import route_pending
    from casework.runtime import routing_runtime
    from core.db import new_session
    from intake.models import Report
    texts = _texts(pool.POOL_MIN)
    ids = _queue(pool_app, texts)
    runtime = routing_runtime(pool_app)
    with pool_app.app_context(), new_session() as session:
        learned = runtime.learned_model(session)
        sent = {}
        for report in session.scalars(select(Report).where(Report.id.in_(ids)).order_by(Report.id)):
            sent[report.id] = (report.title, report.text, report.channel, {
                "name": report.accused_name, "institution": report.accused_institution,
                "position": report.accused_position})
        sent[ids[0]] = ("", RUDE, "web", sent[ids[0]][3])   # what an older version of the report said
        ahead = pool.Ahead()
        ahead.start(runtime.taxonomy, learned, sent, 2)
        assert route_pending(session, runtime.taxonomy, learned, related=runtime.related, workers=2,
                             ahead=ahead) == len(ids)
        routed = _routed(session, ids)
        assert routed[0][1] == "medinsure"           # decided on its text now (INSURANCE), not on RUDE
        assert routed[0][:6] == routed[len(TEXTS)][:6]   # as the other report of the same text
