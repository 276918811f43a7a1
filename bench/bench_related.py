"""Related-report lookup on arrival (casework.related) with many reports: the server time of indexing
one arriving report and finding its related cases (on_arrival, rolled back each time), beside a bare
indexed query of the same table in the same run, on a SQLite file (or DATABASE_URL) filled with N
synthetic routed reports (default 100,000) with their match keys and signatures. Prints figures; not a test.

    .venv/bin/python bench/bench_related.py [N] [DATABASE_URL] [--reuse]

On PostgreSQL the fill uses COPY; `--reuse` measures a database an earlier run filled with N reports."""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, select  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from casework.models import Case, CaseReport  # noqa: E402
from casework.reference import load_negative_list  # noqa: E402
from casework.related import (  # noqa: E402
    RelatedPolicy,
    area_key,
    band_keys,
    institution_key,
    on_arrival,
    person_keys,
    signature,
)
from casework.related_models import ReportSignature  # noqa: E402
from config import CONFIG_DIR  # noqa: E402
from core.units import load_units  # noqa: E402
from intake.match_keys import ReportMatchKey  # noqa: E402
from intake.models import Report  # noqa: E402
from wiring.migrate import upgrade  # noqa: E402

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "建国明华军平志强伟芳娜敏静丽秀英霞杰涛斌超波辉刚勇毅俊峰磊洋勇艳玲桂兰凤云琳"
PHRASES = ["收受医药代表回扣", "每用一套耗材返现", "科室里的护士都知道", "手术前暗示家属给红包", "挂床住院骗取医保",
           "串换药品结算", "线下采购高价药品", "开单提成按月发现金", "诱导病人院外购药", "虚开检查项目",
           "号源倒卖给黄牛", "以讲课费名义输送利益", "药剂科主任指定供应商", "设备招标设置倾向性参数", "病历造假虚增天数",
           "私设小金库发放福利", "要求患者自费购买耗材", "门诊医生收受购物卡", "住院部夜间无人值守", "医保卡被借用刷药"]
ITEMS = [f"{a}.{i}" for a in range(1, 7) for i in range(1, 6)]
# the body of a report: words of everyday text (so that two reports share a few shingles, not most)
CHARS = "".join(sorted(set(SURNAMES + GIVEN + "".join(PHRASES) + "的一是在不了有和人这中大为上个国我以要他时来用们生到作"
                            "地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如"
                            "水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形")))


def synthetic(rnd: random.Random, rid: int) -> dict:
    name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice([1, 2])))
    words = "".join(rnd.choice(CHARS) for _ in range(rnd.randrange(30, 120)))
    text = "，".join(rnd.sample(PHRASES, 2)) + f"，{words}，涉及金额{rnd.randrange(100, 100000)}元。"
    return {"name": name if rnd.random() < 0.7 else "", "institution": f"兴隆台区第{rnd.randrange(1, 300)}医院",
            "text": text, "reporter": f"{rnd.randrange(0, 40_000):032x}" if rnd.random() < 0.5 else None}


