"""Routing wired to intake: every received report gets a stored classification and a case."""
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casework.learned_store import retrain
from casework.models import Case, Classification, LearnedModelRecord, NegativeListItem, RoutingCorrection
from casework.opening import CorrectionError, correct_routing, route_report, route_unrouted
from casework.runtime import routing_runtime
from tests.support.factories import file_report

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "dev_reports.jsonl"

INSURANCE = ("兴隆台区某医院长期挂床住院，病人白天回家，晚上也不在病房，医院照样记住院天数向医保报销，"
             "还串换药品，把自费药换成医保目录内的药结算。")
RUDE = "昨天在医院挂号排队两个小时，窗口的工作人员态度很差，还对我老母亲大声嚷嚷，希望整改服务态度。"


def case_of(session, report_id):
    return session.scalar(select(Case).where(Case.report_id == report_id))


def submit(app, session, ctx, **kw):
    with app.app_context():
        return file_report(session, ctx, **kw)


def test_setup_loads_the_thirty_items_with_their_wording(session):
    assert session.scalar(select(func.count()).select_from(NegativeListItem)) == 30
    item = session.get(NegativeListItem, "6.4")
    assert item.area == 6 and "红包" in item.wording


def test_a_received_report_is_classified_and_routed_to_the_lead_unit(app, session, ctx):
    receipt = submit(app, session, ctx, title="挂床住院骗保", text=INSURANCE)
    case = case_of(session, receipt.report_id)
    assert case.item_code.startswith("4.") and case.area == 4
    assert case.lead_unit == "medinsure" and case.status == "to_accept"
    assert {u.unit_code: u.role for u in case.units}["medinsure"] == "lead"
    stored = session.scalar(select(Classification).where(Classification.report_id == receipt.report_id))
    assert stored.rules_version == routing_runtime(app).taxonomy.rules_version
    assert stored.candidates[0]["item"] == case.item_code and stored.candidates[0]["evidence"]
    assert stored.routing["lead_unit"] == "medinsure" and stored.error is None


def test_out_of_scope_goes_to_task_force_triage(app, session, ctx):
    receipt = submit(app, session, ctx, title="服务态度差", text=RUDE)
    case = case_of(session, receipt.report_id)
    assert case.status == "triage" and case.lead_unit == "taskforce" and case.in_scope is False
    assert case.item_code is None and case.assist_units == []


