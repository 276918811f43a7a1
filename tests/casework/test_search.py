"""Search over cases (casework.search through the queue): two-character words, 繁體, snippets, ranking,
access and recusal, the index kept in step with edits and merges, the audit, the reference jump and the
count per tab."""
import re

import pytest
from sqlalchemy import select

from casework import workflow as casework
from casework.queue import QueueFilters, queue_page
from casework.search import reference_in, terms_of
from core.audit import AuditEvent
from intake.models import Report
from tests.support.staff import Team, make_user, open_case
from tests.support.visibility import Viewer

KICKBACK = "区人民医院骨科主任收受医药代表回扣，每用一套进口耗材返现两千元，科室里都知道。"
RED = "区中心医院外科护士长收了我家五百元红包才给安排床位，别的病人家属也都给了红包。"
FEES = "兴隆台区某诊所乱收费，一次普通检查收八百元，还不给开发票，好几个病人都被这样收过。"


@pytest.fixture
def team(session):
    return Team(session)


def search(session, user, q, tab="all", sort="relevance"):
    return queue_page(session, user, QueueFilters(tab=tab, q=q, sort=sort))


def refs(page):
    return [row.reference for row in page.rows]


def test_terms_and_references_are_normalised():
    assert terms_of("醫院  x 張某") == ["医院", "张某"]  # one character is no term
    assert terms_of("a") == []
    for typed in ("XLT-2026-000123", "xlt-2026-000123", "xlt2026000123", " XLT 2026 000123 ", "ＸＬＴ－２０２６－０００１２３"):
        assert reference_in(typed) == "XLT-2026-000123", typed
    assert reference_in("XLT-2026-00012") is None and reference_in("医院") is None


def test_a_two_character_word_and_traditional_characters_find_the_case_with_a_snippet(app, session, ctx, team):
    red, _ = open_case(app, session, ctx, title="红包", text=RED)
    kick, _ = open_case(app, session, ctx, title="回扣", text=KICKBACK)
    page = search(session, team.coordinator, "红包")
    assert refs(page) == [red.report.reference]
    assert page.counts["all"] == 1
    assert "<mark>红包</mark>" in str(page.snippets[red.id])
    # 繁體 in the query finds 简体 in the text; the snippet marks the original characters
    page = search(session, team.coordinator, "醫藥代表")
    assert refs(page) == [kick.report.reference]
    assert "<mark>医药代表</mark>" in str(page.snippets[kick.id])
    # and 简体 in the query finds 繁體 in the text
    trad, _ = open_case(app, session, ctx, title="亂收費", text="診所亂收費，檢查費八百元，醫院不開發票，病人都知道這件事情。")
    page = search(session, team.coordinator, "乱收费")
    assert refs(page) == [trad.report.reference]
    assert "<mark>亂收費</mark>" in str(page.snippets[trad.id])
    # every word must match; a word nowhere is no match
    assert refs(search(session, team.coordinator, "红包 床位")) == [red.report.reference]
    assert refs(search(session, team.coordinator, "红包 耗材")) == []


def test_the_snippet_is_escaped(app, session, ctx, team):
    case, _ = open_case(app, session, ctx, title="红包", text=RED + "<script>alert(1)</script>红包")
    snippet = str(search(session, team.coordinator, "alert").snippets[case.id])
    assert "<script>" not in snippet and "&lt;script&gt;<mark>alert</mark>" in snippet


def test_results_are_ranked_title_before_text(app, session, ctx, team):
    in_text, _ = open_case(app, session, ctx, title="床位", text=RED)             # 红包 in the text only
    in_title, _ = open_case(app, session, ctx, title="红包", text=FEES + "另外也收红包。")  # in the title
    page = search(session, team.coordinator, "红包")
    assert refs(page) == [in_title.report.reference, in_text.report.reference]
    # the chosen order wins over the rank
    by_received = search(session, team.coordinator, "红包", sort="received")
    assert refs(by_received) == [in_title.report.reference, in_text.report.reference]
    oldest = queue_page(session, team.coordinator, QueueFilters(tab="all", q="红包", sort="received",
                                                                descending=False))
    assert refs(oldest) == [in_text.report.reference, in_title.report.reference]


def test_search_keeps_to_the_users_cases_and_recusal(app, session, ctx, team):
    health, _ = open_case(app, session, ctx, title="红包", text=RED)  # health leads
    assert health.lead_unit == "health"
    assert refs(search(session, team.handler, "红包")) == [health.report.reference]
    assert refs(search(session, team.market_handler, "红包")) == []  # another unit's case is not found
    assert search(session, team.market_handler, "红包").counts == dict.fromkeys(
        search(session, team.market_handler, "红包").counts, 0)
    recused = make_user(session, "t-named", role="handler", unit="health", display_name="李德全")
    named, _ = open_case(app, session, ctx, title="红包", text=RED, accused_name="李德全")
    assert sorted(refs(search(session, team.handler, "红包"))) == [health.report.reference, named.report.reference]
    assert refs(search(session, recused, "红包")) == [health.report.reference]
    assert refs(search(session, recused, "李德全")) == []
    assert search(session, recused, "红包").counts["to_accept"] == 1


