"""Split the labelled corpus into train and blind, deterministically: a report is blind when
int(sha256(id)) % 5 == 0 (a fixed fifth, independent of order and of anything measured).

Usage: python bench/split_corpus.py [corpus_dir] — reads corpus_dir/area*.jsonl (default
routing/data/corpus), writes routing/data/train/ and routing/data/blind/ with the same file names.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "routing" / "data"


def is_blind(report_id: str) -> bool:
    return int(hashlib.sha256(report_id.encode("utf-8")).hexdigest(), 16) % 5 == 0


def split(corpus: Path) -> dict[str, tuple[int, int]]:
    counts = {}
    for path in sorted(corpus.glob("area*.jsonl")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        train, blind = [], []
        for line in lines:
            (blind if is_blind(json.loads(line)["id"]) else train).append(line)
        for name, part in (("train", train), ("blind", blind)):
            (DATA / name).mkdir(parents=True, exist_ok=True)
            (DATA / name / path.name).write_text("\n".join(part) + "\n", encoding="utf-8")
        counts[path.name] = (len(train), len(blind))
    return counts


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA / "corpus"
    for name, (t, b) in split(src).items():
        print(f"{name}: train {t}, blind {b}")
