"""axe-core (WCAG 2.1 A/AA) over every page a person uses, per role, on demo data, at 360 and 1366 px:
no violation of impact "serious" or "critical". One browser, one context per role; each staff role's
pages are found by walking the links its own pages show (one page per route), so a new page is scanned
as soon as it is linked. Also checks the basics the scan cannot: a skip link on every page and errors
tied to their fields."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from core.accounts import User
from demo.seed import PASSWORD, seed
from tests.e2e.axe import describe, serious_violations
from tests.support.factories import file_report
from tests.support.staff import make_user

pytestmark = pytest.mark.browser
SIZES = ({"width": 360, "height": 800}, {"width": 1366, "height": 900})
SKIP = re.compile(r"/(logout|lang/|healthz)|\.(xlsx|zip|csv|json)$|/attachments/")
MAX_PAGES = 40


def route_of(url: str) -> str:
    """One page per route: digits and references folded, the query dropped (tabs and filters of a page
    render the same template)."""
    return re.sub(r"[0-9]+", "N", urlsplit(url).path)


class Scanner:
    def __init__(self, page):
        self.page, self.found, self.scanned = page, {}, []

    def scan(self, label: str) -> None:
        page = self.page
        assert page.locator("a.skip-link[href='#main']").count() == 1, f"{label}: no skip link"
        assert page.locator("#main").count() == 1, f"{label}: no #main"
        for size in SIZES:
            page.set_viewport_size(size)
            violations = serious_violations(page)
            if violations:
                self.found[f"{label} @{size['width']}px"] = violations
        self.scanned.append(label)

    def walk(self, base: str, start: str) -> None:
        page, seen, todo = self.page, set(), [start]
        while todo and len(seen) < MAX_PAGES:
            url = todo.pop(0)
            if route_of(url) in seen:
                continue
            seen.add(route_of(url))
            response = page.goto(url)
            assert response is not None and response.status < 500, f"{url}: {response and response.status}"
            self.scan(urlsplit(page.url).path + ("?" + urlsplit(page.url).query if urlsplit(page.url).query else ""))
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                href = href.split("#")[0]
                if href.startswith(base) and not SKIP.search(urlsplit(href).path) and route_of(href) not in seen:
                    todo.append(href)


def new_context(browser):
    return browser.new_context(viewport=SIZES[1], locale="zh-CN", bypass_csp=True)  # bypass_csp: axe's script


def sign_in(page, base, username, secret=None):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    if secret:
        page.fill("#otp", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)  # fails with a timeout if the sign-in was refused


@pytest.fixture
def demo(app, session):
    with app.app_context():
        seeded = seed(session, app.extensions["intake"], 20, random_seed=11)
        filed = file_report(session, app.extensions["intake"], title="挂床住院",
                            text="兴隆台区某医院长期挂床住院，病人白天回家，医院照样向医保报销住院费用，还串换药品。")
    return seeded, filed


def test_every_page_of_every_role_passes_axe(app, live_server, browser, session, shot, demo):
    _, filed = demo
    found: dict[str, list[dict]] = {}
    scanned: dict[str, list[str]] = {}

    # The citizen: public pages, a report with errors, a filed report, the follow-up, the login and a 404.
    context = new_context(browser)
    page = context.new_page()
    citizen = Scanner(page)
    for path in ("/", "/channels", "/report", "/followup", "/followup/new-receipt", "/login", "/no-such-page"):
        page.goto(live_server + path)
        citizen.scan(path)
    page.goto(live_server + "/report")
    page.get_by_role("button", name="提交举报").click()
    text = page.locator("#text")
    expect(text).to_have_attribute("aria-invalid", "true")  # waits for the page after the POST
    assert text.get_attribute("aria-invalid") == "true"
    assert "text-error" in (text.get_attribute("aria-describedby") or "")
    citizen.scan("/report (errors)")
    page.fill("#text", "区某医院药剂科主任在药品采购中收受回扣，每使用一批药品返现两千元，科室人员均知情。")
    page.check("#consent")
    page.get_by_role("button", name="提交举报").click()
    expect(page.locator("#print-proof")).to_be_attached()  # waits for the page after the POST
    citizen.scan("/report (submitted)")
    shot(page, "a11y-citizen-submitted")
    page.goto(live_server + "/followup")
    page.fill("#receipt", filed.receipt)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("status")).to_be_visible()  # waits for the page after the POST
    citizen.scan("/followup/status")
    found.update({f"citizen {k}": v for k, v in citizen.found.items()})
    scanned["citizen"] = citizen.scanned
    context.close()

    admin_secret, coord_secret = pyotp.random_base32(), pyotp.random_base32()
    make_user(session, "a11y-admin", role="admin", unit="taskforce", totp_secret=admin_secret, display_name="管理员",
              password=PASSWORD)
    make_user(session, "a11y-coord", role="coordinator", unit="taskforce", totp_secret=coord_secret,
              display_name="专班协调员", password=PASSWORD)
    roles = (("clerk", "demo-health-clerk", None), ("handler", "demo-health-h1", None),
             ("unit head", "demo-health-head", None), ("coordinator", "a11y-coord", coord_secret),
             ("admin", "a11y-admin", admin_secret))
    for role, username, secret in roles:
        assert session.scalar(select(User).where(User.username == username)) is not None
        context = new_context(browser)
        page = context.new_page()
        sign_in(page, live_server, username, secret)
        staff = Scanner(page)
        staff.walk(live_server, page.url)
        if role != "clerk":
            page.goto(f"{live_server}/cases/{filed.reference}")
        shot(page, f"a11y-{role.replace(' ', '-')}-last")
        found.update({f"{role} {k}": v for k, v in staff.found.items()})
        scanned[role] = staff.scanned
        context.close()

    print({role: len(pages) for role, pages in scanned.items()})
    for role, minimum in (("citizen", 10), ("clerk", 2), ("handler", 4), ("unit head", 6), ("coordinator", 10),
                          ("admin", 10)):
        assert len(scanned[role]) >= minimum, (role, scanned[role])
    assert not found, "axe-core, serious or critical:\n" + describe(found)