def test_the_index_follows_an_edit_and_a_merge(app, session, ctx, team):
    case, _ = open_case(app, session, ctx, title="红包", text=RED)
    report = session.get(Report, case.report_id)
    report.text = "医生收受回扣，按处方量结算。"
    session.commit()
    assert refs(search(session, team.coordinator, "床位")) == []
    assert refs(search(session, team.coordinator, "处方")) == [case.report.reference]
    report.accused_institution = "兴隆台区中心医院"
    session.commit()
    assert refs(search(session, team.coordinator, "中心医院")) == [case.report.reference]

    source, _ = open_case(app, session, ctx, title="乱收费", text=FEES)
    casework.merge(session, team.coordinator, source, case)
    # the moved report's words find the case it joined, not the merged one
    assert refs(search(session, team.coordinator, "诊所")) == [case.report.reference]
    # and its reference, typed as text, too
    assert refs(search(session, team.coordinator, source.report.reference[-6:])) == [case.report.reference]


def test_one_character_is_not_searched(app, session, ctx, team):
    open_case(app, session, ctx, title="红包", text=RED)
    page = search(session, team.coordinator, "红")
    assert page.too_short and page.rows == [] and page.total == 0


def test_search_over_http_counts_each_tab_and_is_audited(app, session, ctx, team):
    red, _ = open_case(app, session, ctx, title="红包", text=RED)
    other, _ = open_case(app, session, ctx, title="红包", text=RED + "又一次。")
    open_case(app, session, ctx, title="回扣", text=KICKBACK)
    casework.accept(session, team.handler, other)  # in_progress now
    viewer = Viewer(app, team.handler)
    page = viewer.page("/queue?tab=to_accept&q=紅包")
    listed = re.findall(r'<td class="ref"><a href="[^"]*">([^<]+)</a>', page)  # (the related line may name others)
    assert listed == [red.report.reference] and other.report.reference != red.report.reference
    assert 'data-testid="tab-to_accept"' in page
    counts = dict(re.findall(r'data-testid="tab-(\w+)">[^<]*<span class="count">(\d+)</span>', page))
    assert counts["to_accept"] == "1" and counts["in_progress"] == "1" and counts["closed"] == "0"
    assert "q=%E7%B4%85%E5%8C%85" in page  # the tabs keep the search
    assert "<mark>红包</mark>" in page
    session.expire_all()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "queue.listed")
                            .order_by(AuditEvent.seq.desc())).first()
    assert event.detail["q"] == "紅包" and event.detail["matched"] == 1 and event.actor_id == team.handler.id


def test_a_reference_jumps_to_the_case_from_any_tab_if_the_user_may_see_it(app, session, ctx, team):
    health, _ = open_case(app, session, ctx, title="红包", text=RED)
    reference = health.report.reference
    viewer = Viewer(app, team.handler)
    for typed in (reference, reference.lower(), reference.replace("-", "")):
        resp = viewer.client.get("/queue", query_string={"tab": "closed", "q": typed})
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cases/{reference}"), typed
    outsider = Viewer(app, team.market_handler)
    hidden = outsider.client.get("/queue", query_string={"tab": "all", "q": reference}, follow_redirects=True)
    missing = outsider.client.get("/queue", query_string={"tab": "all", "q": "XLT-2026-999999"},
                                  follow_redirects=True)
    hidden_text, missing_text = (re.sub(r'name="csrf_token" value="[^"]*"', "", r.get_data(as_text=True))
                                 for r in (hidden, missing))
    assert "没有您可查看的编号为 XLT-2026-999999 的案件。" in missing_text
    assert f"/cases/{reference}" not in hidden_text
    assert hidden_text.replace(reference, "X") == missing_text.replace("XLT-2026-999999", "X")
    session.expire_all()
    jumps = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "queue.listed",
                                                          AuditEvent.actor_id == team.market_handler.id)))
    jumps = [e.detail for e in jumps if "reference" in e.detail]
    assert [(d["reference"], d["matched"]) for d in jumps] == [(reference, 0), ("XLT-2026-999999", 0)]


def test_a_common_word_is_counted_up_to_the_cap_and_listed_newest_first(app, session, ctx, team, monkeypatch):
    import casework.queue as queue
    monkeypatch.setattr(queue, "COUNT_CAP", 2)
    cases = [open_case(app, session, ctx, title="红包" if i == 0 else "床位", text=RED)[0] for i in range(3)]
    page = search(session, team.head, "红包", tab="to_accept")
    assert page.counts["to_accept"] == 3 and page.total == 3 and page.count_cap == 2  # 3 = "more than 2"
    # beyond the cap, newest first (ranked, the one with 红包 in its title, the oldest, would come first)
    assert refs(page) == [c.report.reference for c in reversed(cases)]
    html = Viewer(app, team.head).page("/queue?tab=to_accept&q=红包")
    assert '<span class="count">2+</span>' in html and "超过 2 件" in html
    monkeypatch.setattr(queue, "COUNT_CAP", 1000)
    assert refs(search(session, team.head, "红包", tab="to_accept"))[0] == cases[0].report.reference
