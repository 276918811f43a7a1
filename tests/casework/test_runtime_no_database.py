"""`classify` and `classify-eval` work on a machine where no database was set up (a first look at the
classifier): the stored model is not reachable, the shipped one is used, and the user reads one line about
it, not a traceback."""
import json

from tests.conftest import IDENTITY_KEY
from wiring.factory import create_app

LINE = {"id": "X1", "title": "", "text": "医院骨科主任收受医药代表回扣，每用一套耗材返现两千元。",
        "expect": {"item": "6.1", "also": [], "lead_unit": "health", "in_scope": True}}


def test_classify_eval_without_a_database_says_so_in_one_line(tmp_path, caplog):
    env = {"APP_ENV": "testing", "SECRET_KEY": "test-secret-key-" + "x" * 32, "IDENTITY_KEY": IDENTITY_KEY,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'never-set-up.sqlite3'}", "UPLOAD_DIR": str(tmp_path / "up"),
           "INSTANCE_DIR": str(tmp_path / "instance"), "ROUTING_SHIPPED_MODEL": "true"}
    app = create_app(None, env=env)
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(LINE, ensure_ascii=False) + "\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["classify-eval", str(path)])
    assert result.exit_code == 0, result.output
    said = [r for r in caplog.records if r.name == "casework.runtime"]
    assert [r.getMessage() for r in said] == ["no stored model reachable (OperationalError); the shipped model"]
    assert said[0].exc_info is None and "Traceback" not in result.output
    assert "rows: 1 (1 in scope, 0 out of scope)" in result.output and "lrw-" in result.output
