"""The documented limits under real gunicorn workers and Redis: web form and API spend one submission budget
per client across processes, refused attempts do not spend it, and a chunked body too large is 413.

`--max-requests 1` makes every worker exit after one request (`--preload` keeps the restarts cheap: the app is
imported once, before the fork), so no two requests are served by the same
process: a per-process store (memory://) would forget every count, and only the shared store can hold the
budget. The access log names the process of each request, so the test shows that they really differed."""
from __future__ import annotations

import http.client
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IDENTITY_KEY, _truncate_all, make_test_app
from tests.jobs.test_scheduler import wait_until
from tests.support.mailserver import free_port
from tests.support.web import hidden_fields
from tests.system.test_multi_instance import ROOT, Browser, _up, api, redis_url  # noqa: F401 (fixture)

TEXT = "区人民医院骨科主任收受医药代表回扣，每用一套耗材返现两千元，科室护士都知道。第{n}次反映。"


def web_report(base: str, text: str) -> int:
    browser = Browser()
    form = hidden_fields(browser.get(base + "/report"))
    status, _page = browser.post(base + "/report", {**form, "text": text, "identity": "anonymous", "consent": "y"})
    return status


def chunked_post(port: int, path: str, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    try:
        for start in range(0, len(body), 64 * 1024):
            piece = body[start:start + 64 * 1024]
            conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may stop reading once it has refused the body
    status = conn.getresponse().status
    conn.close()
    return status


@pytest.mark.postgres
def test_gunicorn_workers_share_one_submission_budget_in_redis(migrated_postgres, redis_url, tmp_path):  # noqa: F811
    _truncate_all(migrated_postgres)
    make_test_app(migrated_postgres, tmp_path).extensions["db_engine"].dispose()  # `flask setup`: units, reference data
    env = {**os.environ, "APP_ENV": "testing", "SECRET_KEY": "test-secret-key-" + "x" * 32,
           "IDENTITY_KEY": IDENTITY_KEY, "DATABASE_URL": migrated_postgres, "UPLOAD_DIR": str(tmp_path / "uploads"),
           "INSTANCE_DIR": str(tmp_path / "instance"), "RECEIPT_SCRYPT_N": "1024", "ROUTING_IN_REQUEST": "false",
           "RATELIMIT_ENABLED": "true", "RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_SUBMIT": "3 per hour",
           "RATELIMIT_SUBMIT_FAILED": "5 per hour", "RATELIMIT_LOOKUP": "100 per minute"}
    port, log_path = free_port(), tmp_path / "gunicorn.log"
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "--max-requests", "1", "--preload",
                                 "-b", f"127.0.0.1:{port}", "--access-logfile", "-",
                                 "--access-logformat", "pid=%(p)s %(m)s %(U)s %(s)s", "wsgi:app"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _up(base), timeout=120, what=f"{base}/healthz")
        # refused attempts (too short), on both doors: they do not spend the citizen's budget
        assert web_report(base, "太短") == 422
        assert api(base, "/api/v1/reports", {"text": "短"})[0] == 422
        # three accepted reports, alternating doors and processes, then the budget is spent for both doors
        assert web_report(base, TEXT.format(n=1)) == 200
        assert api(base, "/api/v1/reports", {"text": TEXT.format(n=2)})[0] == 201
        assert web_report(base, TEXT.format(n=3)) == 200
        assert api(base, "/api/v1/reports", {"text": TEXT.format(n=4)})[0] == 429
        assert web_report(base, TEXT.format(n=5)) == 429
        # a chunked body far over the cap is refused by the worker, never parsed
        assert chunked_post(port, "/api/v1/reports/lookup", b'{"receipt": "' + b"\xff" * (2 * 1024 * 1024)) == 413

        def posts_logged() -> list[str]:
            return [line for line in log_path.read_text().splitlines() if " POST /" in line]
        # the worker writes its access-log line after the response (the 413's may come a moment later)
        wait_until(lambda: len(posts_logged()) >= 8, timeout=20, what="eight POST lines in the access log")
        posts = posts_logged()
        pids = {line.split("pid=")[1].split()[0] for line in posts}
        assert len(posts) == 8 and len(pids) == len(posts), f"requests were not spread over processes: {posts}"
    finally:
        proc.terminate()
        proc.wait(20)
