"""Related reports on the pages: the case page lists them with their reasons in words (no codes) and
one-click link and merge (audited as today's link and merge); someone who may not see the other case
is not told of it; the queue shows a repeat's badge and the related line; the dashboard's 多人反映."""
import re

import pyotp
import pytest
from sqlalchemy import select

from casework.models import Case, CaseLink
from core.audit import AuditEvent
from intake.models import Report
from tests.support.factories import file_report
from tests.support.staff import login, make_user, otp_code
from tests.support.web import hidden_fields

ORTHO = "区人民医院骨科主任每用一套进口耗材就从医药代表那里拿两千元回扣，科室里的护士和医生都知道这件事，病人多花了很多钱。"
HONGBAO = "外科医生收受患者红包五千元，手术前暗示家属不给红包就往后排，病房里的病人都知道。"
MARKET = "医药代表以讲课费名义给医生回扣，每月按处方量结算推广费，涉及多家医药公司和药店。"
SECRET = pyotp.random_base32()


def submit(app, session, ctx, **kw):
    with app.app_context():
        return file_report(session, ctx, **kw)


def case_of(session, reference):
    session.expire_all()
    return session.scalar(select(Case).join(Report, Report.id == Case.report_id).where(Report.reference == reference))


def page(client, reference):
    response = client.get(f"/cases/{reference}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def related_section(html):
    match = re.search(r'<section class="panel related".*?</section>', html, re.S)
    return match.group(0) if match else ""


@pytest.fixture
def staff(session):
    return {"market": make_user(session, "kh", role="handler", unit="market"),
            "coordinator": make_user(session, "coord", role="coordinator", unit="taskforce", totp_secret=SECRET)}


def log_in(client, user):
    response = login(client, user.username, otp=otp_code(SECRET) if user.needs_totp else None)
    assert response.status_code == 302


def post(client, reference, action, **data):
    token = hidden_fields(client.get(f"/cases/{reference}").get_data(as_text=True))["csrf_token"]
    return client.post(f"/cases/{reference}/{action}", data={"csrf_token": token, **data})


def test_the_case_page_lists_related_reports_with_reasons_and_links_them(app, client, session, ctx, staff):
    first = submit(app, session, ctx, text=ORTHO, accused_name="王小明")
    copy = submit(app, session, ctx, text=ORTHO + "补充一句。", accused_name="王 小明")
    log_in(client, staff["coordinator"])
    html = related_section(page(client, first.reference))
    assert copy.reference in html
    assert "同一被反映人" in html and "文字几乎相同" in html
    assert "same_person" not in html and "near_duplicate" not in html
    response = post(client, first.reference, "link", other=copy.reference)
    assert response.status_code == 302
    assert session.scalar(select(CaseLink.id)) is not None
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "case.linked")) is not None
    assert "已关联" in related_section(page(client, first.reference))


def test_merge_into_this_case_from_the_related_list(app, client, session, ctx, staff):
    first = submit(app, session, ctx, text=ORTHO)
    copy = submit(app, session, ctx, text=ORTHO + "补充一句。")
    log_in(client, staff["coordinator"])
    assert post(client, first.reference, "merge_here", other=copy.reference).status_code == 302
    assert case_of(session, copy.reference).status == "merged"
    assert case_of(session, copy.reference).merged_into_id == case_of(session, first.reference).id
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.merged",
                                                       AuditEvent.case_id == case_of(session, copy.reference).id))
    assert event.detail["into_case_id"] == case_of(session, first.reference).id
    html = page(client, first.reference)
    assert copy.reference in html  # its report is shown on the case now
    assert "未发现相关线索" in related_section(html)


