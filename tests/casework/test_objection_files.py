"""Issue 19: an objection sent with a file from the follow-up page (a plain multipart form, no JavaScript): the file
is kept with the objection, shown to the reviewer in the review stage and downloadable by them, logged; staff who
may not see the case cannot download it."""
from sqlalchemy import select

from casework import workflow as casework
from core.audit import AuditEvent
from intake.feedback_models import ReportObjection
from intake.models import Attachment
from intake.receipts import format_receipt
from tests.casework.test_feedback_pages import RESULT, people, ready_to_close  # noqa: F401 (people is a fixture)
from tests.casework.test_pages import log_in
from tests.support.files import PDF
from tests.support.staff import make_user
from tests.support.web import hidden_fields, with_files

REASONS = "医院并未退还红包，办理结果与事实不符，附上收据照片，请复查。"


def test_an_objection_with_a_file_reaches_the_reviewer_who_can_download_it(app, client, session, ctx, people):
    case, receipt = ready_to_close(app, session, ctx, people)
    casework.assign(session, people["other_coordinator"], case, people["handler"])
    casework.close(session, people["handler"], case, result=RESULT)

    citizen = app.test_client()
    data = hidden_fields(citizen.get("/followup").get_data(as_text=True))
    assert citizen.post("/followup", data={**data, "receipt": format_receipt(receipt.receipt)}).status_code == 302
    status = citizen.get("/followup/status").get_data(as_text=True)
    form = status.split('data-testid="objection-form"')[1].split("</form>")[0]
    resp = citizen.post("/followup/objection", data=with_files({**hidden_fields(form), "text": REASONS},
                                                               [("收据.pdf", PDF)]),
                        content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    objection = session.scalar(select(ReportObjection))
    assert objection is not None and objection.text == REASONS and objection.message_id is not None
    file = session.scalar(select(Attachment).where(Attachment.message_id == objection.message_id))
    assert file is not None and file.report_id == receipt.report_id

    log_in(client, people["coordinator"])  # handled nothing on the case: the reviewer
    path = f"/cases/{receipt.reference}"
    page = client.get(path).get_data(as_text=True)
    assert 'data-testid="review-form"' in page
    files = page.split('data-testid="objection-files"')[1].split("</ul>")[0]
    link = f"{path}/attachments/{file.id}"
    assert link in files and "收据.pdf" in files
    download = client.get(link)
    assert download.status_code == 200 and download.data == PDF
    download.close()
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "attachment.downloaded",
                                                   AuditEvent.case_id == case.id)) is not None

    outsider = make_user(session, "kh", role="handler", unit="market")
    other = app.test_client()
    log_in(other, outsider)
    assert other.get(link).status_code == 404  # not their case: nothing to download
    assert other.get(path).status_code == 404