def test_a_classifier_failure_sends_the_report_to_triage_and_loses_nothing(app, session, ctx, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("rules file corrupt")

    monkeypatch.setattr("casework.opening.classify", broken)
    receipt = submit(app, session, ctx, text=INSURANCE)
    case = case_of(session, receipt.report_id)
    assert case.status == "triage" and case.lead_unit == "taskforce"
    stored = session.scalar(select(Classification).where(Classification.report_id == receipt.report_id))
    assert "rules file corrupt" in stored.error
    assert "classifier failed" in caplog.text


def test_reports_missed_by_the_subscriber_are_swept(app, session, ctx, monkeypatch):
    monkeypatch.setattr("casework.runtime.route_report", lambda *a, **k: (_ for _ in ()).throw(OSError("db down")))
    receipt = submit(app, session, ctx, text=INSURANCE)
    assert case_of(session, receipt.report_id) is None
    monkeypatch.undo()
    tax = routing_runtime(app).taxonomy
    assert route_unrouted(session, tax) == 1
    assert case_of(session, receipt.report_id).lead_unit == "medinsure"
    assert route_unrouted(session, tax) == 0
    assert route_report(session, tax, receipt.report_id).id == case_of(session, receipt.report_id).id


def test_reports_over_the_web_and_api_are_routed_too(client, session):
    resp = client.post("/api/v1/reports", data=json.dumps({"text": INSURANCE}), content_type="application/json")
    assert resp.status_code == 201
    assert session.scalar(select(Case)).lead_unit == "medinsure"


def test_a_correction_reroutes_keeps_the_reason_and_teaches_the_learned_model(app, session, ctx):
    tax = routing_runtime(app).taxonomy
    receipt = submit(app, session, ctx, title="服务态度差", text=RUDE)
    case = case_of(session, receipt.report_id)
    correct_routing(session, tax, case, item="6.4", reason="家属私下说护士长收了红包才给加号", by="coordinator")
    session.refresh(case)
    assert case.item_code == "6.4" and case.lead_unit == "health" and case.status == "to_accept"
    correction = session.scalar(select(RoutingCorrection))
    assert (correction.old_item, correction.new_item, correction.old_lead, correction.new_lead) == (None, "6.4", "taskforce", "health")
    assert correction.reason.startswith("家属") and correction.corrected_by == "coordinator"
    record = retrain(session)
    assert record.examples == 1 and session.scalar(select(func.count()).select_from(LearnedModelRecord)) == 1
    assert routing_runtime(app).learned_model(session).version == record.version
    assert retrain(session).id == record.id  # same corrections, same model


def test_correcting_the_lead_unit_only_keeps_the_item_and_takes_the_matrix_assistants(app, session, ctx):
    tax = routing_runtime(app).taxonomy
    receipt = submit(app, session, ctx, text=INSURANCE)
    case = case_of(session, receipt.report_id)
    item = case.item_code
    correct_routing(session, tax, case, lead_unit="audit", reason="涉及采购审计", by="coordinator")
    session.refresh(case)
    assert case.item_code == item and case.lead_unit == "audit" and "audit" not in case.assist_units


@pytest.mark.parametrize("kwargs,message", [
    ({"item": "9.9", "reason": "x"}, "unknown item"),
    ({"lead_unit": "mayor", "reason": "x"}, "unknown unit"),
    ({"item": "4.1", "reason": "  "}, "reason is required"),
])
def test_bad_corrections_are_refused(app, session, ctx, kwargs, message):
    receipt = submit(app, session, ctx, text=INSURANCE)
    with pytest.raises(CorrectionError, match=message):
        correct_routing(session, routing_runtime(app).taxonomy, case_of(session, receipt.report_id), by="x", **kwargs)


def test_versions_are_recorded_with_the_learned_model(app, session, ctx):
    tax = routing_runtime(app).taxonomy
    first = submit(app, session, ctx, title="服务态度差", text=RUDE)
    correct_routing(session, tax, case_of(session, first.report_id), item="6.4", reason="红包", by="c")
    record = retrain(session)
    second = submit(app, session, ctx, text=INSURANCE)
    stored = session.scalar(select(Classification).where(Classification.report_id == second.report_id))
    assert stored.model_version == record.version and stored.rules_version == tax.rules_version


def test_export_carries_the_routing_fields(app, runner, session, ctx):
    submit(app, session, ctx, text=INSURANCE)
    row = json.loads(runner.invoke(args=["reports", "export"]).output.splitlines()[0])
    assert row["lead_unit"] == "medinsure" and row["item"].startswith("4.") and row["case_status"] == "to_accept"


def test_classify_command_prints_one_line_per_input(runner, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "a", "title": "", "text": INSURANCE, "channel": "web", "ignored": 1},
        {"id": "b", "title": "", "text": RUDE, "channel": "phone"}]), encoding="utf-8")
    result = runner.invoke(args=["classify", str(path)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.output.splitlines()]
    assert [x["id"] for x in lines] == ["a", "b"]
    assert set(lines[0]) >= {"id", "item", "candidates", "lead_unit", "assist_units", "in_scope", "confidence", "evidence"}
    assert lines[0]["lead_unit"] == "medinsure" and len(lines[0]["candidates"]) <= 3 and lines[0]["evidence"]
    assert lines[1]["item"] is None and lines[1]["in_scope"] is False and lines[1]["lead_unit"] == "taskforce"


def test_classify_command_rejects_broken_lines_clearly(runner, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1, "text": "x"}\nnot json\n', encoding="utf-8")
    result = runner.invoke(args=["classify", str(path)])
    assert result.exit_code != 0 and "line 2: not valid JSON" in result.output
    assert json.loads(result.output.splitlines()[0])["id"] == 1    # the line before it is still answered


def _lines_then(tmp_path, bad: dict):
    rows = [{"id": f"ok{i}", "title": "", "text": "医院医生收红包回扣" * (i + 1)} for i in range(5)] + [bad]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=True) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("bad, message", [
    ({"id": "bad", "text": "医院", "accused": {"position": {"a": 1}}}, "line 6: 'accused.position' must be text"),
    ({"id": "bad", "text": "医院\ud800收红包"}, "line 6: 'text' is not valid Unicode"),
    ({"id": "bad", "title": 5, "text": "医院"}, "line 6: 'title' must be text"),
])
def test_a_line_that_cannot_be_classified_is_named_and_the_lines_before_it_answered(runner, tmp_path, bad, message):
    result = runner.invoke(args=["classify", str(_lines_then(tmp_path, bad))])
    assert result.exit_code != 0 and message in result.output
    assert [json.loads(x)["id"] for x in result.output.splitlines() if x.startswith("{")] == [f"ok{i}" for i in range(5)]


