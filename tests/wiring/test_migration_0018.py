"""Migration 0018 (related reports): the reports already on a case are indexed by the upgrade (person,
institution and band keys, signatures), so that a report routed afterwards finds them; downgrade drops
the tables again."""
from datetime import datetime

from sqlalchemy import create_engine, insert, text

from casework.models import Case, CaseReport
from casework.related import band_keys, signature
from core.units import Unit
from tests.wiring.test_setup_and_migrations import REPORT_0007, _fresh_database, report_row
from wiring.migrate import upgrade


def test_upgrade_to_0018_indexes_the_reports_already_on_a_case(backend, request, tmp_path):
    from alembic import command

    from wiring.migrate import alembic_config
    url = _fresh_database(backend, request, tmp_path)
    upgrade(url, "0009")
    engine = create_engine(url)
    now = datetime(2026, 11, 2, 9, 0)
    with engine.begin() as conn:
        conn.execute(insert(Unit.__table__).values(code="health", name="区卫生健康局", name_en="Health"))
        for rid in (1, 2):
            conn.execute(REPORT_0007, report_row(rid, now))
        conn.execute(text("UPDATE reports SET accused_name = '王·小明、李四', accused_institution = '區人民醫院', "
                          "text = '区人民医院骨科主任收受回扣，每套耗材返现两千元。' WHERE id = 1"))
        conn.execute(insert(Case.__table__).values(id=1, report_id=1, status="to_accept", lead_unit="health",
                                                   received_at=now, area=2))
        conn.execute(insert(CaseReport.__table__).values(case_id=1, report_id=1))  # report 2: not routed yet
    upgrade(url, "0018")
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT kind, key FROM report_match_keys WHERE report_id = 1 AND kind != 'band' "
                                 "ORDER BY kind, key")).all()
        assert [tuple(r) for r in rows] == [("inst", "区人民医院"), ("instarea", "2:区人民医院"), ("person", "李四"),
                                            ("person", "王小明")]
        bands = conn.execute(text("SELECT key FROM report_match_keys WHERE report_id = 1 AND kind = 'band'")).scalars()
        assert sorted(bands) == sorted(band_keys(signature("区人民医院骨科主任收受回扣，每套耗材返现两千元。")))
        assert conn.execute(text("SELECT count(*) FROM report_signatures")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM report_match_keys WHERE report_id = 2")).scalar() == 0
    command.downgrade(alembic_config(url), "0009")
    with engine.begin() as conn:
        tables = {"report_match_keys", "report_signatures", "related_candidates", "case_repeats"}
        if backend == "postgresql":
            names = set(conn.execute(text("SELECT tablename FROM pg_tables")).scalars())
        else:
            names = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars())
        assert not tables & names
    engine.dispose()