def test_a_viewer_is_not_told_of_a_related_case_they_may_not_see(app, client, session, ctx, staff):
    health = submit(app, session, ctx, text=HONGBAO, accused_name="赵四海")
    market = submit(app, session, ctx, text=MARKET, accused_name="赵四海")
    log_in(client, staff["market"])
    html = related_section(page(client, market.reference))
    assert health.reference not in html and "未发现相关线索" in html
    coordinator = app.test_client()
    log_in(coordinator, staff["coordinator"])
    assert health.reference in related_section(page(coordinator, market.reference))


def test_a_repeat_shows_on_the_case_and_in_the_queue(app, client, session, ctx, staff):
    first = submit(app, session, ctx, text=ORTHO, anonymous=False, reporter_name="张三", reporter_phone="13812345678")
    repeat = submit(app, session, ctx, text=ORTHO + "请尽快处理！", anonymous=False, reporter_name="张三",
                    reporter_phone="13812345678")
    log_in(client, staff["coordinator"])
    html = page(client, first.reference)
    assert "重复件" in html and repeat.reference in html  # the repeat's report is on the case
    assert "登记重复件" in html  # the timeline
    queue = client.get("/queue?tab=all").get_data(as_text=True)
    assert 'data-testid="queue-repeats"' in queue and "重复件：1" in queue.replace(" ", "")
    other = submit(app, session, ctx, text=ORTHO + "另有补充。")
    queue = client.get("/queue?tab=all").get_data(as_text=True)
    row = re.search(rf'{other.reference}</a></td>.*?</tr>', queue, re.S).group(0)
    assert first.reference in row and "文字几乎相同" in row


def test_the_dashboard_lists_persons_reported_by_many(app, client, session, ctx, staff):
    texts = [ORTHO, HONGBAO, MARKET]
    for i, phone in enumerate(["13800000001", "13800000002", "13800000003"]):
        submit(app, session, ctx, text=texts[i], accused_name="赵四海", anonymous=False, reporter_name="张三",
               reporter_phone=phone)
    log_in(client, staff["coordinator"])
    html = client.get("/dashboard").get_data(as_text=True)
    section = re.search(r'data-testid="many-reporters".*?</section>', html, re.S).group(0)
    assert "多人反映" in section and "赵四海" in section and section.count("/cases/XLT-") == 3


def test_a_repeat_is_new_in_the_queue_until_the_handler_opens_the_case(app, client, session, ctx, staff):
    first = submit(app, session, ctx, text=ORTHO, anonymous=False, reporter_name="张三", reporter_phone="13812345678")
    log_in(client, staff["coordinator"])
    page(client, first.reference)  # seen before the repeat arrives
    repeat = submit(app, session, ctx, text=ORTHO + "请尽快处理！", anonymous=False, reporter_name="张三",
                    reporter_phone="13812345678")
    queue = client.get("/queue?tab=all").get_data(as_text=True)
    row = re.search(rf'{first.reference}</a>.*?</tr>', queue, re.S).group(0)
    assert 'data-testid="queue-repeats-new"' in row and "您上次查看后新到 1 件" in row
    html = related_section(page(client, first.reference))  # this view still shows it as new ...
    item = re.search(r'<li data-testid="repeat-item">.*?</li>', html, re.S).group(0)
    assert repeat.reference in item and 'data-testid="repeat-new"' in item
    queue = client.get("/queue?tab=all").get_data(as_text=True)  # ... and after it, it is not new any more
    row = re.search(rf'{first.reference}</a>.*?</tr>', queue, re.S).group(0)
    assert 'data-testid="queue-repeats"' in row and 'data-testid="queue-repeats-new"' not in row
    assert 'data-testid="repeat-new"' not in related_section(page(client, first.reference))
    other = app.test_client()  # another person who never opened the case still sees it as new
    other_coordinator = make_user(session, "coord2", role="coordinator", unit="taskforce", totp_secret=SECRET)
    log_in(other, other_coordinator)
    queue = other.get("/queue?tab=all").get_data(as_text=True)
    assert 'data-testid="queue-repeats-new"' in re.search(rf'{first.reference}</a>.*?</tr>', queue, re.S).group(0)