def test_a_line_the_classifier_fails_on_keeps_the_answers_before_it(runner, tmp_path, monkeypatch):
    from routing import classifier
    real = classifier.classify

    def failing(tax, *, title, text, **kw):
        if "BOOM" in text:
            raise RuntimeError("the rules exploded")
        return real(tax, title=title, text=text, **kw)

    monkeypatch.setattr(classifier, "classify", failing)
    result = runner.invoke(args=["classify", str(_lines_then(tmp_path, {"id": "bad", "text": "BOOM 医院"}))])
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    assert [json.loads(x)["id"] for x in result.output.splitlines() if x.startswith("{")] == [f"ok{i}" for i in range(5)]


def test_classify_answers_a_long_file_in_batches_as_one_line_at_a_time(app_factory, tmp_path):
    """More lines than one batch (routing.cli.BATCH): every line answered, in order, as classify_line alone
    answers it with the same runtime (the corpus model reading each batch at once)."""
    from routing.cli import BATCH, classify_line
    from routing.train_model import load_train

    app = app_factory(env={"ROUTING_SHIPPED_MODEL": "true"})
    rows = [{"id": f"r{i}", "title": r["title"], "text": r["text"], "channel": r.get("channel", "web")}
            for i, r in enumerate(load_train()[::13])]
    rows.insert(7, {"id": "accused", "title": "", "text": INSURANCE,
                    "accused": {"name": "王五", "institution": "医保局", "position": "局长"}})
    assert len(rows) > BATCH
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["classify", str(path)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.output.splitlines()]
    assert [x["id"] for x in lines] == [r["id"] for r in rows]
    with app.app_context():
        runtime = routing_runtime()
        learned = runtime.learned_model_if_reachable()
        assert learned is not None and learned.version.startswith("lrw-")
        for row, line in zip(rows, lines):
            alone = classify_line(runtime.taxonomy, row, learned)
            for key in ("item", "lead_unit", "triage", "in_scope", "second_item", "assist_units"):
                assert line[key] == alone[key], (row["id"], key)
            assert abs(line["probability"] - alone["probability"]) < 1e-4
    assert lines[7]["lead_unit"] == "taskforce"     # the accused leadership of 医保局: the task force leads


@pytest.mark.skipif(not DEV.exists(), reason="shared dev set not present")
def test_classify_eval_prints_the_figures_on_the_dev_set(runner):
    result = runner.invoke(args=["classify-eval", str(DEV)])
    assert result.exit_code == 0, result.output
    for label in ("area accuracy", "item accuracy @1", "item accuracy @3", "lead-unit accuracy",
                  "out-of-scope precision", "out-of-scope recall"):
        assert label in result.output
    figures = json.loads(runner.invoke(args=["classify-eval", "--json", str(DEV)]).output)
    assert figures["area_accuracy"] >= 0.95 and figures["item_accuracy_at_1"] >= 0.85
    assert figures["item_accuracy_at_3"] >= 0.95 and figures["lead_unit_accuracy"] >= 0.92
    assert figures["out_of_scope_recall"] >= 0.80 and figures["in_scope_called_out_share"] <= 0.03


def test_routing_correct_command(app, runner, session, ctx):
    receipt = submit(app, session, ctx, title="服务态度差", text=RUDE)
    result = runner.invoke(args=["routing", "correct", receipt.reference, "--item", "6.4", "--reason", "红包",
                                 "--by", "coordinator"])
    assert result.exit_code == 0, result.output
    assert "lead health" in result.output and "learned model" in result.output
    bad = runner.invoke(args=["routing", "correct", "XLT-1999-000001", "--reason", "x", "--by", "y"])
    assert bad.exit_code != 0 and "no case" in bad.output


def pending(session):
    from intake.models import PendingRouting
    session.expire_all()
    return session.scalars(select(PendingRouting.report_id).order_by(PendingRouting.report_id)).all()


