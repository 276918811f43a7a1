"""Public forms. Flask-WTF gives CSRF; content rules live in intake.validate (one set of rules
for every channel), whose errors are attached to these fields."""
from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from intake.filetypes import ACCEPT_ATTR


class ReportForm(FlaskForm):
    text = TextAreaField(_l("What happened"))
    title = StringField(_l("Title (optional)"))
    occurred = StringField(_l("When and where (optional)"))
    accused_name = StringField(_l("Name"))
    accused_institution = StringField(_l("Institution"))
    accused_position = StringField(_l("Position"))
    identity = RadioField(_l("Anonymous or real name"), default="anonymous",
                          choices=[SelectChoice("anonymous", _l("Anonymous")), SelectChoice("realname", _l("Real name"))])
    reporter_name = StringField(_l("Your name"))
    reporter_phone = StringField(_l("Your phone"))
    reporter_email = StringField(_l("Your email (optional)"))
    own_conduct = BooleanField(_l("I am reporting my own conduct (voluntary disclosure, 主动说明)"))
    files = MultipleFileField(_l("Evidence files (optional)"), render_kw={"accept": ACCEPT_ATTR})
    consent = BooleanField(_l("I have read the confidentiality notice and the warning against false accusation"))
    website = StringField(_l("Leave this field empty"))  # honeypot: hidden from people by CSS
    submission_token = HiddenField()

    def ensure_token(self) -> None:
        if not self.submission_token.data:
            self.submission_token.data = secrets.token_urlsafe(32)


class ReceiptForm(FlaskForm):
    receipt = StringField(_l("Receipt code"), render_kw={"autocomplete": "off", "inputmode": "numeric",
                                                          "placeholder": "0000-0000-0000-0000"})


class ReplyForm(FlaskForm):
    text = TextAreaField(_l("Your reply"))
    files = MultipleFileField(_l("Add files (optional)"), render_kw={"accept": ACCEPT_ATTR})


class ConfirmForm(FlaskForm):
    """A button that only carries the CSRF token."""


class RatingForm(FlaskForm):
    rating = RadioField(_l("Your rating"), choices=[SelectChoice("satisfied", _l("Satisfied (满意)")),
                                                    SelectChoice("basically_satisfied", _l("Basically satisfied (基本满意)")),
                                                    SelectChoice("unsatisfied", _l("Unsatisfied (不满意)"))])
    comment = TextAreaField(_l("Comment (optional)"))


class ObjectionForm(FlaskForm):
    text = TextAreaField(_l("Why you object to the result"))
    files = MultipleFileField(_l("Add files (optional)"), render_kw={"accept": ACCEPT_ATTR})
