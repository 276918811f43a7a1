"""Out-of-fold figures of the corpus model's training settings, on routing/data/train only
(the figures issue 16 is judged on, as `classify-eval` counts them, but from stratified 5-fold
out-of-fold predictions; θ and the calibration chosen on the same rows, as train() does).
Nothing here reads routing/data/blind/.

Usage: python bench/oof_corpus_model.py [NAME=VALUE ...]   (routing.train_model settings,
e.g. MAX_WORD_FEATURES=0 C=10, and SEED=n for the fold split; several runs: separate the settings of each by `--`)
"""
from __future__ import annotations

import ast
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing import train_model  # noqa: E402
from routing.classifier import rules_distribution  # noqa: E402
from routing.combine import rules_array  # noqa: E402
from routing.model import Calibration, item_of  # noqa: E402
from routing.taxonomy import load_taxonomy  # noqa: E402


def _area(code):
    return code.split(".")[0] if code else None


def figures(tax, rows: list[dict], o: dict) -> dict:
    """The classify-eval figures from out-of-fold calibrated probabilities and θ."""
    items = [item_of(c) for c in o["classes"]]
    p, theta = o["p"], o["chosen"]["threshold"]
    n = len(rows)
    why = Counter()
    c = dict(area=0, item1=0, item3=0, lead=0, oos=0, oos_right=0, in_rows=0, in_out=0, triaged=0,
             auto=0, auto_wrong=0)
    for i, row in enumerate(rows):
        want, lead_want = row["expect"].get("item"), row["expect"].get("lead_unit")
        out = p[i, -1] >= 0.5
        order = [items[j] for j in np.argsort(-p[i, :-1])]
        got = None if out else order[0]
        c["item1"] += got == want
        c["item3"] += (want is None and got is None) or (not out and want in order[:3])
        c["area"] += _area(got) == _area(want)
        if want is None:
            c["oos"] += 1
            c["oos_right"] += got is None
        else:
            c["in_rows"] += 1
            c["in_out"] += got is None
        auto = not o["always"][i] and o["lead_p"][i] >= theta
        c["triaged"] += not auto
        c["auto"] += auto
        ok = o["lead_ok"][i] if auto else lead_want == tax.matrix.triage_unit
        c["lead"] += bool(ok)
        if not ok:
            kind = ("auto" if auto else "triaged") + (" 1.x" if (want or "").startswith("1.") else
                                                     " none" if want is None else " other")
            why[kind + (" item right" if got == want else " item wrong")] += 1
        c["auto_wrong"] += auto and not o["lead_ok"][i]
    return {"area": c["area"] / n, "item@1": c["item1"] / n, "item@3": c["item3"] / n,
            "lead": c["lead"] / n, "oos_recall": c["oos_right"] / c["oos"],
            "in_called_out": c["in_out"] / c["in_rows"], "triage": c["triaged"] / n,
            "wrong_auto": c["auto_wrong"] / max(c["auto"], 1), "theta": theta,
            "log_loss": float(-np.log(p[np.arange(n), o["y"]]).mean()), "why": dict(why)}


def main(argv: list[str]) -> None:
    tax = load_taxonomy(ROOT / "config")
    rows = train_model.load_train()
    labels = sorted({train_model.label_of(r["expect"].get("item")) for r in rows})
    classes = [item_of(c) for c in train_model.order_classes(labels)]
    start = time.process_time()
    log_rules = np.stack([rules_array(rules_distribution(
        tax, title=r.get("title", ""), text=r.get("text", ""), accused=r.get("accused"))[0],
        classes, Calibration().eps) for r in rows])
    print(f"rules on {len(rows)} train rows: {time.process_time() - start:.1f} s CPU", flush=True)
    runs = [[]]
    for a in argv:
        if a == "--":
            runs.append([])
        else:
            runs[-1].append(a)
    defaults = {k: getattr(train_model, k) for k in dir(train_model) if k.isupper()}
    for settings in runs:
        for k, v in defaults.items():
            setattr(train_model, k, v)
        seed, dump = 0, None
        for s in settings:
            k, v = s.split("=", 1)
            if k == "SEED":     # the fold split
                seed = int(v)
                continue
            if k == "DUMP":     # the out-of-fold arrays to a local file, for analysis
                dump = v
                continue
            if k not in defaults:
                raise SystemExit(f"unknown setting {k}")
            setattr(train_model, k, ast.literal_eval(v))
        t0, c0 = time.perf_counter(), time.process_time()
        o = train_model.out_of_fold(tax, rows, seed=seed, log_rules=log_rules)
        f = figures(tax, rows, o)
        if dump:
            import pickle
            with open(dump, "wb") as fh:
                pickle.dump({k: v for k, v in o.items() if k not in ("texts", "c_texts")}, fh)
        why = f.pop("why")
        print(" ".join(settings) or "(defaults)", "|",
              " ".join(f"{k} {v:.4f}" if k in ("theta", "log_loss") else f"{k} {100 * v:.1f}"
                       for k, v in f.items()),
              "| lead wrong:", ", ".join(f"{k} {v}" for k, v in sorted(why.items())),
              f"| cal a={o['cal'].a:.3f} b={o['cal'].b:.3f} none={o['cal'].bias_none:.2f} "
              f"T={o['cal'].temperature:.2f} unit T={o['unit_temperature']:.3f} lead mix={o.get('lead_mix')} | "
              f"{time.perf_counter() - t0:.0f} s wall, "
              f"{time.process_time() - c0:.0f} s CPU", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