def test_without_routing_in_the_request_the_routing_job_opens_the_cases(app_factory, tmp_path):
    """The production layout: the submission only queues the report; the scheduler's job routes it."""
    from core.db import new_session
    from jobs.tasks import routing_job
    app = app_factory(env={"ROUTING_IN_REQUEST": "false"})
    client = app.test_client()
    for text in (INSURANCE, RUDE, INSURANCE + "另有一家药店刷医保卡换生活用品。"):
        resp = client.post("/api/v1/reports", data=json.dumps({"text": text}), content_type="application/json")
        assert resp.status_code == 201
    with app.app_context(), new_session() as session:
        queued = pending(session)
        assert len(queued) == 3
        assert all(case_of(session, rid) is None for rid in queued)
        assert routing_job(app, batch=2) == 3  # two batches
        assert pending(session) == []
        cases = [case_of(session, rid) for rid in queued]
        assert [c.lead_unit for c in cases][0] == "medinsure"
        assert all(c.status in ("to_accept", "triage") for c in cases)
        assert all(c.next_due_on is not None for c in cases)  # deadlines computed by the job
        assert routing_job(app) == 0


def test_a_report_that_fails_to_route_stays_queued_and_does_not_hold_up_the_others(app_factory, monkeypatch, caplog):
    from casework import opening as service
    from core.db import new_session
    from jobs.tasks import routing_job
    app = app_factory(env={"ROUTING_IN_REQUEST": "false"})
    client = app.test_client()
    for text in (INSURANCE, RUDE):
        assert client.post("/api/v1/reports", data=json.dumps({"text": text}),
                           content_type="application/json").status_code == 201
    with app.app_context():
        with new_session() as session:
            first, second = pending(session)
        real_sync = service.sync_deadlines

        def sync_failing_for_first(session, case, *a, **k):
            if case.report_id == first:
                raise OSError("disk full")
            return real_sync(session, case, *a, **k)

        monkeypatch.setattr(service, "sync_deadlines", sync_failing_for_first)
        assert routing_job(app) == 1
        assert f"routing report {first} failed" in caplog.text
        with new_session() as session:
            assert pending(session) == [first]
            assert case_of(session, first) is None and case_of(session, second) is not None
        monkeypatch.undo()
        assert routing_job(app) == 1
        with new_session() as session:
            assert pending(session) == [] and case_of(session, first).lead_unit == "medinsure"


def test_routing_in_the_request_takes_the_report_off_the_queue(app, session, ctx):
    receipt = submit(app, session, ctx, text=INSURANCE)
    assert case_of(session, receipt.report_id) is not None
    assert pending(session) == []


@pytest.fixture
def model_runner(app_factory):
    """The CLI of an app that routes with the shipped corpus model (the test apps route with the rules
    alone unless ROUTING_SHIPPED_MODEL is on, so that the suite's routing expectations stay the rules')."""
    return app_factory(env={"ROUTING_SHIPPED_MODEL": "true"}).test_cli_runner()


def test_classify_prints_the_calibrated_probabilities(model_runner, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a", "title": "", "text": INSURANCE}, ensure_ascii=False), encoding="utf-8")
    result = model_runner.invoke(args=["classify", str(path)])
    assert result.exit_code == 0, result.output
    line = json.loads(result.output)
    assert {"probability", "lead_probability", "out_of_scope_probability", "second_item", "model_terms"} <= set(line)
    assert 0.0 < line["probability"] <= 1.0 and 0.0 < line["lead_probability"] <= 1.0
    assert line["lead_unit"] == "medinsure" or line["triage"]
    assert line["model_version"].startswith(("lr-", "lrw-")) and line["model_terms"][0]["term"]


def test_classify_without_the_model_keeps_the_old_keys_and_no_probability(runner, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a", "title": "", "text": INSURANCE}, ensure_ascii=False), encoding="utf-8")
    line = json.loads(runner.invoke(args=["classify", str(path)]).output)
    assert line["probability"] is None and line["model_version"] is None and line["lead_unit"] == "medinsure"


@pytest.mark.skipif(not DEV.exists(), reason="shared dev set not present")
def test_classify_eval_prints_the_abstention_figures(model_runner):
    result = model_runner.invoke(args=["classify-eval", str(DEV)])
    assert "auto-routed" in result.output and "wrong lead unit among the auto-routed" in result.output
    assert "threshold on P(lead unit)" in result.output
    figures = json.loads(model_runner.invoke(args=["classify-eval", "--json", str(DEV)]).output)
    table = figures["threshold_table"]
    assert [r["threshold"] for r in table] == sorted(r["threshold"] for r in table)
    assert all(a["triage_share"] <= b["triage_share"] for a, b in zip(table, table[1:]))
    assert figures["auto_routed_share"] == pytest.approx(1 - figures["triaged_share"])
    assert figures["model_version"].startswith(("lr-", "lrw-"))
