"""The queue's pages: every sort, both directions, a channel filter and paging give the tab's cases in the
order asked, each once, whatever page (the page's ids are picked first, then their rows are joined)."""
from casework.queue import QueueFilters, queue_page
from tests.support.staff import HONGBAO_TEXT, Team, open_case

CHANNELS = ["web", "letter", "phone", "web", "app", "letter", "web", "phone", "letter", "web", "app", "web"]


def test_sorts_directions_filters_and_pages(app, session, ctx):
    team = Team(session)
    cases = [open_case(app, session, ctx, title=f"第{i}件红包", channel=channel,
                       text=HONGBAO_TEXT + "第" + str(i) + "次。")[0] for i, channel in enumerate(CHANNELS)]
    refs = {c.id: c.report.reference for c in cases}
    channel = {c.id: c.report.channel for c in cases}
    user = team.coordinator

    def listed(**kw):
        out, page = [], 1
        while True:
            result = queue_page(session, user, QueueFilters(tab="all", per_page=10, page=page, **kw))
            out += [row.reference for row in result.rows]
            if page >= result.pages:
                return out, result.total
            page += 1

    by_reference = sorted(refs.values())
    assert listed(sort="reference", descending=False) == (by_reference, len(cases))
    assert listed(sort="reference", descending=True) == (by_reference[::-1], len(cases))
    newest = [refs[c.id] for c in sorted(cases, key=lambda c: (c.received_at, c.id), reverse=True)]
    assert listed(sort="received") == (newest, len(cases))
    assert listed(sort="received", descending=False) == (newest[::-1], len(cases))
    letters = [r for r in newest if channel[next(i for i, x in refs.items() if x == r)] == "letter"]
    assert len(letters) == 3 and listed(channel="letter") == (letters, 3)
    for sort in ("due", "status", "item", "updated"):
        for descending in (True, False):
            shown, total = listed(sort=sort, descending=descending)
            assert sorted(shown) == by_reference and total == len(cases), (sort, descending)
