"""An administrator logs in with a password, is held at TOTP enrolment until it is done (secret read
from the page, code from pyotp), then creates a handler, who can log in."""
import re

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.accounts import User
from core.audit import AuditEvent
from tests.support.staff import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_admin_enrols_totp_and_creates_a_handler(live_server, browser, shot, session):
    make_user(session, "root", role="admin", unit="taskforce", display_name="系统管理员甲")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server) else None)
    csp_errors = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto(live_server + "/admin/users")
    assert page.url.startswith(live_server + "/login?next=")
    assert page.locator("h1").inner_text() == "工作人员登录"
    page.fill("#username", "root")
    page.fill("#password", "wrong password 123")
    page.get_by_role("button", name="登录").click()
    assert "登录失败" in page.get_by_test_id("login-error").inner_text()
    shot(page, "staff-01-login-failed")
    page.fill("#username", "root")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()

    assert "/account/totp" in page.url
    assert page.get_by_test_id("totp-qr").evaluate("img => img.naturalWidth") > 100  # the QR code rendered
    shot(page, "staff-02-totp-enrolment")
    page.goto(live_server + "/admin/users")  # held at enrolment until it is done
    assert "/account/totp" in page.url
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.fill("#otp", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="确认").click()
    assert "身份验证器已绑定" in page.content()

    page.goto(live_server + "/admin/users")
    assert page.locator("h1").inner_text() == "用户管理"
    page.get_by_test_id("new-user").click()
    page.fill("#username", "zhangwei")
    page.fill("#display_name", "张伟")
    page.select_option("#unit", "health")
    page.select_option("#role", "handler")
    page.fill("#email", "zhangwei@xlt.gov.cn")
    page.fill("#password", "a long enough password")
    shot(page, "staff-03-new-user-form")
    page.get_by_role("button", name="创建账户").click()
    assert "账户 zhangwei 已创建" in page.content()
    row = page.locator("tr[data-username=zhangwei]")
    assert "张伟" in row.inner_text() and "承办人" in row.inner_text()
    shot(page, "staff-04-users-list")

    page.locator("form.logout button").click()  # the header's logout form (POST with CSRF)
    page.wait_for_url(re.compile(r".*/login"))
    page.fill("#username", "zhangwei")
    page.fill("#password", "a long enough password")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url and "/account/totp" not in url)
    shot(page, "staff-05-handler-logged-in")

    user = session.scalar(select(User).where(User.username == "zhangwei"))
    assert (user.unit_code, user.role) == ("health", "handler")
    actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    # after enrolling, the admin lands on the queue: that listing is audited too
    assert actions[:6] == ["login.failed", "login.ok", "totp.enrolled", "queue.listed", "user.created", "logout"]
    assert outside == [] and csp_errors == []
    context.close()
