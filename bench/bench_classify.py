"""Classifier speed: reports per second on one core. Prints figures; not a test.

Default mode (dev set): rules alone, rules + matrix route, rules + a correction-only
learned model trained on the same dev set.
--corpus mode: the reports of routing/data/train (realistic lengths, long transcripts
included) through what `classify` runs for each line - rules, the shipped corpus model,
the calibrated combination and the matrix route - one report at a time (as the web form's
report is routed) and in batches of 64 (as `flask classify` and the routing job run them:
the model reads a batch at once, routing.model_batch), beside baselines measured in the
same run: the normalisation alone, and the rules alone.

Usage: python bench/bench_classify.py [dev_reports.jsonl] [repeat]
       python bench/bench_classify.py --corpus [repeat]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.classifier import classify, classify_many  # noqa: E402
from routing.evaluate import evaluate, format_report, load_rows  # noqa: E402
from routing.learned import LearnedModel  # noqa: E402
from routing.matrix import route  # noqa: E402
from routing.model import shipped_model  # noqa: E402
from routing.normalise import normalise  # noqa: E402
from routing.taxonomy import load_taxonomy  # noqa: E402
from routing.train_model import load_train  # noqa: E402


def rate(tax, rows, repeat: int, learned=None, with_route: bool = False) -> float:
    start = time.process_time()
    for _ in range(repeat):
        for r in rows:
            c = classify(tax, title=r["title"], text=r["text"], learned=learned)
            if with_route:
                route(tax, c, title=r["title"], text=r["text"])
    return repeat * len(rows) / (time.process_time() - start)


def batch_rate(tax, rows, repeat: int, learned, size: int = 64) -> float:
    """What `flask classify` and the routing job run: classify_many on batches of `size`, then route."""
    start = time.process_time()
    for _ in range(repeat):
        for at in range(0, len(rows), size):
            batch = rows[at:at + size]
            for r, c in zip(batch, classify_many(tax, batch, learned)):
                route(tax, c, title=r["title"], text=r["text"])
    return repeat * len(rows) / (time.process_time() - start)


def normalise_rate(rows, repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        for r in rows:
            normalise(f"{r['title']}\n{r['text']}")
    return repeat * len(rows) / (time.process_time() - start)


def corpus_mode(tax, repeat: int) -> None:
    rows = load_train()
    model = shipped_model()
    rate(tax, rows[:200], 1, learned=model, with_route=True)  # warm caches
    chars = sum(len(r["title"]) + len(r["text"]) for r in rows) / len(rows)
    longest = max(len(r["title"]) + len(r["text"]) for r in rows)
    print(f"{len(rows)} train reports x {repeat}, {chars:.0f} characters on average, longest {longest};"
          " CPU time of this process (one core)")
    print(f"  normalisation alone:            {normalise_rate(rows, repeat):8.0f} reports/s")
    print(f"  rules only:                     {rate(tax, rows, repeat):8.0f} reports/s")
    print(f"  rules + corpus model + route:   {rate(tax, rows, repeat, model, True):8.0f} reports/s"
          f"  ({model.version}, one report at a time: the web form)")
    print(f"  the same, batches of 64:        {batch_rate(tax, rows, repeat, model):8.0f} reports/s"
          "  (classify_many: `flask classify`, classify-eval, the routing job)")


def main() -> None:
    if {"-h", "--help"} & set(sys.argv[1:]):  # the usage, not a run
        print(__doc__)
        raise SystemExit(0)
    tax = load_taxonomy(ROOT / "config")
    if "--corpus" in sys.argv:
        args = [a for a in sys.argv[1:] if a != "--corpus"]
        return corpus_mode(tax, int(args[0]) if args else 3)
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/work/shared/data/dev_reports.jsonl")
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 20
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
