"""Related reports found for a whole routing batch (issues 16 and 18) give what one-by-one routing gives:
the same candidates (reasons, scores), the same repeats (重复件); a failure in one report's detection costs
only that detection; recusal applies to every case of the batch. Both databases."""
import pytest
from sqlalchemy import select

from casework import related as related_module
from casework import related_batch
from casework.models import Case, CaseReport
from casework.opening import route_pending, route_report
from casework.recusal_models import Recusal
from casework.related_models import CaseRepeat, RelatedCandidate
from casework.rules import can_see
from casework.runtime import routing_runtime
from tests.casework.test_related import HONGBAO, NUMBERS, ORTHO, PHARMACY
from tests.support.factories import file_report
from tests.support.staff import make_user


@pytest.fixture
def job_app(app_factory):
    return app_factory(env={"ROUTING_IN_REQUEST": "false"})


def _file(app, session, reports: list[dict]) -> list[int]:
    ctx = app.extensions["intake"]
    with app.app_context():
        return [file_report(session, ctx, **{"title": "举报", **r}).report_id for r in reports]


def _world(inst: str, names: tuple[str, str], phones: tuple[str, str]) -> list[dict]:
    """A mixed set: a report, its repeat (same reporter, near-same text), the same person, the same
    institution and reporter, an unrelated one. Every report names `inst`: two worlds never relate."""
    who = {"anonymous": False, "reporter_name": "张三", "accused_institution": inst}
    return [dict(who, text=ORTHO, accused_name=names[0], reporter_phone=phones[0]),
            dict(who, text=ORTHO + "请尽快处理！", accused_name=names[0], reporter_phone=phones[0]),
            dict(who, text=HONGBAO, accused_name=names[0], reporter_phone=phones[1]),
            dict(who, text=PHARMACY, accused_name=names[1], reporter_phone=phones[0]),
            dict(who, text=NUMBERS, accused_name=names[1], reporter_phone=phones[1])]


def _outcome(session, ids: list[int]):
    """Cases, repeats and candidates, in terms of the reports' positions in `ids`."""
    session.expire_all()
    cases = [session.scalar(select(Case).where(Case.report_id == rid)) for rid in ids]
    pos = {c.id: i for i, c in enumerate(cases)}
    holder = [pos.get(session.scalar(select(CaseReport.case_id).where(CaseReport.report_id == rid))) for rid in ids]
    repeats = {ids.index(r.report_id): pos[r.case_id] for r in session.scalars(select(CaseRepeat))
               if r.report_id in ids}
    candidates = {(pos[c.case_id], pos[c.other_case_id], tuple(c.reasons), c.score)
                  for c in session.scalars(select(RelatedCandidate)) if c.case_id in pos}
    return [(c.status, pos.get(c.merged_into_id)) for c in cases], holder, repeats, candidates


def test_a_batch_finds_the_same_candidates_and_repeats_as_one_by_one(job_app, session, caplog):
    runtime = routing_runtime(job_app)
    tax, learned = runtime.taxonomy, runtime.learned_model(session)
    batch = _file(job_app, session, _world("区人民医院", ("王小明", "李建国"), ("13812345678", "13911112222")))
    assert route_pending(session, tax, learned, related=runtime.related) == 5
    assert "one by one" not in caplog.text   # the batch path, not its fallback
    single = _file(job_app, session, _world("市中心医院", ("赵大海", "钱多多"), ("13700001111", "13600002222")))
    for rid in single:
        route_report(session, tax, rid, learned, runtime.related)
    got, want = _outcome(session, batch), _outcome(session, single)
    assert got == want
    statuses, holder, repeats, candidates = got
    # report 2 repeats report 1 of the same batch: registered on its case, its own row merged into it
    assert statuses[1] == ("merged", 0) and holder[1] == 0 and repeats == {1: 0}
    reasons = {(a, b): set(r) for a, b, r, _s in candidates}
    assert reasons[(2, 0)] >= {"same_person"} and "same_reporter" in reasons[(3, 0)]
    assert all(b < a for a, b in reasons)  # a report is looked up against those before it only


def test_a_failing_detection_costs_only_that_report(job_app, session, monkeypatch):
    runtime = routing_runtime(job_app)
    real = related_module.find_related

    def failing(session, policy, case, report, keys, *batch):
        if "BOOM" in report.text:
            raise RuntimeError("detection bug")
        return real(session, policy, case, report, keys, *batch)

    monkeypatch.setattr(related_module, "find_related", failing)   # one by one
    monkeypatch.setattr(related_batch, "find_related", failing)    # and in a batch
    who = {"accused_institution": "区人民医院", "accused_name": "王小明"}
    ids = _file(job_app, session, [dict(who, text=ORTHO), dict(who, text="BOOM " + ORTHO), dict(who, text=HONGBAO)])
    assert route_pending(session, runtime.taxonomy, runtime.learned_model(session), related=runtime.related) == 3
    statuses, holder, _repeats, candidates = _outcome(session, ids)
    assert holder == [0, 1, 2] and all(s in ("to_accept", "triage") for s, _m in statuses)
    # the others' candidates are still found; BOOM's detection (its index keys with it) is rolled back, as
    # when routed alone, so it neither has candidates nor is found
    assert {(a, b) for a, b, _r, _s in candidates} == {(2, 0)}


def test_recusal_applies_to_every_case_of_the_batch(job_app, session, caplog):
    runtime = routing_runtime(job_app)
    named = make_user(session, "named", unit="health", display_name="王小明")
    reports = [dict(text=ORTHO, accused_name="王小明", accused_institution="区人民医院", anonymous=False,
                    reporter_name="张三", reporter_phone="13812345678"),
               dict(text=ORTHO + "请尽快处理！", accused_name="王小明", accused_institution="区人民医院",
                    anonymous=False, reporter_name="张三", reporter_phone="13812345678"),
               dict(text=HONGBAO + "是王小明干的。", accused_institution="市中心医院"),
               dict(text=PHARMACY, title="王 小明的问题", accused_institution="县医院")]
    ids = _file(job_app, session, reports)
    assert route_pending(session, runtime.taxonomy, runtime.learned_model(session), related=runtime.related) == 4
    assert "one by one" not in caplog.text
    session.expire_all()
    cases = [session.scalar(select(Case).where(Case.report_id == rid)) for rid in ids]
    assert cases[1].status == "merged"   # the repeat's leftover row is kept from them too
    for case in cases:
        assert session.scalar(select(Recusal).where(Recusal.case_id == case.id, Recusal.user_id == named.id))
        assert not can_see(session, named, case)
