"""/admin/users: admins only; create, edit, deactivate and reactivate, reset TOTP, unlock; every
change audited, and changes that must end a user's sessions do."""
from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from core.accounts import User, check_password
from core.audit import AuditEvent
from core.db import utcnow
from tests.support.staff import PASSWORD, login, make_user, otp_code
from tests.support.web import hidden_fields, text_of


def events(session, action: str) -> list[AuditEvent]:
    session.rollback()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def fresh(session, username: str) -> User | None:
    session.rollback()
    session.expire_all()  # rollback alone keeps objects loaded before the last commit as they were
    return session.scalar(select(User).where(User.username == username))


@pytest.fixture
def admin_client(app, session):
    secret = pyotp.random_base32()
    make_user(session, "root", role="admin", unit="taskforce", display_name="管理员", totp_secret=secret)
    client = app.test_client()
    assert login(client, "root", otp=otp_code(secret)).status_code == 302
    return client


def token(client, path: str = "/admin/users") -> str:
    return hidden_fields(client.get(path).get_data(as_text=True))["csrf_token"]


def new_user_data(client, **values) -> dict:
    data = {"csrf_token": token(client, "/admin/users/new"), "username": "zhang", "display_name": "张伟",
            "unit": "market", "role": "handler", "email": "zhang@xlt.gov.cn", "password": "a long enough password"}
    data.update(values)
    return data


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/admin/users")


@pytest.mark.parametrize("role", ["clerk", "handler", "unit_head", "coordinator"])
def test_only_admins_reach_user_administration(app, session, role):
    secret = pyotp.random_base32()
    make_user(session, "someone", role=role, totp_secret=secret if role == "coordinator" else None)
    client = app.test_client()
    login(client, "someone", otp=otp_code(secret) if role == "coordinator" else None)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/new").status_code == 403
    me = fresh(session, "someone")
    data = {"csrf_token": token(client, "/account/totp")}
    assert client.post(f"/admin/users/{me.id}/unlock", data=data).status_code == 403


def test_the_list_shows_every_account_in_chinese(admin_client, session):
    make_user(session, "wang", display_name="王明", unit="health", email="wang@xlt.gov.cn")
    make_user(session, "off", active=False)
    page = text_of(admin_client.get("/admin/users").get_data(as_text=True))
    for expected in ("用户管理", "wang", "王明", "兴隆台区卫生健康局", "承办人", "wang@xlt.gov.cn", "已停用", "系统管理员", "已绑定"):
        assert expected in page, expected


def test_create_a_user(admin_client, client, session):
    response = admin_client.post("/admin/users/new", data=new_user_data(admin_client))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    user = fresh(session, "zhang")
    assert (user.unit_code, user.role, user.display_name, user.email) == ("market", "handler", "张伟", "zhang@xlt.gov.cn")
    assert user.password_hash.startswith("$argon2id$")
    created = events(session, "user.created")
    assert len(created) == 1 and created[0].actor_id == fresh(session, "root").id
    assert created[0].detail["username"] == "zhang" and "password" not in str(created[0].detail)
    assert "zhang" in admin_client.get("/admin/users").get_data(as_text=True)
    assert login(client, "zhang", "a long enough password").status_code == 302


@pytest.mark.parametrize("values,field_text", [
    ({"password": "short"}, "12"),
    ({"username": "root"}, "该用户名已被占用"),
    ({"email": "not an address"}, "有效的电子邮箱"),
    ({"unit": "nowhere"}, "请选择单位"),
    ({"role": "boss"}, "请选择角色"),
    ({"username": ""}, "用户名"),
])
def test_create_refuses_bad_input(admin_client, session, values, field_text):
    response = admin_client.post("/admin/users/new", data=new_user_data(admin_client, **values))
    assert response.status_code == 400
    assert field_text in text_of(response.get_data(as_text=True))
    session.rollback()
    assert session.scalar(select(User).where(User.username == "zhang")) is None
    assert events(session, "user.created") == []


def test_admin_forms_need_csrf(admin_client, session):
    data = new_user_data(admin_client)
    del data["csrf_token"]
    assert admin_client.post("/admin/users/new", data=data).status_code == 400
    target = make_user(session, "wang")
    assert admin_client.post(f"/admin/users/{target.id}/deactivate").status_code == 400
    assert fresh(session, "wang").active


def test_edit_unit_role_email_and_name(admin_client, session):
    target = make_user(session, "wang", display_name="王明", unit="health", email="wang@xlt.gov.cn")
    page = admin_client.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert 'value="wang@xlt.gov.cn"' in page and "王明" in page
    data = {"csrf_token": hidden_fields(page)["csrf_token"], "display_name": "王小明", "unit": "medinsure",
            "role": "unit_head", "email": "wxm@xlt.gov.cn", "password": ""}
    response = admin_client.post(f"/admin/users/{target.id}", data=data)
    assert response.status_code == 302
    user = fresh(session, "wang")
    assert (user.display_name, user.unit_code, user.role, user.email) == ("王小明", "medinsure", "unit_head", "wxm@xlt.gov.cn")
    assert check_password(user, PASSWORD)  # an empty password field keeps the password
    updated = events(session, "user.updated")
    assert len(updated) == 1
    assert updated[0].detail["changes"]["unit_code"] == ["health", "medinsure"]
    assert updated[0].detail["changes"]["role"] == ["handler", "unit_head"]


