"""`flask routing retrain`: the corpus model trained again on the labelled corpus (ROUTING_TRAIN_DIR)
plus people's corrections, stored in the database and used for the next report.

A small corpus (a stratified part of routing/data/train) keeps the training to seconds; the product
path is the same one that trains on the whole corpus."""
import json
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from casework.models import Case, LearnedModelRecord, RoutingCorrection
from casework.runtime import routing_runtime
from intake.models import Report
from routing.model import CorpusModel, model_text
from routing.train_model import load_train
from tests.support.factories import file_report

# A rude clerk, in words the corpus reads as out of scope; people said it was a red envelope (6.4).
RUDE = "昨天在医院挂号排队两个小时，窗口的工作人员态度很差，还对我老母亲大声嚷嚷，希望整改服务态度。"
PER_CLASS = 8


@pytest.fixture
def corpus_dir(tmp_path):
    by_item = defaultdict(list)
    for row in load_train():
        by_item[row["expect"]["item"]].append(row)
    rows = [r for item in sorted(by_item, key=str) for r in by_item[item][:PER_CLASS * (3 if item is None else 1)]]
    path = tmp_path / "corpus"
    path.mkdir()
    with open(path / "area_all.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return path, len(rows)


def p_of(model: CorpusModel, tax, item: str, text: str) -> float:
    return model.predict_proba(model_text("", text, tax.typo_fixer))[item]


def test_retrain_learns_a_correction_on_top_of_the_corpus_and_routing_uses_it(app_factory, corpus_dir):
    path, n_rows = corpus_dir
    app = app_factory(env={"ROUTING_TRAIN_DIR": str(path)})
    runner, session = app.test_cli_runner(), app.extensions["db_sessionmaker"]()
    tax = routing_runtime(app).taxonomy

    before = runner.invoke(args=["routing", "retrain"])
    assert before.exit_code == 0, before.output
    assert f"from {n_rows} report(s) and correction(s)" in before.output
    assert f"{n_rows} labelled report(s), 0 correction(s) learnt" in before.output
    assert "out of fold: threshold" in before.output
    plain = CorpusModel.from_bytes(session.scalar(select(LearnedModelRecord.payload)))
    assert plain.version.startswith(f"lrw-{n_rows}+0-")

    with app.app_context():
        receipt = file_report(session, app.extensions["intake"], title="服务态度差", text=RUDE)
    reference = session.scalar(select(Report.reference).where(Report.id == receipt.report_id))
    fixed = runner.invoke(args=["routing", "correct", reference, "--item", "6.4",
                                "--reason", "家属说护士长收了红包才给加号", "--by", "coordinator"])
    assert fixed.exit_code == 0, fixed.output
    assert session.scalar(select(func.count()).select_from(RoutingCorrection)) == 1

    after = runner.invoke(args=["routing", "retrain"])
    assert after.exit_code == 0, after.output
    assert f"from {n_rows + 1} report(s) and correction(s)" in after.output
    assert f"{n_rows} labelled report(s), 1 correction(s) learnt on top (penalty 0.01)" in after.output
    session.expire_all()
    newest = session.scalars(select(LearnedModelRecord).order_by(LearnedModelRecord.id.desc())).first()
    learnt = CorpusModel.from_bytes(newest.payload)
    assert learnt.version.startswith(f"lrw-{n_rows}+1-") and learnt.meta["corrections_learnt"] == "residual"
    # the correction moved the model toward what people said, on the corrected text ...
    assert p_of(learnt, tax, "6.4", RUDE) > p_of(plain, tax, "6.4", RUDE) + 0.05
    # ... and routing picks the new model up for the next report
    assert routing_runtime(app).learned_model(session).version == learnt.version
    case = session.scalar(select(Case).where(Case.report_id == receipt.report_id))
    assert case.item_code == "6.4"  # the correction itself stands

    again = runner.invoke(args=["routing", "retrain"])  # nothing new: the same model, not a second copy
    assert again.exit_code == 0 and learnt.version in again.output
    # the plain corpus model, the correction-only model `routing correct` stored, the corpus model + 1
    assert session.scalar(select(func.count()).select_from(LearnedModelRecord)) == 3
    session.close()


def test_retrain_without_a_corpus_says_so_and_stores_nothing(app_factory, tmp_path):
    empty = tmp_path / "nothing"
    empty.mkdir()
    app = app_factory(env={"ROUTING_TRAIN_DIR": str(empty)})
    result = app.test_cli_runner().invoke(args=["routing", "retrain"])
    assert result.exit_code != 0 and "no labelled reports in" in result.output
    assert "Traceback" not in result.output
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalar(select(func.count()).select_from(LearnedModelRecord)) == 0
