"""Staff accounts in tests: make a user (optionally with a confirmed TOTP secret) and log in through
the real /login form, CSRF token and all."""
from __future__ import annotations

import time

import pyotp

from core.accounts import User, create_user
from intake.identity import IdentityCipher
from tests.support.web import hidden_fields

PASSWORD = "correct horse battery staple"


def make_user(session, username: str = "handler1", *, role: str = "handler", unit: str = "health",
              password: str = PASSWORD, email: str | None = None, display_name: str | None = None,
              totp_secret: str | None = None, active: bool = True, commit: bool = True) -> User:
    """A staff account. `totp_secret` (base32, e.g. pyotp.random_base32()) gives it a confirmed second
    factor, encrypted with the test apps' IDENTITY_KEY. Every case role needs a real name: by default
    "测试" and the user name (a name no test report contains)."""
    if display_name is None:
        display_name = f"测试{username}"
    user = create_user(session, username=username, unit=unit, role=role, email=email or f"{username}@xlt.gov.cn",
                       password=password, display_name=display_name)
    if totp_secret is not None:
        from tests.conftest import IDENTITY_KEY  # the key every test app is made with
        user.totp_secret = IdentityCipher(IDENTITY_KEY).encrypt_json({"secret": totp_secret})
        user.totp_confirmed = True
    user.active = active
    if commit:
        session.commit()
    return user


def otp_code(secret: str, steps: int = 0) -> str:
    """The code of the current time step, or of a neighbouring one (steps=±1 stays valid)."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(time.time()) + steps)


def login(client, username: str, password: str = PASSWORD, otp: str | None = None, next: str | None = None):
    """Post the login form as a browser would; returns the response (not following redirects)."""
    page = client.get("/login").get_data(as_text=True)
    data = hidden_fields(page)
    data.update({"username": username, "password": password})
    if otp is not None:
        data["otp"] = otp
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data)


def logout(client):
    page = client.get("/account/totp").get_data(as_text=True)  # every staff page has the logout form
    return client.post("/logout", data={"csrf_token": hidden_fields(page).get("csrf_token", "")})


# --- casework tests: staff of several units, made on first use, and reports filed into cases ---------

HONGBAO_TEXT = "区人民医院外科医生张某收受患者红包五千元，手术前暗示家属不给红包就往后排。"  # 6.4: health leads alone
INSURANCE_TEXT = ("兴隆台区某医院长期挂床住院，病人白天回家，晚上也不在病房，医院照样记住院天数向医保报销，"
                  "还串换药品，把自费药换成医保目录内的药结算。")  # 4.x: medinsure leads, health assists

TEAM = {  # attribute: (unit, role)
    "head": ("health", "unit_head"), "handler": ("health", "handler"), "handler2": ("health", "handler"),
    "market_handler": ("market", "handler"), "market_head": ("market", "unit_head"),
    "medinsure_head": ("medinsure", "unit_head"), "medinsure_handler": ("medinsure", "handler"),
    "clerk": ("health", "clerk"), "coordinator": ("taskforce", "coordinator"), "admin": ("taskforce", "admin"),
    "tf_handler": ("taskforce", "handler"),
}


class Team:
    """`team.head`, `team.handler`, ... (see TEAM): each account is created when first used."""

    def __init__(self, session):
        self._session, self._made = session, {}

    def __getattr__(self, name):
        if name.startswith("_") or name not in TEAM:
            raise AttributeError(name)
        if name not in self._made:
            unit, role = TEAM[name]
            self._made[name] = make_user(self._session, f"t-{name}", role=role, unit=unit,
                                         display_name=f"测试{name}")
        return self._made[name]


def open_case(app, session, ctx, **report):
    """File a report (inside an app context, so routing opens its case); returns (case, receipt)."""
    from sqlalchemy import select

    from casework.models import Case
    from tests.support.factories import file_report
    values = {"title": "收受红包", "text": HONGBAO_TEXT}
    values.update(report)
    with app.app_context():
        receipt = file_report(session, ctx, **values)
    case = session.scalar(select(Case).where(Case.report_id == receipt.report_id))
    assert case is not None, "routing did not open a case"
    return case, receipt
