"""The hostile corpus's mail (tests/support/hostile.py) through a real dovecot mailbox: broken encodings,
huge and numerous headers, script in HTML bodies, traversal in attachment names, deep MIME nesting. Each
message is taken or quarantined, never a crash, and nothing comes back executable on the staff pages."""
from sqlalchemy import func, select

from intake.mail_models import MailMessage
from intake.models import Report
from tests.support import hostile
from tests.intake.test_hostile_inputs import staff_pages_are_safe


def test_hostile_mail_is_taken_or_quarantined_never_a_crash(app_factory, dovecot, mail_user, session):
    app = app_factory(env={"MAILBOX_HEALTH": mail_user.url + "?since=2000-01-01", "MAIL_FROM": "jubao@xlt.gov.cn"})
    for _label, raw in hostile.mails():
        dovecot.append(mail_user.name, raw)
    from intake.mail_cli import fetch_all
    with app.app_context():
        results = fetch_all(app)
    assert all(not r.error for r in results), [r.error for r in results]
    statuses = dict(session.execute(select(MailMessage.status, func.count()).group_by(MailMessage.status)).all())
    assert sum(statuses.values()) == len(hostile.mails()) and set(statuses) <= {"report", "quarantined", "skipped"}
    references = list(session.scalars(select(Report.reference).where(Report.channel == "email")))
    assert references
    client = app.test_client()
    staff_pages_are_safe(app, client, session, references)
