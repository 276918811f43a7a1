"""Classifier speed: reports per second on one core, rules alone and with a learned
model attached (trained on the same dev set). Prints figures; not a test.

Usage: python bench/bench_classify.py [dev_reports.jsonl] [repeat]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.classifier import classify  # noqa: E402
from routing.evaluate import evaluate, format_report, load_rows  # noqa: E402
from routing.learned import LearnedModel  # noqa: E402
from routing.matrix import route  # noqa: E402
from routing.taxonomy import load_taxonomy  # noqa: E402


def rate(tax, rows, repeat: int, learned=None, with_route: bool = False) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        for r in rows:
            c = classify(tax, title=r["title"], text=r["text"], learned=learned)
            if with_route:
                route(tax, c, title=r["title"], text=r["text"])
    return repeat * len(rows) / (time.perf_counter() - start)


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data/dev_reports.jsonl")
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    tax = load_taxonomy(ROOT / "config")
    rows = load_rows(data)
    print(format_report(evaluate(tax, rows)))
    rate(tax, rows, 1)  # warm caches
    chars = sum(len(r["title"]) + len(r["text"]) for r in rows) / len(rows)
    print(f"\n{len(rows)} reports x {repeat}, {chars:.0f} characters on average")
    print(f"  rules only:            {rate(tax, rows, repeat):8.0f} reports/s")
    print(f"  rules + matrix route:  {rate(tax, rows, repeat, with_route=True):8.0f} reports/s")
    model = LearnedModel.train([(f"{r['title']}\n{r['text']}", r["expect"].get("item"))
                                for r in rows])
    model = LearnedModel.from_bytes(model.to_bytes())   # as loaded from the database
    print(f"  rules + learned model: {rate(tax, rows, repeat, learned=model):8.0f} reports/s"
          f"  ({model.version}, {len(model.to_bytes()) / 1024:.0f} KiB stored)")


if __name__ == "__main__":
    main()
