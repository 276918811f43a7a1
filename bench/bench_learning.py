"""Does learning from corrections help? Prints figures; not a test.

Split: the labelled reports are grouped by expected item (None = out of scope); within
each group, in file order, every second report goes to training (the "corrections"),
the others to testing - a fixed, stratified split. For each test half the rules alone
and the rules + the learned model are measured with routing.evaluate.

Caveat printed with the figures: the rules were written while looking at the whole dev
set, so its test half is not unseen for the rules. The second scenario ("cold rules")
removes the item-level cues of one area at a time from the rules - as if the reports
used words the rules do not know - and shows what the corrections recover.

The last scenario ("--corpus") does the same on another labelled corpus (default:
bench/holdout_c.jsonl when it exists, else tests/routing/corpus_b.jsonl): its first half
of the fixed stratified split plays the human corrections, the second half is measured
rules-only and rules + learned. Only aggregate figures are printed, never a report's id
or text, so that a held-out corpus leaves no trace in anyone's tuning.

"--new-voice" (bench/new_voice.jsonl: formal referral letters from other agencies, a register
the corpus lacks): the corpus model is trained again on routing/data/train plus the first half
of those letters as corrections (learnt on top of the corpus model, routing.train_model.fit_residual) and the second half is measured before (the
shipped corpus model) and after; also with the quick path used after each correction in the
app (the shipped model + a correction-only model of the first half).

Usage: python bench/bench_learning.py [dev_reports.jsonl] [config_dir] [--corpus PATH]
       python bench/bench_learning.py --new-voice [bench/new_voice.jsonl]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.evaluate import evaluate, load_rows  # noqa: E402
from routing.learned import LearnedModel  # noqa: E402
from routing.taxonomy import load_taxonomy  # noqa: E402

KEYS = ("area_accuracy", "item_accuracy_at_1", "item_accuracy_at_3", "lead_unit_accuracy",
        "out_of_scope_recall", "in_scope_called_out_share")


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    groups: dict = {}
    for r in rows:
        groups.setdefault(r["expect"].get("item"), []).append(r)
    train, test = [], []
    for members in groups.values():
        for i, r in enumerate(members):
            (train if i % 2 == 0 else test).append(r)
    return train, test


def examples(rows: list[dict]) -> list[tuple[str, str | None]]:
    return [(f"{r.get('title', '')}\n{r.get('text', '')}", r["expect"].get("item"))
            for r in rows]


def line(label: str, res: dict) -> str:
    return f"  {label:<16}" + "".join(f"{100 * res[k]:9.1f}" for k in KEYS)


def diff_line(label: str, after: dict, before: dict) -> str:
    return f"  {label:<16}" + "".join(f"{100 * (after[k] - before[k]):+9.1f}" for k in KEYS)


def default_corpus() -> Path:
    held = ROOT / "bench/holdout_c.jsonl"
    return held if held.exists() else ROOT / "tests/routing/corpus_b.jsonl"


def corpus_scenario(tax, path: Path, number: int) -> None:
    """Half of ``path`` as corrections, the other half measured: aggregates only."""
    train, test = split(load_rows(path))
    model = LearnedModel.train(examples(train))
    model = LearnedModel.from_bytes(model.to_bytes())   # as loaded from the database
    print(f"{number}) corpus {path.name}: half 1 ({len(train)} reports) as corrections, "
          f"half 2 ({len(test)}) measured; model weight {model.weight:.2f}, "
          f"{len(model.classes)} classes")
    print(header())
    rules = evaluate(tax, test)
    both = evaluate(tax, test, learned=model)
    print(line("rules", rules))
    print(line("rules+learned", both))
    print(diff_line("difference", both, rules))
    sums = {"rules": dict.fromkeys(KEYS, 0.0), "rules+learned": dict.fromkeys(KEYS, 0.0)}
    for area in sorted(tax.areas):
        t = cold(tax, area)
        for label, res in (("rules", evaluate(t, test)),
                           ("rules+learned", evaluate(t, test, learned=model))):
            for k in KEYS:
                sums[label][k] += res[k] / len(tax.areas)
    print("   cold rules (as in 2):")
    for label, res in sums.items():
        print(line(label, res))
    print(diff_line("difference", sums["rules+learned"], sums["rules"]))


def new_voice_scenario(tax, path: Path) -> None:
    """The corpus model learning a new voice from corrections (see the module docstring)."""
    from routing.model import shipped_model
    from routing.train_model import load_train, train

    first, second = split(load_rows(path))
    after = train(tax, load_train(), examples(first))
    before = shipped_model()
    quick = before.with_corrections(LearnedModel.train(examples(first)))
    print(f"new voice {path.name}: half 1 ({len(first)} letters) as corrections, half 2 "
          f"({len(second)}) measured; before {before.version}, after {after.version} (corrections learnt as "
          f"{after.meta.get('corrections_learnt', 'rows')}, penalty {after.meta.get('residual_penalty')})")
    print(header() + f"{'triage':>9}{'wrong':>9}")
    keys = ("triaged_share", "wrong_unit_among_auto_routed")
    for label, model in (("corpus model", before), ("+ quick corr.", quick), ("retrained", after)):
        res = evaluate(tax, second, learned=model)
        print(line(label, res) + "".join(f"{100 * res[k]:9.1f}" for k in keys))


def header() -> str:
    return " " * 18 + "".join(f"{k[:9]:>9}" for k in
                              ("area", "item@1", "item@3", "lead", "oos-rec", "in->out"))


def cold(tax, area: int):
    """The taxonomy without the item-level cues of ``area`` (area cues kept)."""
    items = {c: (dataclasses.replace(it, cues=()) if it.area == area else it)
             for c, it in tax.items.items()}
    return dataclasses.replace(tax, items=items)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", nargs="?", type=Path,
                    default=ROOT.parent / "shared/data/dev_reports.jsonl")
    ap.add_argument("config", nargs="?", type=Path, default=ROOT / "config")
    ap.add_argument("--corpus", type=Path, default=None,
                    help="labelled corpus for the last scenario (default: "
                         "bench/holdout_c.jsonl if present, else tests/routing/corpus_b.jsonl)")
    ap.add_argument("--new-voice", nargs="?", type=Path, const=ROOT / "bench/new_voice.jsonl",
                    default=None, help="only the new-voice scenario (see above)")
    args = ap.parse_args()
    if args.new_voice:
        return new_voice_scenario(load_taxonomy(args.config), args.new_voice)
    data = args.data
    if not data.exists():
        data = Path("/work/shared/data/dev_reports.jsonl")
    tax = load_taxonomy(args.config)
    train, test = split(load_rows(data))
    model = LearnedModel.train(examples(train))
    print(f"train {len(train)} / test {len(test)} reports; model {model.version}, "
          f"weight {model.weight:.2f}, {len(model.classes)} classes")
    print("1) dev split, full rules (rules were written on the whole dev set):")
    print(header())
    print(line("rules", evaluate(tax, test)))
    print(line("rules+learned", evaluate(tax, test, learned=model)))
    print("2) cold rules: item cues of one area removed, averaged over the 6 areas:")
    sums = {"rules": dict.fromkeys(KEYS, 0.0), "rules+learned": dict.fromkeys(KEYS, 0.0)}
    for area in sorted(tax.areas):
        t = cold(tax, area)
        for label, res in (("rules", evaluate(t, test)),
                           ("rules+learned", evaluate(t, test, learned=model))):
            for k in KEYS:
                sums[label][k] += res[k] / len(tax.areas)
    print(header())
    for label, res in sums.items():
        print(line(label, res))
    extra_files = [ROOT / "tests/routing/own_reports.jsonl",
                   ROOT / "tests/routing/blind_reports.jsonl"]
    extra = [r for f in extra_files if f.exists() for r in load_rows(f)]
    if extra:
        more = LearnedModel.train(examples(train + extra))
        print(f"3) more corrections: train half + {len(extra)} reports written separately "
              f"(tests/routing), {len(train) + len(extra)} in all; model {more.version}, "
              f"weight {more.weight:.2f}")
        print(header())
        print(line("rules", evaluate(tax, test)))
        print(line("rules+learned", evaluate(tax, test, learned=more)))
        sums = {"rules": dict.fromkeys(KEYS, 0.0), "rules+learned": dict.fromkeys(KEYS, 0.0)}
        for area in sorted(tax.areas):
            t = cold(tax, area)
            for label, res in (("rules", evaluate(t, test)),
                               ("rules+learned", evaluate(t, test, learned=more))):
                for k in KEYS:
                    sums[label][k] += res[k] / len(tax.areas)
        print("   cold rules (as in 2):")
        for label, res in sums.items():
            print(line(label, res))
    corpus = args.corpus or default_corpus()
    if corpus.exists():
        corpus_scenario(tax, corpus, 4 if extra else 3)


if __name__ == "__main__":
    main()
