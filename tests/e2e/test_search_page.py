"""Search in the queue, in Chromium on demo data: a word in 繁體 finds cases with their snippets marked and
a count per tab, at 1366 px and at 360 px (no sideways scroll); a reference typed in lower case jumps to
the case. Screenshots in test-artifacts/."""
import re

import pytest
from sqlalchemy import select

from casework.models import Case
from casework.opening import route_unrouted
from casework.runtime import routing_runtime
from demo.seed import seed
from intake.models import Report
from tests.e2e.axe import describe, serious_violations
from tests.e2e.test_accessibility import sign_in
from tests.support.factories import file_report

pytestmark = pytest.mark.browser


HOSPITAL_CASE = "兴隆台区人民医院外科医生收受患者家属红包三千元，不给红包就一直拖着不安排手术。"


@pytest.fixture
def demo(app, session):
    """Demo data, plus one report about a 医院 that the matrix gives the health bureau: the demo's statuses
    follow the day of the month (a case received this month may be accepted already), so without it the
    health head's to_accept tab holds such a case on some days only."""
    with app.app_context():
        seeded = seed(session, app.extensions["intake"], 20, random_seed=5)
        receipt = file_report(session, app.extensions["intake"], text=HOSPITAL_CASE, title="医生收红包")
        route_unrouted(session, routing_runtime(app).taxonomy)
        case = session.scalar(select(Case).where(Case.report_id == receipt.report_id))
        assert case is not None and (case.lead_unit, case.status) == ("health", "to_accept")
        return seeded


def test_search_finds_marks_counts_and_jumps(live_server, browser, shot, demo, session):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                  bypass_csp=True)  # axe's script
    page = context.new_page()
    sign_in(page, live_server, "demo-health-head")
    page.goto(live_server + "/queue?tab=to_accept")
    page.fill("#q", "醫院")
    page.locator("#q").press("Enter")
    page.wait_for_load_state()
    assert "q=" in page.url
    marks = page.locator("table.cases .snippet mark")
    assert marks.count() >= 1 and set(marks.all_inner_texts()) <= {"医院", "醫院"}
    assert page.get_by_test_id("search-summary").is_visible()
    counts = [int(re.sub(r"\D", "", t)) for t in page.locator(".tabs .count").all_inner_texts()]
    assert sum(counts) >= 1
    violations = serious_violations(page)
    assert not violations, describe({"search": violations})
    shot(page, "search-1366")

    page.set_viewport_size({"width": 360, "height": 800})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("table.cases .snippet mark").first.is_visible() or page.locator(".table-wrap").count() == 1
    shot(page, "search-360")

    reference = session.scalar(select(Report.reference).join(Case, Case.report_id == Report.id)
                               .where(Case.lead_unit == "health").limit(1))
    page.goto(live_server + "/queue?tab=closed")
    page.fill("#q", reference.lower().replace("-", ""))
    page.locator("#q").press("Enter")
    page.wait_for_url(re.compile(f"/cases/{reference}$"))
    shot(page, "search-jump-360")
    context.close()
