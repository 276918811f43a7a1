"""Ledger export of many rows: time and peak memory of writing Attachment 4 (.xlsx, openpyxl write-only)
from N ledger rows (default 100,000) in a SQLite file. Prints figures; not a test.

    .venv/bin/python bench/bench_ledger.py [N]"""
from __future__ import annotations

import io
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from casework.models import Case, LedgerPerson  # noqa: E402
from casework.reference import load_negative_list  # noqa: E402
from config import CONFIG_DIR  # noqa: E402
from core.units import load_units  # noqa: E402
from intake.models import Report  # noqa: E402
from oversight.ledger_export import FilledBy, write_ledger  # noqa: E402
from wiring.migrate import upgrade  # noqa: E402


def fill(url: str, n: int) -> None:
    upgrade(url)
    engine = create_engine(url)
    with sessionmaker(engine)() as s:
        load_units(s, CONFIG_DIR)
        load_negative_list(s, CONFIG_DIR)
        s.execute(insert(Report), [dict(id=1, reference="XLT-2026-000001", channel="web", received_via="",
                                        received_at=date(2026, 1, 1), title="", text="x", occurred="",
                                        accused_name="", accused_institution="", accused_position="", anonymous=True,
                                        own_conduct=False, status="received", status_changed_at=date(2026, 1, 1),
                                        receipt_hash=b"x" * 32, receipt_must_reset=False, created_at=date(2026, 1, 1))])
        s.execute(insert(Case), [dict(id=1, report_id=1, status="in_progress", lead_unit="health", in_scope=True,
                                      transfer_suggested=False, routing_reason="", how_found="report",
                                      not_accepted_reason="", plan_problem="", plan_measures="", plan_responsible="",
                                      plan_goal="", findings_note="", rectification_note="",
                                      created_at=date(2026, 1, 1), updated_at=date(2026, 1, 1))])
        items = [f"{a}.{i}" for a in range(1, 7) for i in range(1, 6)]
        for base in range(0, n, 10_000):
            s.execute(insert(LedgerPerson), [dict(
                case_id=1, unit_code="health", item_code=items[i % 30], name=f"人员{i}", employer="区人民医院",
                employer_supervisor="区卫生健康局", manifestation="收受医药代表回扣，按处方量提成。" * 3,
                how_found="群众举报", found_on=date(2026, 1, 1) + timedelta(days=i % 300), measures="退还违规所得，诫勉谈话",
                handling_opinion="诫勉谈话", policy_basis="《医疗机构工作人员廉洁从业九项准则》", rectified=i % 3 != 0,
                rectified_on=date(2026, 6, 1) if i % 3 else None, responsible_person="院长", phone="13900000000",
                own_disclosure=False, created_at=date(2026, 1, 1)) for i in range(base, min(base + 10_000, n))])
            s.commit()
    engine.dispose()


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    url = f"sqlite:///{tempfile.mkdtemp()}/ledger.sqlite3"
    fill(url, n)
    engine = create_engine(url)
    with sessionmaker(engine)() as s:
        out = io.BytesIO()
        t = time.perf_counter()
        rows = write_ledger(s, "individual", out, FilledBy("兴隆台区卫生健康局", "基准", ""), unit="health")
        elapsed = time.perf_counter() - t
        tracemalloc.start()  # a second run under tracemalloc (which slows it) for the peak memory
        write_ledger(s, "individual", io.BytesIO(), FilledBy("兴隆台区卫生健康局", "基准", ""), unit="health")
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"ledger export (Attachment 4) of {rows:,} rows: {elapsed:.1f} s, {rows / elapsed:,.0f} rows/s, "
          f"file {len(out.getvalue()) / 1e6:.1f} MB, peak Python memory while writing {peak / 1e6:.1f} MB "
          f"(process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
