"""Issue 17, point 7: a reporter's message on a closed case is news for its handler: a badge on the queue (until
the handler opens the case) and a line in the case's timeline saying it came after closing."""
from sqlalchemy import select

from casework import workflow as casework
from intake.followup import add_reporter_message
from intake.models import Report
from tests.casework.test_pages import log_in, staff  # noqa: F401 (staff is a fixture)
from tests.support.staff import open_case

RESULT = "经核查，反映的问题不属实。"


def test_a_message_on_a_closed_case_is_a_badge_on_the_queue_and_a_line_in_the_timeline(app, client, session, ctx,
                                                                                          staff):
    handler = staff["health_handler"]
    case, receipt = open_case(app, session, ctx)
    casework.accept(session, handler, case)
    casework.assign(session, staff["health_head"], case, handler)
    casework.record_findings(session, handler, case, "unfounded")
    casework.close(session, handler, case, result=RESULT)
    log_in(client, handler)
    queue = client.get("/queue?tab=closed").get_data(as_text=True)
    assert receipt.reference in queue and 'data-testid="new-message"' not in queue

    report = session.scalar(select(Report).where(Report.id == receipt.report_id))
    add_reporter_message(session, ctx, report, "结果我不认可，医院还在收红包。")
    queue = client.get("/queue?tab=closed").get_data(as_text=True)
    row = queue.split(receipt.reference, 1)[1].split("</tr>")[0]
    assert 'data-testid="new-message"' in row and "举报人新留言" in row

    page = client.get(f"/cases/{receipt.reference}").get_data(as_text=True)
    timeline = page.split('data-testid="timeline"')[1].split("</ol>")[0]
    assert 'data-testid="timeline-reporter-message"' in timeline and "案件办结之后" in timeline
    assert timeline.index("销号") < timeline.index("举报人留言")  # in order of time
    # opened: no longer new; another handler of the unit still sees it as new
    assert 'data-testid="new-message"' not in client.get("/queue?tab=closed").get_data(as_text=True)
    head = app.test_client()
    log_in(head, staff["health_head"])
    assert 'data-testid="new-message"' in head.get("/queue?tab=closed").get_data(as_text=True)
