"""Train the shipped corpus model on routing/data/train and write routing/data/model.json.gz.
Prints the out-of-fold figures the calibration and θ were chosen on (train split only).

Usage: python bench/train_corpus_model.py
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.model import SHIPPED  # noqa: E402
from routing.taxonomy import load_taxonomy  # noqa: E402
from routing.train_model import load_train, train  # noqa: E402


def main() -> None:
    tax = load_taxonomy(ROOT / "config")
    rows = load_train()
    start = time.perf_counter()
    model = train(tax, rows)
    data = model.to_bytes()
    SHIPPED.write_bytes(data)
    print(f"{model.version}: {len(rows)} train rows, {len(model.terms)} features, "
          f"{len(data) / 1024:.0f} KiB, trained in {time.perf_counter() - start:.0f} s")
    print("calibration", model.calibration, "threshold", model.threshold)
    print(json.dumps(model.meta, indent=1))


if __name__ == "__main__":
    main()
