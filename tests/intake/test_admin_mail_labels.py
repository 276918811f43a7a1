"""The admin's mail page names each mail state with the registered label (core/labels.py, kind "mail"), no code."""
import pyotp

from core.labels import label
from intake.mail_models import MailMessage
from tests.support.staff import login, make_user, otp_code

SECRET = pyotp.random_base32()


def test_the_mail_counts_use_the_mail_labels(app, client, session):
    for uid, status in enumerate(("report", "reply", "skipped", "unmatched", "dismissed")):
        session.add(MailMessage(mailbox="INBOX", uidvalidity=1, uid=uid, message_key=f"<m{uid}@x>", status=status))
    session.commit()
    make_user(session, "admin1", role="admin", unit="taskforce", totp_secret=SECRET)
    assert login(client, "admin1", otp=otp_code(SECRET)).status_code == 302
    page = client.get("/admin/mail").get_data(as_text=True)
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        expected = [label(s, "mail") for s in ("report", "reply", "skipped", "unmatched", "dismissed")]
    assert "未能匹配的回复" in expected
    for text in expected:
        assert f"{text} 1" in page, text
    assert "skipped 1" not in page and "unmatched 1" not in page