def fill(url: str, n: int) -> None:
    upgrade(url)
    engine = create_engine(url)
    rnd = random.Random(18)
    start = datetime(2025, 1, 1)
    with sessionmaker(engine)() as s:
        load_units(s, CONFIG_DIR)
        load_negative_list(s, CONFIG_DIR)
        s.commit()
        for base in range(0, n, 5_000):
            reports, cases, links, keys, sigs = [], [], [], [], []
            for i in range(base, min(base + 5_000, n)):
                rid = i + 1
                at = start + timedelta(minutes=rnd.randrange(0, 60 * 24 * 690))
                data = synthetic(rnd, rid)
                reports.append(dict(id=rid, reference=f"XLT-{at.year}-{rid:06d}", channel="web", received_via="",
                                    received_at=at, title=f"举报 {rid}", text=data["text"], occurred="",
                                    accused_name=data["name"], accused_institution=data["institution"],
                                    accused_position="", anonymous=True, own_conduct=False, status="received",
                                    status_changed_at=at, receipt_hash=rid.to_bytes(32, "big"),
                                    receipt_must_reset=False, created_at=at))
                item = rnd.choice(ITEMS)
                cases.append(dict(id=rid, report_id=rid, status="in_progress", item_code=item, area=int(item[0]),
                                  lead_unit="health", in_scope=True, transfer_suggested=False, routing_reason="",
                                  created_at=at, updated_at=at, how_found="report", not_accepted_reason="",
                                  plan_problem="", plan_measures="", plan_responsible="", plan_goal="",
                                  findings_note="", rectification_note="", received_at=at, deadlines_version=0,
                                  next_due_uncertain=False))
                links.append(dict(case_id=rid, report_id=rid))
                keys += [dict(kind="person", key=k, report_id=rid) for k in person_keys(data["name"])]
                keys.append(dict(kind="inst", key=institution_key(data["institution"]), report_id=rid))
                keys.append(dict(kind="instarea", key=area_key(int(item[0]), institution_key(data["institution"])),
                                 report_id=rid))
                if data["reporter"]:
                    keys.append(dict(kind="reporter", key=data["reporter"], report_id=rid))
                sig = signature(data["text"])
                keys += [dict(kind="band", key=k, report_id=rid) for k in band_keys(sig)]
                sigs.append(dict(report_id=rid, signature=sig.tobytes()))
            if engine.dialect.name == "postgresql":  # COPY: a million reports' 36 million keys in minutes
                cursor = s.connection().connection.driver_connection.cursor()
                for table, rows in ((Report.__table__, reports), (Case.__table__, cases),
                                    (CaseReport.__table__, links), (ReportMatchKey.__table__, keys),
                                    (ReportSignature.__table__, sigs)):
                    columns = list(rows[0])
                    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row([row[c] for c in columns])
            else:
                s.execute(insert(Report), reports)
                s.execute(insert(Case), cases)
                s.execute(insert(CaseReport), links)
                s.execute(insert(ReportMatchKey), keys)
                s.execute(insert(ReportSignature), sigs)
            s.commit()
    engine.dispose()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def measure(url: str, n: int, rounds: int = 200, warm_up: int = 20) -> None:
    """`rounds` arrivals measured after `warm_up` arrivals that are not (the first queries of a process
    read the indexes' pages from disk; a running service has them in memory)."""
    engine = create_engine(url)
    policy, rnd = RelatedPolicy(), random.Random(99)
    arrival, bare = [], []
    with sessionmaker(engine)() as s:
        for r in range(rounds + warm_up):
            if r == warm_up:
                arrival, bare = [], []
            rid = n + 1 + r
            data = synthetic(rnd, rid)
            at = datetime(2026, 11, 1) + timedelta(minutes=r)
            report = Report(id=rid, reference=f"XLT-2026-9{rid:06d}", channel="web", received_at=at, title="新举报",
                            text=data["text"], accused_name=data["name"], accused_institution=data["institution"],
                            receipt_hash=(10**9 + rid).to_bytes(32, "big"))
            case = Case(id=rid, report_id=rid, status="to_accept", item_code=rnd.choice(ITEMS), lead_unit="health",
                        received_at=at)
            case.area = int(case.item_code[0])
            s.add_all([report, case])
            s.flush()
            t = time.perf_counter()
            on_arrival(s, policy, case, report)
            s.flush()
            arrival.append((time.perf_counter() - t) * 1000)
            key = person_keys(data["name"])[:1] or ["王建国"]
            t = time.perf_counter()
            s.scalars(select(ReportMatchKey.report_id).where(ReportMatchKey.kind == "person",
                                                             ReportMatchKey.key == key[0])
                      .order_by(ReportMatchKey.report_id.desc()).limit(50)).all()
            bare.append((time.perf_counter() - t) * 1000)
            s.rollback()
    engine.dispose()
    for label, values in (("related lookup on arrival (index + find)", arrival),
                          ("baseline: bare indexed query (person key, LIMIT 50)", bare)):
        print(f"{label:55s} p50 {statistics.median(values):7.2f} ms  p95 {pct(values, 95):7.2f} ms  "
              f"({len(values)} rounds after {warm_up} warm-up, {n:,} reports)")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    url = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("BENCH_DATABASE_URL")
    if url is None:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench_related.sqlite3"
    if "--reuse" not in sys.argv:  # --reuse: measure a database an earlier run filled with N reports
        t = time.perf_counter()
        fill(url, n)
        print(f"filled {n:,} reports in {time.perf_counter() - t:.0f} s ({url.split(':')[0]})")
    measure(url, n)


if __name__ == "__main__":
    main()