def test_setting_a_password_ends_the_users_sessions(app, admin_client, session):
    target = make_user(session, "wang")
    theirs = app.test_client()
    login(theirs, "wang")
    data = {"csrf_token": token(admin_client), "display_name": "王明", "unit": "health", "role": "handler",
            "email": "wang@xlt.gov.cn", "password": "another long password"}
    assert admin_client.post(f"/admin/users/{target.id}", data=data).status_code == 302
    assert theirs.get("/account/password").status_code == 302
    assert check_password(fresh(session, "wang"), "another long password")
    assert len(events(session, "user.password_set")) == 1


def test_deactivate_ends_sessions_and_reactivate(app, admin_client, session):
    target = make_user(session, "wang")
    theirs = app.test_client()
    login(theirs, "wang")
    assert theirs.get("/account/password").status_code == 200
    response = admin_client.post(f"/admin/users/{target.id}/deactivate", data={"csrf_token": token(admin_client)})
    assert response.status_code == 302
    assert theirs.get("/account/password").status_code == 302  # logged out at the next request
    assert login(theirs, "wang").status_code == 401
    assert not fresh(session, "wang").active
    admin_client.post(f"/admin/users/{target.id}/reactivate", data={"csrf_token": token(admin_client)})
    assert login(theirs, "wang").status_code == 302
    assert [len(events(session, a)) for a in ("user.deactivated", "user.reactivated")] == [1, 1]


def test_an_admin_cannot_deactivate_or_demote_themselves(admin_client, session):
    me = fresh(session, "root")
    admin_client.post(f"/admin/users/{me.id}/deactivate", data={"csrf_token": token(admin_client)})
    assert fresh(session, "root").active
    data = {"csrf_token": token(admin_client), "display_name": "管理员", "unit": "taskforce", "role": "handler",
            "email": "root@xlt.gov.cn", "password": ""}
    assert admin_client.post(f"/admin/users/{me.id}", data=data).status_code == 400
    assert fresh(session, "root").role == "admin"


def test_reset_totp(app, admin_client, session):
    secret = pyotp.random_base32()
    target = make_user(session, "li", role="coordinator", unit="taskforce", totp_secret=secret)
    response = admin_client.post(f"/admin/users/{target.id}/reset-totp", data={"csrf_token": token(admin_client)})
    assert response.status_code == 302
    user = fresh(session, "li")
    assert user.totp_secret is None and not user.totp_confirmed
    assert len(events(session, "user.totp_reset")) == 1
    theirs = app.test_client()
    response = login(theirs, "li")  # no code needed now, but enrolment comes first
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/totp")


def test_unlock(app, admin_client, session):
    target = make_user(session, "wang")
    theirs = app.test_client()
    for _ in range(5):
        login(theirs, "wang", "wrong password 123")
    assert fresh(session, "wang").locked_until > utcnow() + timedelta(minutes=10)
    page = text_of(admin_client.get("/admin/users").get_data(as_text=True))
    assert "解锁" in page
    admin_client.post(f"/admin/users/{target.id}/unlock", data={"csrf_token": token(admin_client)})
    user = fresh(session, "wang")
    assert user.locked_until is None and user.failed_logins == 0
    assert login(theirs, "wang").status_code == 302
    assert len(events(session, "user.unlocked")) == 1


def test_unknown_user_is_404(admin_client):
    assert admin_client.get("/admin/users/9999").status_code == 404


@pytest.mark.parametrize("name", ["", "  ", "王", "·", "王 ·"])
def test_an_account_with_a_case_role_needs_a_real_name(admin_client, session, name):
    """A real name is what keeps a person off the reports about them: no case role without one."""
    resp = admin_client.post("/admin/users/new", data=new_user_data(admin_client, display_name=name))
    assert resp.status_code == 400 and "必须登记真实姓名" in resp.get_data(as_text=True)
    assert fresh(session, "zhang") is None
    clerk = admin_client.post("/admin/users/new", data=new_user_data(admin_client, display_name=name, role="clerk"))
    assert clerk.status_code == 302  # a clerk registers reports and sees no case
    target = make_user(session, "wang", display_name="王明")
    data = {"csrf_token": token(admin_client), "display_name": name, "unit": "health", "role": "handler",
            "email": "wang@xlt.gov.cn", "password": ""}
    assert admin_client.post(f"/admin/users/{target.id}", data=data).status_code == 400
    assert fresh(session, "wang").display_name == "王明"
    promoted = {**data, "role": "unit_head", "csrf_token": token(admin_client)}
    assert admin_client.post(f"/admin/users/{fresh(session, 'zhang').id}", data=promoted).status_code == 400


def test_the_list_marks_an_account_that_lacks_a_real_name(admin_client, session):
    legacy = make_user(session, "legacy", display_name="赵钱")
    legacy.display_name = ""  # an account from before the rule
    session.commit()
    page = admin_client.get("/admin/users").get_data(as_text=True)
    row = page[page.index('data-username="legacy"'):].split("</tr>", 1)[0]
    assert 'data-testid="no-real-name"' in row
