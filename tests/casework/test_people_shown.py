"""Two staff with the same name are told apart wherever a person is chosen or shown (issue 17, point 5):
name, unit and user name in the assign selects, the queue's handler column, the case page and its
timeline, and the queue's .xlsx."""
import re

import pytest

from casework import workflow as casework
from core.labels import person_label
from tests.support.staff import Team, make_user, open_case
from tests.support.visibility import Viewer, xlsx_text

RED = "区中心医院外科护士长收了我家五百元红包才给安排床位，别的病人家属也都给了红包。"


@pytest.fixture
def team(session):
    return Team(session)


def test_the_same_name_twice_is_told_apart(app, session, ctx, team):
    one = make_user(session, "wang-a", role="handler", unit="health", display_name="王医政")
    two = make_user(session, "wang-b", role="handler", unit="health", display_name="王医政")
    with app.test_request_context():
        assert person_label(one) == "王医政 (兴隆台区卫生健康局 · wang-a)" != person_label(two)
    case, _ = open_case(app, session, ctx, title="红包", text=RED)
    head = Viewer(app, team.head)
    queue = head.page("/queue?tab=to_accept")
    options = re.findall(r"<option value=\"\d+\"[^>]*>([^<]*)</option>", queue)
    assert "王医政 (兴隆台区卫生健康局 · wang-a)" in options and "王医政 (兴隆台区卫生健康局 · wang-b)" in options
    casework.assign(session, team.head, case, two)
    queue = head.page("/queue?tab=to_accept")
    assert "<td>王医政 (兴隆台区卫生健康局 · wang-b)</td>" in queue
    page = head.page(f"/cases/{case.report.reference}")
    assert 'data-testid="case-handler">王医政 (兴隆台区卫生健康局 · wang-b)</dd>' in page
    assert "王医政 (兴隆台区卫生健康局 · wang-a)</option>" in page  # the case page's assign select
    casework.accept(session, two, case)
    page = head.page(f"/cases/{case.report.reference}")
    timeline = page[page.index('data-testid="timeline"'):]
    assert "王医政 (兴隆台区卫生健康局 · wang-b) · 承办人" in timeline
    data = head.client.get("/queue.xlsx?tab=in_progress").data
    assert "王医政 (兴隆台区卫生健康局 · wang-b)" in xlsx_text(data)
