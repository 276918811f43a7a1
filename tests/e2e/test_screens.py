"""Staff screens measured in Chromium on demo data (issue 17, point 8): no sideways scroll at 360 px, the
queue's filters behind one <details>, references and badges on one line at 1366 px, titles readable at
768 px, the sign-out link on one line, tap targets at least 24 × 24 px, a favicon, sane login fields.
Screenshots in test-artifacts/."""
import pytest
from playwright.sync_api import expect

from demo.seed import seed
from tests.e2e.test_accessibility import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app, session):
    with app.app_context():
        return seed(session, app.extensions["intake"], 20, random_seed=5)


def lines(locator) -> list[float]:
    return locator.evaluate_all(
        "els => els.map(e => { const s = getComputedStyle(e); const lh = parseFloat(s.lineHeight) || "
        "parseFloat(s.fontSize) * 1.6; const pad = ['paddingTop', 'paddingBottom', 'borderTopWidth', 'borderBottomWidth']"
        ".reduce((n, k) => n + parseFloat(s[k]), 0); return (e.getBoundingClientRect().height - pad) / lh; })")


def test_queue_and_header_at_three_widths(live_server, browser, shot, demo):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(live_server + "/login")
    for box in (page.locator("#username").bounding_box(), page.locator("#password").bounding_box()):
        assert 200 <= box["width"] <= 420, box
    sign_in(page, live_server, "demo-health-head")
    assert page.locator("link[rel=icon]").count() == 1

    page.goto(live_server + "/queue?tab=all")
    shot(page, "screens-queue-1366")
    for selector in ("td.ref a", "table.cases .badge", "h1", ".tabs a", ".filters .actions > *", "td.received .date", "table.cases th"):
        assert max(lines(page.locator(selector)), default=1) < 1.6, selector

    page.set_viewport_size({"width": 768, "height": 1000})
    shot(page, "screens-queue-768")
    widths = page.locator("td.title").evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert widths and min(widths) >= 100, widths
    assert max(lines(page.locator("table.cases td:not(.due) .badge")), default=1) < 1.6
    # the deadline badge may break between its date, stage and days, never inside one of them
    assert max(lines(page.locator("table.cases td.due .due-part")), default=1) < 1.6
    # every column, the deadline and the report count included, fits without scrolling the table sideways
    assert page.evaluate("(() => { const w = document.querySelector('.table-wrap'); return w.scrollWidth <= w.clientWidth; })()")

    page.set_viewport_size({"width": 360, "height": 800})
    for path in ("/queue", "/self-inspection", "/weekly", "/ledgers", "/account/password"):
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        shot(page, "screens-360" + path.replace("/", "-"))
    page.goto(live_server + "/queue")
    more = page.get_by_test_id("more-filters")
    assert more.get_attribute("open") is None and not page.locator("#item").is_visible()
    assert page.locator("#q").is_visible()
    logout = page.locator(".logout .link")
    assert max(lines(logout)) < 1.6
    shot(page, "screens-queue-360")
    more.locator("summary").click()
    expect(page.locator("#item")).to_be_visible()
    small = page.evaluate("""() => [...document.querySelectorAll('header a, header button, main button, .tabs a, summary')]
        .filter(e => e.offsetParent !== null)
        .map(e => [e.textContent.trim(), e.getBoundingClientRect().width, e.getBoundingClientRect().height])
        .filter(([, w, h]) => w < 24 || h < 24)""")
    assert small == [], small
    assert missing == [], missing
    context.close()


def test_no_sideways_scroll_at_360_on_the_coordinators_admins_and_clerks_pages(app, live_server, browser, shot,
                                                                                session, demo):
    """Every page each of these roles reaches by its links (one per route), at 360 px: nothing wider than the
    screen (the document does not scroll sideways)."""
    from urllib.parse import urlsplit

    import pyotp

    from demo.seed import PASSWORD
    from tests.e2e.test_accessibility import SKIP, route_of
    from tests.support.staff import make_user
    secrets = {"coordinator": pyotp.random_base32(), "admin": pyotp.random_base32()}
    make_user(session, "w360-coord", role="coordinator", unit="taskforce", totp_secret=secrets["coordinator"],
              display_name="专班协调员", password=PASSWORD)
    make_user(session, "w360-admin", role="admin", unit="taskforce", totp_secret=secrets["admin"],
              display_name="管理员", password=PASSWORD)
    wide, visited = {}, {}
    for role, username in (("coordinator", "w360-coord"), ("admin", "w360-admin"), ("clerk", "demo-health-clerk")):
        context = browser.new_context(viewport={"width": 360, "height": 800}, locale="zh-CN")
        page = context.new_page()
        sign_in(page, live_server, username, secrets.get(role))
        seen, todo = set(), [page.url]
        while todo and len(seen) < 30:
            url = todo.pop(0)
            if route_of(url) in seen:
                continue
            seen.add(route_of(url))
            page.goto(url)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                wide[f"{role} {url[len(live_server):]}"] = overflow
                shot(page, f"screens-360-wide-{role}-{len(wide)}")
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                href = href.split("#")[0]
                if href.startswith(live_server) and not SKIP.search(urlsplit(href).path) \
                        and route_of(href) not in seen:
                    todo.append(href)
        visited[role] = sorted(seen)
        page.goto(page.url)
        shot(page, f"screens-360-{role}")
        context.close()
    print(visited)
    assert all(len(pages) >= 3 for pages in visited.values()), visited
    assert wide == {}, wide
