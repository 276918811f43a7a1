"""The routing decision of a batch of reports in worker processes (issue 16): classify and route are pure
(no database, no Flask), so a routing batch's reports are decided by a pool of forked processes that share
the parent's loaded taxonomy and model (fork: nothing is pickled but the reports' fields and the answers).
The pool is started once and kept while the taxonomy and the model are the same objects. Each report is
decided on its own: one that raises comes back as its error (the caller triages that report alone); if the
pool itself fails (a worker died, an answer cannot be pickled) the caller decides the batch in process."""
from __future__ import annotations

import gc
import logging
import multiprocessing
import time
import traceback
from concurrent.futures import ProcessPoolExecutor

from routing import classifier, matrix
from routing.plain import plain

log = logging.getLogger(__name__)

POOL_MIN = 64   # a batch smaller than this is decided in process (the pool's round trips cost more)
WAIT_SECONDS, WAIT_PER_REPORT = 30.0, 0.05  # a batch not answered by then: the workers are killed, decided here
_pool: ProcessPoolExecutor | None = None
_pool_for: tuple | None = None   # (taxonomy, model, workers) the pool was forked with
_state: tuple | None = None      # in a worker: (taxonomy, model)


def decide(tax, learned, title: str, text: str, channel: str, accused: dict, *, classify=None, route=None,
           reading=None) -> dict:
    """One report's classification and routing as plain values (what casework.opening stores): raises what
    the classifier or the matrix raise. `reading`: the corpus model's reading of it (decide_many)."""
    classify, route = classify or classifier.classify, route or matrix.route
    more = {"reading": reading} if reading is not None else {}
    result = classify(tax, title=title, text=text, channel=channel, accused=accused, learned=learned, **more)
    routing = route(tax, result, title=title, text=text, accused=accused)
    return {"item": result.item, "in_scope": result.in_scope, "confidence": result.confidence,
            "candidates": plain(result.candidates), "routing": routing.to_dict(),
            "rules_version": result.rules_version, "model_version": result.model_version,
            "triage": routing.triage, "transfer": routing.transfer, "lead_unit": routing.lead_unit,
            "assist_units": list(routing.assist_units), "reason": routing.explanation or routing.reason}


def decide_many(tax, learned, items: list[tuple], *, classify=None, route=None) -> list[dict]:
    """decide() of each item ((title, text, channel, accused) each), the corpus model reading them a few dozen
    at a time (routing.classifier.with_readings); a report that raises gets failure() as its answer."""
    out = []
    pairs = classifier.with_readings(tax, [{"title": it[0], "text": it[1], "fields": it} for it in items], learned)
    for fields, reading in ((r["fields"], reading) for r, reading in pairs):
        try:
            out.append(decide(tax, learned, *fields, classify=classify, route=route, reading=reading))
        except Exception as exc:  # this report only: the caller sends it to triage
            out.append(failure(exc))
    return out


def failure(exc: BaseException) -> dict:
    return {"error": f"{type(exc).__name__}: {exc}"[:2000], "traceback": traceback.format_exc()}


def _start(tax, learned) -> None:
    global _state
    _state = (tax, learned)
    gc.freeze()  # what the fork copied is never collected here: no full collection walks (and copies) it
    gc.enable()  # (the parent forks with its collector off during a batch)


def _decide_chunk(items: list[tuple], extra=None) -> list[dict]:
    tax, learned = _state
    out = []
    for fields, answer in zip(items, decide_many(tax, learned, items)):
        if extra is not None:
            try:
                answer["extra"] = extra(*fields)
            except Exception:  # the caller computes it itself
                pass
        out.append(answer)
    return out


def _executor(tax, learned, workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_for
    key = _pool_for
    if _pool is None or key is None or key[0] is not tax or key[1] is not learned or key[2] != workers:
        shutdown()
        import routing.model_batch  # noqa: F401 - imported (numpy, scipy.sparse) once, before the fork
        _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                    initializer=_start, initargs=(tax, learned))
        _pool_for = (tax, learned, workers)
    return _pool


def shutdown(kill: bool = False) -> None:
    """Stop the pool; kill: its workers are terminated first (one hangs: waiting for it would hang the job)."""
    global _pool, _pool_for
    if _pool is not None:
        if kill:
            for process in list((getattr(_pool, "_processes", None) or {}).values()):
                process.terminate()
        _pool.shutdown(wait=not kill, cancel_futures=True)
    _pool, _pool_for = None, None


class Pending:
    """The answers of a batch being decided by the pool: `result()` waits for them (None: decide in process)."""

    def __init__(self, futures: list, sizes: list[int]):
        self.futures, self.sizes = futures, sizes
        self.deadline = time.monotonic() + WAIT_SECONDS + WAIT_PER_REPORT * sum(sizes)

    def result(self) -> list[dict] | None:
        out: list[dict] = []
        try:
            for future, size in zip(self.futures, self.sizes):
                answers = future.result(timeout=max(0.0, self.deadline - time.monotonic()))
                if len(answers) != size:
                    raise RuntimeError(f"{len(answers)} answers for {size} reports")
                out += answers
        except Exception:  # a worker died or hangs (TimeoutError), or an answer came back wrong
            log.warning("the routing pool failed; the batch is decided in process", exc_info=True)
            shutdown(kill=True)
            return None
        return out


class Ahead:
    """The next batch sent to the pool while the job writes this one (casework.opening, in the routing job's
    loop): `start` sends it, `take` gives the answers of the reports that were sent with the same fields."""

    def __init__(self):
        self.items: dict[int, tuple] = {}
        self.pending: Pending | None = None

    def start(self, tax, learned, items: dict[int, tuple], workers: int, extra=None) -> None:
        self.discard()
        self.pending = submit(tax, learned, list(items.values()), workers, extra)
        self.items = items if self.pending is not None else {}

    def take(self, items: dict[int, tuple]) -> dict[int, dict]:
        """Report id -> answer, for the reports of `items` that were sent ahead and have not changed since."""
        sent, pending = self.items, self.pending
        self.items, self.pending = {}, None
        answers = pending.result() if pending is not None else None
        if answers is None:
            return {}
        return {rid: answer for (rid, fields), answer in zip(sent.items(), answers) if items.get(rid) == fields}

    def discard(self) -> None:
        if self.pending is not None:
            for future in self.pending.futures:
                future.cancel()
        self.items, self.pending = {}, None


def submit(tax, learned, items: list[tuple], workers: int, extra=None) -> Pending | None:
    """Start deciding `items` ((title, text, channel, accused) each) in `workers` processes; None when the
    batch is decided in process (fewer than 2 workers, a small batch, or the pool cannot start). `extra`: a
    module-level function of the same fields, its value returned as the answer's "extra" (absent if it raised)."""
    if workers < 2 or len(items) < POOL_MIN:
        return None
    try:
        pool = _executor(tax, learned, workers)
        step = -(-len(items) // (workers * 2))
        chunks = [items[at:at + step] for at in range(0, len(items), step)]
        return Pending([pool.submit(_decide_chunk, chunk, extra) for chunk in chunks], [len(c) for c in chunks])
    except Exception:
        log.warning("the routing pool could not start; the batch is decided in process", exc_info=True)
        shutdown()
        return None
