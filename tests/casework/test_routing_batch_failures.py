"""The routing batch's failure paths (issue 16): whatever fails inside a batch (its related-report step early
or late, the write after it, the first flush, the savepoint's own flush, the deferred recusal scan or search
index), the reports end up exactly as one-by-one routing leaves them (cases, deadlines, repeats, candidates,
walls, recusals, search hits and the entries' tab keys) and the scans are never left deferred. Both databases.
Written as an attacker's review of the change that computes deadlines before the first flush and defers the
scans over it (session 12)."""
import pytest
from sqlalchemy import event, select, text

from casework import opening, recusal, related_batch
from casework.models import Case
from casework.opening import route_pending
from casework.runtime import routing_runtime
from casework.search_models import FTS_TABLE
from tests.casework.test_routing_batch_outcomes import _world, same_as_one_by_one
from tests.casework.test_routing_batch_related import _file, job_app  # noqa: F401
from tests.support.staff import make_user

_LISTENERS = []


@pytest.fixture(autouse=True)
def _drop_listeners():
    yield
    from sqlalchemy.orm import Session
    while _LISTENERS:
        event.remove(Session, "before_flush", _LISTENERS.pop())


def _inject(monkeypatch, mode):
    if mode == "related-first":
        def boom(*a, **k):
            raise RuntimeError("batch related bug")
        monkeypatch.setattr(opening, "on_arrival_batch", boom)
    elif mode == "related-last":   # after the repeats are registered and flushed
        real = related_batch.on_arrival_batch

        def late(session, *a, **k):
            real(session, *a, **k)
            session.flush()
            raise RuntimeError("batch related bug, late")
        monkeypatch.setattr(opening, "on_arrival_batch", late)
    elif mode == "after-open":     # the batch fails after _open_batch: route_pending goes one by one
        real = opening._open_batch
        state = {"n": 0}

        def failing(session, *a, **k):
            real(session, *a, **k)
            state["n"] += 1
            if state["n"] == 1:
                raise RuntimeError("write failed after open")
        monkeypatch.setattr(opening, "_open_batch", failing)
    elif mode == "walls-flush":   # the savepoint's own flush (what the walls added) fails, once
        from sqlalchemy.orm import Session

        from casework.recusal_models import CaseWall
        state = {"n": 0}

        def before(session, *_a):
            if session.info.get(recusal.DEFER) and any(isinstance(o, CaseWall) for o in session.new) and not state["n"]:
                state["n"] += 1
                raise RuntimeError("wall flush failed")
        event.listen(Session, "before_flush", before)
        _LISTENERS.append(before)
    elif mode == "scan-raises":
        real = recusal.run_pending
        state = {"n": 0}

        def failing(session):
            if session.info.get("recusal_pending") and not state["n"] and not session.info.get(recusal.DEFER):
                state["n"] += 1
                raise RuntimeError("scan bug")
            return real(session)
        monkeypatch.setattr(opening.recusal, "run_pending", failing)
    elif mode == "index-raises":
        real = opening.search.run_pending
        state = {"n": 0}

        def failing(session):
            if not state["n"]:
                state["n"] += 1
                raise RuntimeError("index bug")
            return real(session)
        monkeypatch.setattr(opening.search, "run_pending", failing)
    elif mode == "first-flush":
        real = opening.sync_deadlines
        state = {"n": 0}

        def failing(session, case, **k):
            state["n"] += 1
            if state["n"] == 3 and k.get("opened") is not None:
                raise RuntimeError("deadline bug")
            return real(session, case, **k)
        monkeypatch.setattr(opening, "sync_deadlines", failing)


MODES = ["related-first", "related-last", "after-open", "first-flush", "walls-flush", "scan-raises", "index-raises"]


@pytest.mark.parametrize("mode", MODES)
def test_failure_paths(job_app, session, caplog, monkeypatch, mode):  # noqa: F811
    runtime = routing_runtime(job_app)
    tax, learned = runtime.taxonomy, runtime.learned_model(session)
    batch_staff = make_user(session, "named-a", unit="health", display_name="王小明")
    single_staff = make_user(session, "named-b", unit="health", display_name="赵大海")
    batch = _file(job_app, session, _world("区人民医院", ("王小明", "李建国"), ("13812345678", "13911112222")))
    _inject(monkeypatch, mode)
    assert route_pending(session, tax, learned, related=runtime.related) == len(batch)
    assert recusal.DEFER not in session.info
    monkeypatch.undo()
    assert "one by one" in caplog.text   # the fault was met, and routing went on around it
    got, single = same_as_one_by_one(job_app, session, runtime, learned, batch, batch_staff, single_staff)
    assert got["repeats"] and any(me for _c, me in got["recusals"])
    keys = _keys(session, batch)
    assert keys == _keys(session, single) and any(k and "o:*" in k for k in keys)


def _keys(session, ids):
    """Each case's search-entry tab keys (its lead unit written LEAD), None for a case without an entry."""
    session.expire_all()
    cases = [session.scalar(select(Case).where(Case.report_id == rid)) for rid in ids]
    out = []
    for c in cases:
        if session.get_bind().dialect.name == "postgresql":
            k = session.scalar(text("SELECT keys FROM case_search WHERE case_id = :c"), {"c": c.id})
            k = sorted(k) if k is not None else None
        else:
            k = session.scalar(text(f"SELECT k FROM {FTS_TABLE} WHERE rowid = :c"), {"c": c.id})
            k = sorted(bytes.fromhex(t[1:]).decode() for t in k.split()) if k is not None else None
        out.append(None if k is None else [x.replace(c.lead_unit or "", "LEAD") for x in k])
    return out
