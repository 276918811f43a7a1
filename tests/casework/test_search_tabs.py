"""A search's tabs come from the tab keys in each search entry (casework.search_models, kept by migration
0022's triggers): a status change, a new assisting unit or a transfer moves a case between a search's tabs at
once; every tab of a search lists exactly the cases of the plain tab that match; the walls (recusal, the
unit's leadership accused, coordinators only) hide a case from a search's rows and counts."""
import pytest
from sqlalchemy import delete

from casework import workflow
from casework.assignment import request_assistance, transfer
from casework.queue import QueueFilters, queue_page, tabs_for
from casework.recusal_models import CaseExcludedUnit, CaseWall
from tests.support.staff import INSURANCE_TEXT, Team, make_user, open_case

KICKBACK = "区人民医院骨科主任收受医药代表回扣，每用一套进口耗材返现两千元，科室里都知道。"
RED = "区中心医院外科护士长收了我家五百元红包才给安排床位，别的病人家属也都给了红包。"


@pytest.fixture
def team(session):
    return Team(session)


def search(session, user, q, tab):
    return queue_page(session, user, QueueFilters(tab=tab, q=q, sort="relevance"))


def refs(page):
    return sorted(row.reference for row in page.rows)


def test_a_status_change_and_a_new_assisting_unit_move_a_case_between_a_searchs_tabs(app, session, ctx, team):
    case, _ = open_case(app, session, ctx, title="红包", text=RED)
    ref = case.report.reference
    assert case.lead_unit == "health" and case.status == "to_accept"
    page = search(session, team.handler, "红包", "to_accept")
    assert refs(page) == [ref] and page.counts["to_accept"] == 1 and page.counts["in_progress"] == 0
    workflow.accept(session, team.handler, case)
    page = search(session, team.handler, "红包", "in_progress")
    assert refs(page) == [ref] and page.counts["in_progress"] == 1 and page.counts["to_accept"] == 0
    assert refs(search(session, team.handler, "红包", "to_accept")) == []
    assert search(session, team.coordinator, "红包", "in_progress").counts["in_progress"] == 1
    # market does not see it, then assists and finds it in its assisting tab (and nowhere else)
    assert search(session, team.market_handler, "红包", "assisting").counts["assisting"] == 0
    request_assistance(session, team.handler, case, "market")
    page = search(session, team.market_handler, "红包", "assisting")
    assert refs(page) == [ref] and page.counts["assisting"] == 1 and page.counts["in_progress"] == 0
    # the lead moves to market: its in-progress tab now, health's no more (health keeps no row: not found)
    transfer(session, team.head, case, "market", "职责调整")
    page = search(session, team.market_handler, "红包", "in_progress")
    assert refs(page) == [ref] and page.counts["in_progress"] == 1 and page.counts["assisting"] == 0
    assert search(session, team.handler, "红包", "in_progress").counts["in_progress"] == 0


@pytest.mark.parametrize("backend, walk", [("sqlite", False), pytest.param("postgresql", False, marks=pytest.mark.postgres),
                                           pytest.param("postgresql", True, marks=pytest.mark.postgres)])
