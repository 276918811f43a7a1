"""The routing job in one process, with related-report detection on: queue N reports through the API
(bench_intake's text, production configuration, routing not in the request), load the model, then time
`jobs.tasks.routing_job` until the queue is empty (wall and process CPU), and count the SQL statements
it sends. SQLite by default; --database-url for PostgreSQL (an empty database of your own).

By default every report is the same sentence with its number (the worst case for related-report detection:
each is a near-duplicate of all the others, so each gets its full share of candidates). --corpus queues the
reports of routing/data/train instead (their titles and texts, in a fixed shuffled order: realistic lengths,
long phone transcripts included, and the relations real reports have).

    .venv/bin/python bench/bench_routing_job.py [--reports 2000] [--corpus] [--database-url URL] [--profile FILE]"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEXT = "区人民医院骨科主任收受医药代表回扣，每用一套耗材返现两千元，科室护士都知道，希望查一查。"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--profile", default=None, help="write a cProfile of the routing job here")
    parser.add_argument("--statements", action="store_true", help="print the statements that took longest")
    parser.add_argument("--corpus", action="store_true", help="the corpus's reports instead of one sentence")
    args = parser.parse_args()
    instance = tempfile.mkdtemp()
    url = args.database_url or f"sqlite:///{instance}/job.sqlite3"
    env = {**os.environ, "APP_ENV": "production", "DATABASE_URL": url, "SECRET_KEY": "b" * 40,
           "IDENTITY_KEY": "A" * 43 + "=", "RATELIMIT_ENABLED": "false", "INSTANCE_DIR": instance,
           "UPLOAD_DIR": f"{instance}/uploads", "ROUTING_IN_REQUEST": "false"}
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "setup"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    os.environ.update(env)
    from sqlalchemy import event

    from jobs.tasks import routing_job
    from wiring.factory import create_app

    app = create_app()
    client = app.test_client()
    reports = _corpus(args.reports) if args.corpus else \
        [{"text": f"{TEXT} 第{n}件", "title": "耗材回扣"} for n in range(args.reports)]
    for report in reports:
        body = json.dumps(report, ensure_ascii=False)
        resp = client.post("/api/v1/reports", data=body, content_type="application/json")
        assert resp.status_code in (200, 201), (resp.status_code, resp.get_data(as_text=True)[:300])
    statements, kinds, spent, started = [0], {}, {}, {}

    def count(_conn, _cursor, statement, _params, context, executemany):
        statements[0] += 1
        head = " ".join(statement.split()[:4])[:60] + (" (many)" if executemany else "")
        kinds[head] = kinds.get(head, 0) + 1
        started[id(context)] = (head, time.perf_counter())

    def timed(_conn, _cursor, _statement, _params, context, _executemany):
        head, at = started.pop(id(context), (None, 0.0))
        if head is not None:
            spent[head] = spent.get(head, 0.0) + time.perf_counter() - at
    with app.app_context():
        from casework.runtime import routing_runtime
        from core.db import new_session
        runtime = routing_runtime(app)
        with new_session() as session:
            runtime.learned_model(session)  # the model loaded before timing
        event.listen(app.extensions["db_engine"], "before_cursor_execute", count)
        event.listen(app.extensions["db_engine"], "after_cursor_execute", timed)
        profiler = cProfile.Profile() if args.profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        routed = 0
        while True:
            done = routing_job(app)
            routed += done
            if not done:
                break
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        workers = _pool_cpu()
    print(f"{url.split(':')[0]}{' (corpus)' if args.corpus else ''}: {routed} reports routed in {wall:.2f} s = {routed / wall:.0f} reports/s; "
          f"CPU {cpu / routed * 1000:.2f} s per 1,000 (+ {workers / routed * 1000:.2f} in the routing pool's "
          f"workers); {statements[0] / routed:.1f} statements per report; load {os.getloadavg()[0]:.1f}")
    if args.statements:
        print(f"  {'count':>6}  {'seconds':>7}  statement (the 25 that took longest, as the database answered)")
        for head, n in sorted(kinds.items(), key=lambda kv: -spent.get(kv[0], 0.0))[:25]:
            print(f"  {n:6d}  {spent.get(head, 0.0):7.3f}  {head}")


def _corpus(n: int) -> list[dict]:
    """`n` reports of routing/data/train (title and text; those the API takes, 20 characters or more), in a
    fixed shuffled order, repeated if `n` is more."""
    import random
    rows = [json.loads(line) for path in sorted((ROOT / "routing/data/train").glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [row for row in rows if len(row["text"].strip()) >= 20]   # the API refuses shorter texts
    rows.sort(key=lambda row: row["id"])
    random.Random(0).shuffle(rows)
    return [{"title": (row.get("title") or "")[:200], "text": row["text"]} for row in (rows * (n // len(rows) + 1))[:n]]


def _pool_cpu() -> float:
    """The CPU seconds of routing.pool's worker processes so far (they were forked in the timed part)."""
    try:
        from routing import pool
    except ImportError:   # code from before the pool
        return 0.0
    if pool._pool is None:
        return 0.0
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in list(pool._pool._processes):
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick   # utime, stime
    return total


if __name__ == "__main__":
    main()
