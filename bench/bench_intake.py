"""Intake through gunicorn: API submissions per second at saturation, then p50/p99 latency at half that
rate, for the service and for a bare Flask + SQLAlchemy endpoint (bench/bare_app.py) on the same
database, in the same run; prints the ratios. Then the routing job's rate: how fast `flask routing
sweep` (the scheduler's routing job) opens the cases of the reports the burst queued. SQLite, and
PostgreSQL where its binaries are installed (a throwaway cluster). The service runs with the production
configuration. Prints figures; not a test.

    .venv/bin/python bench/bench_intake.py [--seconds 8] [--workers 4] [--routing-in-request] [--with-scheduler]"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres import TempCluster, find_bindir, free_port  # noqa: E402

TEXT = "区人民医院骨科主任收受医药代表回扣，每用一套耗材返现两千元，科室护士都知道，希望查一查。"


def serve(app: str, env: dict, workers: int) -> tuple[subprocess.Popen, int]:
    """gunicorn with `app` on a free port, once it answers a submission."""
    port = free_port()
    proc = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", app], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            post(http.client.HTTPConnection("127.0.0.1", port, timeout=5), 0)
            return proc, port
        except (OSError, RuntimeError):
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{app} did not start")


def post(conn: http.client.HTTPConnection, n: int) -> float:
    body = json.dumps({"text": f"{TEXT} 第{n}件", "title": "耗材回扣"}, ensure_ascii=False).encode()
    t = time.perf_counter()
    conn.request("POST", "/api/v1/reports", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    if resp.status not in (200, 201):
        raise RuntimeError(f"HTTP {resp.status}")
    return time.perf_counter() - t


def saturate(port: int, seconds: float, clients: int) -> float:
    """Requests per second with `clients` connections sending back to back."""
    done, stop = [0] * clients, time.perf_counter() + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < stop:
            post(conn, i * 1_000_000 + done[i])
            done[i] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - start)


def paced(port: int, rate: float, seconds: float) -> list[float]:
    """Latencies (s) of requests started at a steady `rate` (open loop, a pool of connections)."""
    latencies, lock = [], threading.Lock()
    interval, count = 1.0 / rate, int(rate * seconds)
    start = time.perf_counter()
    pool = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(32)]
    free = list(pool)

    def one(n: int) -> None:
        with lock:
            conn = free.pop() if free else http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            elapsed = post(conn, 50_000_000 + n)
        finally:
            with lock:
                free.append(conn)
        with lock:
            latencies.append(elapsed)

    threads = []
    for n in range(count):
        delay = start + n * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=one, args=(n,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def measure(label: str, database_url: str, args) -> None:
    instance = tempfile.mkdtemp()
    env = {**os.environ, "APP_ENV": "production", "DATABASE_URL": database_url, "SECRET_KEY": "b" * 40,
           "IDENTITY_KEY": "A" * 43 + "=", "RATELIMIT_ENABLED": "false", "INSTANCE_DIR": instance,
           "UPLOAD_DIR": f"{instance}/uploads", "ROUTING_IN_REQUEST": "true" if args.routing_in_request else "false"}
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "setup"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    # the baseline's table, made once here: four workers importing bare_app at once would race to create it
    subprocess.run([sys.executable, "-c", "import bench.bare_app"], cwd=ROOT, env=env, check=True)
    results = {}
    for name, app in (("service", "wsgi:app"), ("bare", "bench.bare_app:app")):
        proc, port = serve(app, env, args.workers)
        scheduler = None
        if name == "service" and args.with_scheduler:  # routing beside intake, on the same cores
            scheduler = subprocess.Popen([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "scheduler", "run"], cwd=ROOT,
                                         env={**env, "SCHEDULER_ROUTING_SECONDS": "1"},
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            saturate(port, 1.5, args.clients)  # warm up
            peak = saturate(port, args.seconds, args.clients)
            lat = paced(port, peak / 2, args.seconds)
            results[name] = (peak, pct(lat, 50), pct(lat, 99))
        finally:
            proc.terminate()
            proc.wait(10)
            if scheduler is not None:
                scheduler.terminate()
                scheduler.wait(30)
        if name == "service":
            results["routing"] = route_backlog(env)
    (sp, s50, s99), (bp, b50, b99) = results["service"], results["bare"]
    print(f"  {label:10} service {sp:7.1f} req/s, at half rate p50 {s50:6.1f} ms p99 {s99:6.1f} ms | "
          f"bare {bp:7.1f} req/s, p50 {b50:5.1f} ms p99 {b99:5.1f} ms | service/bare throughput {sp / bp:5.1%}")
    routed, seconds, routing_seconds = results["routing"]
    if routed:
        print(f"  {'':10} routing job: {routed} queued reports routed in {routing_seconds:.1f} s = "
              f"{routed / routing_seconds:.0f} reports/s (one process; {seconds:.1f} s = {routed / seconds:.0f}/s "
              f"with the command's start: the app and the model loaded)")


def route_backlog(env: dict) -> tuple[int, float, float]:
    """Time `flask routing sweep` over what the burst queued (nothing when routing ran in the request):
    (reports routed, seconds of the whole command, seconds of the routing itself as the command prints)."""
    start = time.perf_counter()
    out = subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "routing", "sweep"], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - start
    words = out.split()   # routed N report(s) in S s
    return int(words[1]), elapsed, float(words[4]) if len(words) > 4 else elapsed


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--routing-in-request", action="store_true",
                        help="route inside each submission (ROUTING_IN_REQUEST=true) instead of in the routing job")
    parser.add_argument("--with-scheduler", action="store_true",
                        help="run the scheduler (its routing job) beside the service while measuring")
    args = parser.parse_args()
    print(f"intake through gunicorn ({args.workers} workers, {args.clients} clients, {os.cpu_count()} cores, "
          f"routing {'in the request' if args.routing_in_request else 'in the routing job'}"
          f"{', the scheduler routing meanwhile' if args.with_scheduler else ''}):")
    measure("sqlite", f"sqlite:///{tempfile.mkdtemp()}/intake.sqlite3", args)
    bindir = find_bindir()
    if bindir is None:
        print("  postgresql: not installed (apt-get install postgresql) — skipped")
    else:
        cluster = TempCluster(bindir)
        try:
            measure("postgresql", cluster.start(), args)
        finally:
            cluster.stop()
