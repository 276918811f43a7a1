"""A routing batch gives every outcome one-by-one routing gives (issues 16 and 18): the same reports routed
in one batch and one by one open the same cases (status, item, units, deadlines), with the same related
candidates (reasons and scores), repeats (重复件), walls, recusals and search hits. Both databases."""
import pytest
from sqlalchemy import select

from casework import related, related_batch, search
from casework.deadline_models import CaseDeadline
from casework.models import Case, CaseReport, CaseUnit
from casework.opening import route_pending, route_report
from casework.recusal_models import CaseExcludedUnit, CaseWall, Recusal
from casework.related_models import CaseRepeat, RelatedCandidate
from casework.runtime import routing_runtime
from tests.casework.test_related import BEDS, HONGBAO, MARKET, NUMBERS, ORTHO, PHARMACY
from tests.casework.test_routing_batch_related import _file, job_app  # noqa: F401  (the fixture)
from tests.support.staff import make_user

WALL = "区市场监管局副局长收受药企回扣，帮企业压下处罚，医院的人都知道。"


def _world(inst: str, names: tuple[str, str], phones: tuple[str, str]) -> list[dict]:
    """Reports that relate in every way (person, institution and item or area, near-duplicate text,
    reporter, repeats), one behind a wall; the first name is a staff member's. The texts are the same in
    every world (a name in a text would change its signature); every report names `inst`: two worlds
    never relate."""
    who = {"anonymous": False, "reporter_name": "张三", "accused_institution": inst}
    anon = {"accused_institution": inst}
    a, b = names
    return [dict(who, text=ORTHO, accused_name=a, reporter_phone=phones[0]),
            dict(who, text=ORTHO + "请尽快处理！", accused_name=a, reporter_phone=phones[0]),
            dict(who, text=HONGBAO, accused_name=a, reporter_phone=phones[1]),
            dict(who, text=PHARMACY, accused_name=b, reporter_phone=phones[0]),
            dict(who, text=NUMBERS, accused_name=b, reporter_phone=phones[1]),
            dict(anon, text=BEDS),
            dict(anon, text=MARKET, accused_name=f"{a}、{b}"),
            dict(who, text=WALL, accused_name=b, reporter_phone=phones[1]),
            dict(anon, text=ORTHO),
            dict(anon, text=HONGBAO + "请查处。", accused_name=a),
            dict(who, text=PHARMACY + "再次反映。", accused_name=b, reporter_phone=phones[0])]


def _refs(text: str, refs: dict[str, str]) -> str:
    for reference, position in refs.items():
        text = text.replace(reference, position)
    return text


def _outcome(session, ids: list[int], staff: int, terms: list[str]):
    """Every outcome of routing `ids`, in terms of the reports' positions (the world's staff member: "me")."""
    session.expire_all()
    cases = [session.scalar(select(Case).where(Case.report_id == rid)) for rid in ids]
    pos = {c.id: i for i, c in enumerate(cases)}
    refs = {c.report.reference: f"#{i}" for i, c in enumerate(cases)}
    opened = [(c.status, pos.get(c.merged_into_id), c.item_code, c.in_scope, c.area, c.lead_unit,
               sorted((u.unit_code, u.role) for u in session.scalars(select(CaseUnit).where(CaseUnit.case_id == c.id))),
               sorted((d.stage, d.unit_code, d.due_on, d.state) for d in
                      session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == c.id))),
               c.next_due_on, _refs(c.routing_reason, refs)) for c in cases]
    holder = [pos.get(session.scalar(select(CaseReport.case_id).where(CaseReport.report_id == rid))) for rid in ids]
    repeats = {ids.index(r.report_id): pos[r.case_id] for r in session.scalars(select(CaseRepeat))
               if r.report_id in ids}
    candidates = sorted((pos[c.case_id], pos[c.other_case_id], tuple(c.reasons), c.score)
                        for c in session.scalars(select(RelatedCandidate)) if c.case_id in pos)
    walls = sorted((pos[w.case_id], w.rule, w.coordinators_only) for w in session.scalars(select(CaseWall))
                   if w.case_id in pos)
    excluded = sorted((pos[e.case_id], e.unit_code) for e in session.scalars(select(CaseExcludedUnit))
                      if e.case_id in pos)
    recusals = sorted((pos[r.case_id], r.user_id == staff) for r in session.scalars(select(Recusal))
                      if r.case_id in pos)
    found = {}
    for term in terms:
        hits = search.hits(session, search.terms_of(term), ranked=False)
        found[term] = sorted(pos[cid] for cid in session.scalars(select(hits.c.case_id)) if cid in pos)
    return {"cases": opened, "holder": holder, "repeats": repeats, "candidates": candidates, "walls": walls,
            "excluded": excluded, "recusals": recusals, "search": found}


