"""Beyond one machine, on loopback: two gunicorn instances on different ports sharing one PostgreSQL, one
attachment directory and one Redis for rate limits, with one scheduler process. Submissions with files
and staff actions go through both; nothing is lost or duplicated, a rate limit counts across both, and
the scheduler sends each reminder once (to a real SMTP server)."""
from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from casework.deadline_models import CaseDeadline, Reminder
from casework.models import Case
from intake.models import Attachment, PendingRouting, Report
from tests.conftest import IDENTITY_KEY, _truncate_all, make_test_app, require_or_skip
from tests.support.mailserver import SmtpSink, free_port
from tests.support.staff import PASSWORD, make_user
from tests.support.web import hidden_fields
from tests.jobs.test_scheduler import TODAY, config_dir_for_today, wait_until

ROOT = Path(__file__).resolve().parents[2]
TEXT = "区人民医院骨科主任收受医药代表回扣，每用一套耗材返现两千元，科室护士都知道。第{n}次反映。"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        require_or_skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis
    client = redis.Redis(port=port)
    wait_until(lambda: _pings(client), timeout=20, what="redis")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def _pings(client) -> bool:
    try:
        return client.ping()
    except Exception:
        return False


def multipart(fields: dict, files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "xltboundary7d9"
    out = []
    for name, value in fields.items():
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for field, filename, data in files:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                   f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def api(base: str, path: str, payload: dict | None = None, *, body: bytes | None = None,
        content_type: str = "application/json") -> tuple[int, dict]:
    data = body if body is not None else json.dumps(payload, ensure_ascii=False).encode()
    req = urllib.request.Request(base + path, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class Browser:
    """A staff member's cookie session, which may talk to either instance (they share SECRET_KEY)."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, url: str) -> str:
        with self.opener.open(url, timeout=30) as resp:
            return resp.read().decode()

    def post(self, url: str, data: dict) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(urllib.request.Request(url, data=body), timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


@pytest.mark.postgres
def test_two_instances_one_database_one_store_one_redis_one_scheduler(migrated_postgres, redis_url, tmp_path):
    _truncate_all(migrated_postgres)
    shared_uploads = tmp_path / "shared-uploads"  # stands for the network store both servers mount
    sink = SmtpSink().start()
    config_dir = config_dir_for_today(tmp_path)
    env = {**os.environ, "APP_ENV": "testing", "SECRET_KEY": "test-secret-key-" + "x" * 32, "IDENTITY_KEY": IDENTITY_KEY,
           "DATABASE_URL": migrated_postgres, "UPLOAD_DIR": str(shared_uploads), "DOMAIN_CONFIG_DIR": str(config_dir),
           "RATELIMIT_ENABLED": "true", "RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_SUBMIT": "14 per hour", "RATELIMIT_LOOKUP": "100 per minute",
           "RECEIPT_SCRYPT_N": "1024", "SMTP_URL": sink.url, "MAIL_FROM": "noreply@xlt.gov.cn",
           "SCHEDULER_REMINDERS_SECONDS": "1", "SCHEDULER_OUTBOX_SECONDS": "1", "SCHEDULER_MAIL_FETCH_SECONDS": "3600",
           "SCHEDULER_LEASE_SECONDS": "3", "PYTHONUNBUFFERED": "1",
           # the production layout: submissions only queue their reports, the one scheduler routes them
           "ROUTING_IN_REQUEST": "false", "SCHEDULER_ROUTING_SECONDS": "1"}
    app = make_test_app(migrated_postgres, tmp_path, env={"UPLOAD_DIR": str(shared_uploads),
                                                           "DOMAIN_CONFIG_DIR": str(config_dir)})
    engine = create_engine(migrated_postgres)
    maker = sessionmaker(engine)
    with maker() as session:
        handler = make_user(session, "mh", role="handler", unit="market", display_name="承办人")
        make_user(session, "mhead", role="unit_head", unit="market")
        handler_email = handler.email
    procs, ports = [], []
    try:
        for name in ("a", "b"):
            port = free_port()
            with open(tmp_path / f"gunicorn-{name}.log", "w") as log:
                procs.append(subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-b",
                                               f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env, stdout=log,
                                              stderr=subprocess.STDOUT))
            ports.append(port)
        with open(tmp_path / "scheduler.log", "w") as log:
            procs.append(subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run"],
                                          cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for base in bases:
            wait_until(lambda base=base: _up(base), timeout=30, what=f"{base}/healthz")

        # submissions with an evidence file, alternating between the instances
        receipts = []
        for n in range(14):
            report = json.dumps({"text": TEXT.format(n=n), "title": "耗材回扣"}, ensure_ascii=False)
            body, ctype = multipart({"report": report}, [("files", f"证据{n}.png", PNG)])
            status, data = api(bases[n % 2], "/api/v1/reports", body=body, content_type=ctype)
            assert status == 201, data
            receipts.append((data["reference"], data["receipt"]))
        # the limit is one budget for both instances (Redis), not one per instance
        assert api(bases[1], "/api/v1/reports", {"text": TEXT.format(n=99)})[0] == 429
        assert api(bases[0], "/api/v1/reports", {"text": TEXT.format(n=98)})[0] == 429
        # every receipt resolves through the other instance
        for n, (reference, receipt) in enumerate(receipts):
            status, data = api(bases[(n + 1) % 2], "/api/v1/reports/lookup", {"receipt": receipt})
            assert status == 200 and data["reference"] == reference

        # the scheduler routes every queued report, each once
        def all_routed() -> bool:
            with maker() as session:
                return (session.scalar(select(func.count()).select_from(Case)) == 14
                        and session.scalar(select(func.count()).select_from(PendingRouting)) == 0)

        wait_until(all_routed, timeout=60, what="the scheduler to route the 14 reports")

        # staff: sign in on one instance, act on the other, download evidence stored by the first
        staff = Browser()
        form = hidden_fields(staff.get(bases[0] + "/login"))
        status, landing = staff.post(bases[0] + "/login", {**form, "username": "mh", "password": PASSWORD})
        assert status == 200 and 'name="username"' not in landing, landing[:2000]
        first = receipts[0][0]
        page = staff.get(f"{bases[1]}/cases/{first}")
        status, after = staff.post(f"{bases[1]}/cases/{first}/accept", hidden_fields(page))
        assert status == 200 and 'data-testid="case-status">办理中' in after, after[after.find('class="notice"'):][:300]
        with maker() as session:
            case = session.scalar(select(Case).join(Report, Report.id == Case.report_id).where(Report.reference == first))
            assert case.status == "in_progress" and case.handler_id is not None
            attachment = session.scalar(select(Attachment).where(Attachment.report_id == case.report_id))
            with staff.opener.open(f"{bases[1]}/cases/{first}/attachments/{attachment.id}", timeout=30) as resp:
                assert resp.read() == PNG
            # nothing lost, nothing twice
            assert session.scalar(select(func.count()).select_from(Report)) == 14
            assert session.scalar(select(func.count(func.distinct(Report.reference)))) == 14
            assert session.scalar(select(func.count()).select_from(Case)) == 14
            assert session.scalar(select(func.count()).select_from(Attachment)) == 14
            # a deadline falls due: the one scheduler reminds the handler once
            row = session.scalar(select(CaseDeadline).where(CaseDeadline.case_id == case.id,
                                                            CaseDeadline.stage == "handling"))
            row.due_on, row.next_remind_on = TODAY - timedelta(days=1), TODAY - timedelta(days=1)
            session.commit()
        sink.wait_for(2, timeout=60)
        time.sleep(3)  # several more scheduler passes
        assert sorted(m.rcpt_tos[0] for m in sink.messages) == sorted([handler_email, "mhead@xlt.gov.cn"])
        assert all(first in m.message["Subject"] for m in sink.messages)
        with maker() as session:
            assert session.scalar(select(func.count()).select_from(Reminder)) == 2  # handler and unit head
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                proc.kill()
        sink.stop()
        engine.dispose()
        app.extensions["db_engine"].dispose()


def _up(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False
