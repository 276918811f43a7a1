"""Faults with real processes on loopback: the web server killed with SIGKILL in a burst of submissions,
PostgreSQL restarted under load, the attachment disk full (a real 1 MiB tmpfs). Every receipt a client got
back resolves to its report and its files; nothing half-written is visible; failures are clear 503s."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from intake.models import Attachment, Report
from intake.storage import AttachmentStore
from tests.conftest import IDENTITY_KEY, _truncate_all, make_test_app, require_or_skip
from tests.support.files import PNG
from tests.support.mailserver import free_port
from tests.support.web import multipart
from tests.jobs.test_scheduler import wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
TEXT = "区人民医院骨科主任收受医药代表回扣，每用一套耗材返现两千元，第{n}次反映。"


def evidence(n: int) -> bytes:
    return PNG + f"-{n}-".encode() * 2000  # a PNG with a distinct tail, about 12 KB


class Web:
    """gunicorn in its own process group, so that SIGKILL takes the master and the workers at once."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log, self.port, self.proc = env, log, free_port(), None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, workers: int = 2, preexec=None) -> "Web":
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-b",
                                          f"127.0.0.1:{self.port}", "wsgi:app"], cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec)
        wait_until(self.up, timeout=30, what="gunicorn")
        return self

    def up(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/healthz", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)


def submit(base: str, n: int, data: bytes | None = None) -> tuple[int, dict]:
    report = json.dumps({"text": TEXT.format(n=n)}, ensure_ascii=False)
    body, ctype = multipart({"report": report}, [("files", f"证据{n}.png", data if data is not None else evidence(n))])
    req = urllib.request.Request(base + "/api/v1/reports", data=body, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def lookup(base: str, receipt: str) -> tuple[int, dict]:
    req = urllib.request.Request(base + "/api/v1/reports/lookup", data=json.dumps({"receipt": receipt}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def environment(database_url: str, uploads: Path) -> dict:
    return {**os.environ, "APP_ENV": "testing", "SECRET_KEY": "test-secret-key-" + "x" * 32, "IDENTITY_KEY": IDENTITY_KEY,
           "DATABASE_URL": database_url, "UPLOAD_DIR": str(uploads), "RATELIMIT_ENABLED": "false",
           "RECEIPT_SCRYPT_N": "1024", "PYTHONUNBUFFERED": "1"}


def burst(base: str, clients: int, stop: threading.Event, got: list, failed: list) -> list[threading.Thread]:
    counter = iter(range(1_000_000))
    lock = threading.Lock()

    def client() -> None:
        while not stop.is_set():
            with lock:
                n = next(counter)
            try:
                status, data = submit(base, n)
            # Connection reset or refused, or the answer cut off mid-body (IncompleteRead): the server is gone,
            # and a reply the client never read whole is not an acknowledgement.
            except (OSError, ValueError, http.client.HTTPException) as exc:
                failed.append((n, type(exc).__name__))
                time.sleep(0.05)
                continue
            if status == 201:
                got.append((n, data["reference"], data["receipt"]))
            else:
                failed.append((n, status))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    return threads


def check_consistent(session, store_root: Path, got: list) -> None:
    """Every acknowledged report is there with its file; no report lacks its file, no row its bytes."""
    for n, reference, _receipt in got:
        report = session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None and report.text == TEXT.format(n=n), reference
        [attachment] = report.attachments
        data = AttachmentStore(store_root).path(attachment.stored_name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == attachment.sha256 == hashlib.sha256(evidence(n)).hexdigest()
    reports = session.scalar(select(func.count()).select_from(Report))
    with_file = session.scalar(select(func.count(func.distinct(Attachment.report_id))))
    assert reports == with_file  # no report committed without its evidence


@pytest.mark.postgres
def test_sigkill_of_the_web_server_in_a_burst_loses_no_acknowledged_report(migrated_postgres, tmp_path):
    _truncate_all(migrated_postgres)
    uploads = tmp_path / "uploads"
    app = make_test_app(migrated_postgres, tmp_path, env={"UPLOAD_DIR": str(uploads)})
    engine = create_engine(migrated_postgres)
    web = Web(environment(migrated_postgres, uploads), tmp_path / "gunicorn.log").start()
    got, failed, stop = [], [], threading.Event()
    try:
        threads = burst(web.base, 6, stop, got, failed)
        wait_until(lambda: len(got) >= 15, timeout=60, what="acknowledged reports")
        web.kill9()  # in the middle of requests
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(30)
        assert failed, "the kill interrupted nothing"
        web.start()
        for n, reference, receipt in got:
            status, data = lookup(web.base, receipt)
            assert status == 200 and data["reference"] == reference, (n, status, data)
        with sessionmaker(engine)() as session:
            check_consistent(session, uploads, got)
    finally:
        stop.set()
        web.stop()
        engine.dispose()
        app.extensions["db_engine"].dispose()


@pytest.mark.postgres
def test_postgresql_restarted_under_load_gives_clear_503s_and_catches_up(tmp_path):
    from tests.support.postgres import TempCluster, find_bindir
    bindir = find_bindir()
    if bindir is None:
        require_or_skip("PostgreSQL binaries are not installed")
    cluster = TempCluster(bindir)
    url = cluster.start()
    uploads = tmp_path / "uploads"
    app = make_test_app(url, tmp_path, env={"UPLOAD_DIR": str(uploads)})
    engine = create_engine(url)
    web = Web(environment(url, uploads), tmp_path / "gunicorn.log").start()
    got, failed, stop = [], [], threading.Event()
    try:
        threads = burst(web.base, 4, stop, got, failed)
        wait_until(lambda: len(got) >= 10, timeout=60, what="reports before the restart")
        cluster._run(str(bindir / "pg_ctl"), "-D", str(cluster.data), "-m", "fast", "-w", "stop")
        wait_until(lambda: any(f[1] == 503 for f in failed), timeout=30, what="a 503 while the database is down")
        opts = f"-p {cluster.port} -k {cluster.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        cluster._run(str(bindir / "pg_ctl"), "-D", str(cluster.data), "-o", opts, "-w", "-l",
                     str(cluster.root / "log"), "start")
        before = len(got)
        wait_until(lambda: len(got) >= before + 10, timeout=60, what="reports after the restart")
        stop.set()
        for t in threads:
            t.join(30)
        assert not [f for f in failed if f[1] not in (503, "URLError", "RemoteDisconnected", "ConnectionResetError")]
        for n, reference, receipt in got:
            status, data = lookup(web.base, receipt)
            assert status == 200 and data["reference"] == reference
        with sessionmaker(engine)() as session:
            check_consistent(session, uploads, got)
    finally:
        stop.set()
        web.stop()
        engine.dispose()
        app.extensions["db_engine"].dispose()
        cluster.stop()


def test_a_full_attachment_disk_fails_cleanly_before_any_receipt(tmp_path, sqlite_template):
    if os.geteuid() != 0:
        require_or_skip("mounting a small tmpfs needs root")
    import shutil
    database = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, database)
    url = f"sqlite:///{database}"
    uploads = tmp_path / "small-disk"
    uploads.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(uploads)], capture_output=True)
    if mounted.returncode != 0:
        require_or_skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    app = make_test_app(url, tmp_path, env={"UPLOAD_DIR": str(uploads)})
    web = Web(environment(url, uploads), tmp_path / "gunicorn.log")
    try:
        web.start(workers=1)
        statuses = [submit(web.base, n, data=PNG + os.urandom(300_000))[0] for n in range(6)]
        assert statuses[:3] == [201, 201, 201] and 503 in statuses, statuses
        refused = statuses.index(503)
        status, data = submit(web.base, 99, data=PNG + os.urandom(300_000))
        assert status == 503 and data["error"] and data["message"]
        engine = create_engine(url)
        with sessionmaker(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Report)) == refused  # nothing acknowledged after
            assert session.scalar(select(func.count()).select_from(Attachment)) == refused
        engine.dispose()
        leftovers = [p for p in uploads.rglob("*") if p.is_file()]
        assert len(leftovers) == refused  # no half-written file left behind
    finally:
        web.stop()
        app.extensions["db_engine"].dispose()
        subprocess.run(["umount", str(uploads)], capture_output=True)