def same_as_one_by_one(flask_app, session, runtime, learned, batch: list[int], batch_staff, single_staff):
    """Route the second world (市中心医院, its staff member `single_staff`) one report at a time, and assert that
    every outcome of the routed `batch` (the first world, `batch_staff`) is the same; the outcome of the batch
    and the second world's report ids."""
    single = _file(flask_app, session, _world("市中心医院", ("赵大海", "钱多多"), ("13700001111", "13600002222")))
    for rid in single:
        route_report(session, runtime.taxonomy, rid, learned, runtime.related)
    got = _outcome(session, batch, batch_staff.id, ["王小明", "回扣", "区人民医院", "挂床"])
    want = _outcome(session, single, single_staff.id, ["赵大海", "回扣", "市中心医院", "挂床"])
    # the search terms differ by world: compare their hits in order
    got["search"], want["search"] = list(got["search"].values()), list(want["search"].values())
    for part in want:
        assert got[part] == want[part], part
    return got, single


@pytest.mark.parametrize("limits", [None, (2, 40)], ids=["limits", "small-limits"])
def test_a_batch_and_one_by_one_give_the_same_outcomes(job_app, session, caplog, monkeypatch, request, limits):  # noqa: F811
    """With small limits (PER_KEY 2, BAND_CANDIDATES 40: a look-up reads the newest 2 reports of a key, and
    as many band rows as a bit more than one report has) the rows of the reports a batch routes later
    must not take the places of those one-by-one routing finds."""
    if limits is not None:
        per_key, bands = limits
        monkeypatch.setattr(related, "PER_KEY", per_key)
        monkeypatch.setattr(related, "BAND_CANDIDATES", bands)
        monkeypatch.setattr(related_batch, "LIMITS", {"reporter": per_key, "person": per_key * 4, "band": bands,
                                                      "instarea": per_key})
        related._lookup_statement.cache_clear()   # the statements are built with the limits
        request.addfinalizer(related._lookup_statement.cache_clear)
    runtime = routing_runtime(job_app)
    tax, learned = runtime.taxonomy, runtime.learned_model(session)
    batch_staff = make_user(session, "named-a", unit="health", display_name="王小明")
    single_staff = make_user(session, "named-b", unit="health", display_name="赵大海")
    batch = _file(job_app, session, _world("区人民医院", ("王小明", "李建国"), ("13812345678", "13911112222")))
    assert route_pending(session, tax, learned, related=runtime.related) == len(batch)
    assert "one by one" not in caplog.text   # the batch path, not its fallback
    got, _single = same_as_one_by_one(job_app, session, runtime, learned, batch, batch_staff, single_staff)
    # and the worlds exercise what they should
    assert got["repeats"] and got["walls"] and any(me for _c, me in got["recusals"]) and all(got["search"])
    reasons = {r for _a, _b, rs, _s in got["candidates"] for r in rs}
    assert {"same_person", "same_reporter", "near_duplicate"} <= reasons
    assert reasons & {"same_institution_item", "same_institution_area"}
