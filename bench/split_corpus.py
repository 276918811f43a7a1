"""Split the labelled corpus into train and blind, deterministically: a report is blind when
int(sha256(id)) % 5 == 0 (a fixed fifth, independent of order and of anything measured).

History: this made routing/data/train and routing/data/blind until 2026-12-03, when the spent blind fifth
was merged into train (routing/data/README.md); routing/data/blind now holds a set written independently,
so this script no longer writes under routing/data.

Usage: python bench/split_corpus.py CORPUS_DIR OUT_DIR — reads CORPUS_DIR/area*.jsonl, writes
OUT_DIR/train/ and OUT_DIR/blind/ with the same file names (OUT_DIR must not be routing/data).
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


def split(corpus: Path, out: Path) -> dict[str, tuple[int, int]]:
    if out.resolve() == DATA.resolve():
        raise SystemExit("routing/data/blind is the independent set now: write the split elsewhere")
    counts = {}
    for path in sorted(corpus.glob("area*.jsonl")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        train, blind = [], []
        for line in lines:
            (blind if is_blind(json.loads(line)["id"]) else train).append(line)
        for name, part in (("train", train), ("blind", blind)):
            (out / name).mkdir(parents=True, exist_ok=True)
            (out / name / path.name).write_text("\n".join(part) + "\n", encoding="utf-8")
        counts[path.name] = (len(train), len(blind))
    return counts


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    for name, (t, b) in split(Path(sys.argv[1]), Path(sys.argv[2])).items():
        print(f"{name}: train {t}, blind {b}")
