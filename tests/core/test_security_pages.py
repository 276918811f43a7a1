"""What every page promises, checked on every page a person can open (public and staff, as each role):
the security headers, no inline script or event handler, no inline style, nothing loaded from another
server; and in production HSTS and Secure, HttpOnly, SameSite session cookies."""
import re

import pyotp
import pytest

from tests.support.staff import login, make_user, open_case, otp_code

SECRET = pyotp.random_base32()
FOREIGN = re.compile(r"""(?:src|href|action|srcset)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"""<[^>]+\son[a-z]+\s*=""", re.I)
INLINE_STYLE = re.compile(r"""<[^>]+\sstyle\s*=""", re.I)
SKIP = {"/logout", "/healthz", "/api/v1/openapi.json", "/bulletin.xlsx", "/weekly.xlsx", "/weekly.zip", "/static"}


def pages(app) -> list[str]:
    """Every GET route without parameters (the page a link leads to)."""
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.rule not in SKIP and not rule.rule.startswith("/static"):
            out.append(rule.rule)
    return sorted(out)


def check(resp, path: str) -> None:
    assert resp.status_code < 500, path
    csp = resp.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp, path
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", path
    assert resp.headers.get("Referrer-Policy") == "no-referrer", path
    assert resp.headers.get("X-Frame-Options") == "DENY", path
    if resp.mimetype == "text/html":
        html = resp.get_data(as_text=True)
        assert not FOREIGN.search(html), (path, FOREIGN.search(html).group())
        assert not INLINE_SCRIPT.search(html), (path, INLINE_SCRIPT.search(html).group())
        assert not EVENT_HANDLER.search(html), (path, EVENT_HANDLER.search(html).group())
        assert not INLINE_STYLE.search(html), (path, INLINE_STYLE.search(html).group())


def test_every_public_page(client, app):
    seen = 0
    for path in pages(app):
        resp = client.get(path)
        if resp.status_code == 302:
            continue  # staff pages: below, signed in
        check(resp, path)
        seen += 1
    assert seen >= 5


@pytest.mark.parametrize("role,unit", [("handler", "health"), ("unit_head", "health"), ("clerk", "health"),
                                       ("coordinator", "taskforce"), ("admin", "taskforce")])
def test_every_staff_page_for_each_role(app, client, session, ctx, role, unit):
    case, _ = open_case(app, session, ctx)
    user = make_user(session, f"u-{role}", role=role, unit=unit, totp_secret=SECRET if role in ("coordinator", "admin")
                     else None, display_name="测试")
    assert login(client, user.username, otp=otp_code(SECRET) if user.needs_totp else None).status_code == 302
    opened = 0
    for path in pages(app) + [f"/cases/{case.report.reference}"]:
        resp = client.get(path)
        if resp.status_code in (302, 403, 404):
            continue
        check(resp, path)
        opened += 1
    assert opened >= 3


def test_production_sends_hsts_and_locks_the_session_cookie(app_factory, database_url, tmp_path):
    import base64
    app = app_factory(env={"APP_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": "p" * 48,
                           "IDENTITY_KEY": base64.urlsafe_b64encode(b"q" * 32).decode(),
                           "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"})
    client = app.test_client()
    resp = client.get("/report", base_url="https://xlt.example.cn")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    cookies = resp.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    for cookie in (c for c in cookies if "Max-Age=0" not in c):  # a deletion carries no value
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    assert session_cookie