def test_each_tab_of_a_search_is_the_plain_tab_less_what_does_not_match(app, session, ctx, team, backend, walk,
                                                                        monkeypatch):
    """The keys against the tab clauses they stand for: a word every case holds lists, in every tab, for
    every kind of user, exactly the plain tab's cases, and counts them alike. walk: on PostgreSQL, with the
    statistics read (ANALYZE) and the look-up made cheap, the common-word path (the tab's cases walked, each
    entry looked up) is taken wherever the statistics know the word and the keys."""
    # (no walk on SQLite: its FTS5 match stops at the cap by itself)
    a, _ = open_case(app, session, ctx, title="红包", text=RED)                          # health, to accept
    b, _ = open_case(app, session, ctx, title="红包", text=RED + "又一次。")              # health, in progress
    c, _ = open_case(app, session, ctx, title="红包挂床", text=INSURANCE_TEXT + "红包。")  # medinsure, health assists
    workflow.accept(session, team.handler, b)
    closed, _ = open_case(app, session, ctx, title="红包", text=RED + "第三次。")
    workflow.not_accept(session, team.handler, closed, "duplicate", result="经核查，问题已处理。")
    assert c.lead_unit == "medinsure" and "health" in c.assist_units and closed.status == "not_accepted"
    other, _ = open_case(app, session, ctx, title="回扣", text=KICKBACK)
    if walk:
        from sqlalchemy import text

        import casework.search as index
        session.execute(text("ANALYZE case_search"))
        monkeypatch.setattr(index, "PROBE_US", 0.0)
        monkeypatch.setattr(index, "_STATS", {})
        assert index.common(session, ["红包"], ["l:health:to_accept"], 1000)
    for user in (team.handler, team.head, team.market_handler, team.medinsure_handler, team.coordinator):
        for tab in tabs_for(user):
            plain = queue_page(session, user, QueueFilters(tab=tab, per_page=200))
            expected = sorted(r.reference for r in plain.rows if r.reference != other.report.reference)
            page = search(session, user, "红包", tab)
            assert refs(page) == expected, (user.username, tab)
            assert page.counts[tab] == len(expected) == page.total, (user.username, tab)


def test_walled_and_recused_cases_are_never_listed_or_counted(app, session, ctx, team):
    recused = make_user(session, "t-named", role="handler", unit="health", display_name="李德全")
    named, _ = open_case(app, session, ctx, title="红包", text=RED, accused_name="李德全")
    plain, _ = open_case(app, session, ctx, title="红包", text=RED + "再一次。")
    walled, _ = open_case(app, session, ctx, title="红包", text=RED + "第三次。")
    everyone = sorted(c.report.reference for c in (named, plain, walled))
    assert refs(search(session, team.handler, "红包", "to_accept")) == everyone
    page = search(session, recused, "红包", "to_accept")
    assert named.report.reference not in refs(page) and page.counts["to_accept"] == 2
    # the health unit's leadership accused: health sees none of it, in no tab
    session.add(CaseExcludedUnit(case_id=walled.id, unit_code="health", lift_reason=""))
    session.commit()
    for tab in tabs_for(team.handler):
        page = search(session, team.handler, "红包", tab)
        assert walled.report.reference not in refs(page), tab
    assert search(session, team.handler, "红包", "to_accept").counts["to_accept"] == 2
    # coordinators only: the task force's handler no longer counts it, the coordinator does
    session.execute(delete(CaseExcludedUnit))
    session.add(CaseWall(case_id=walled.id, rule="taskforce_leadership", coordinators_only=True, reason="",
                         lift_reason=""))
    session.commit()
    for tab in ("all", "to_accept"):
        assert search(session, team.tf_handler, "红包", tab).counts[tab] == 2, tab
        assert walled.report.reference not in refs(search(session, team.tf_handler, "红包", tab))
        assert search(session, team.coordinator, "红包", tab).counts[tab] == 3, tab


def test_the_tabs_not_shown_are_counted_up_to_their_own_cap(app, session, ctx, team, monkeypatch):
    import re

    import casework.queue as queue
    from tests.support.visibility import Viewer
    monkeypatch.setattr(queue, "OTHER_TAB_CAP", 1)
    shown, _ = open_case(app, session, ctx, title="红包", text=RED)
    for extra in ("又一次。", "再一次。"):
        case, _ = open_case(app, session, ctx, title="红包", text=RED + extra)
        workflow.accept(session, team.handler, case)
    page = search(session, team.handler, "红包", "to_accept")
    assert page.counts["to_accept"] == 1 and page.counts["in_progress"] == 2  # 2 = "more than 1"
    assert page.tab_caps["in_progress"] == 1 and "to_accept" not in page.tab_caps
    html = Viewer(app, team.handler).page("/queue?tab=to_accept&q=红包")
    counts = dict(re.findall(r'data-testid="tab-(\w+)">[^<]*<span class="count">([^<]+)</span>', html))
    assert counts["in_progress"] == "1+" and counts["to_accept"] == "1"
    page = search(session, team.handler, "红包", "in_progress")  # shown, it is counted up to COUNT_CAP
    assert page.counts["in_progress"] == 2 and page.total == 2 and len(page.rows) == 2
