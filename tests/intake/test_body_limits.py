"""Bodies larger than the API needs are refused with 413 before anything parses them; only multipart
uploads get the file limit."""
import io
import json

from sqlalchemy import func, select

from intake.models import Report
from tests.support.factories import TEXT
from tests.support.files import PNG

TWO_MB = 2 * 1024 * 1024


def not_json(size: int) -> bytes:
    """A body the JSON parser would refuse with 400 malformed_json, if it ever read it."""
    return b'{"text": "' + b"\xff" * size


def count_reports(app) -> int:
    session = app.extensions["db_sessionmaker"]()
    try:
        return session.scalar(select(func.count()).select_from(Report))
    finally:
        session.close()


def test_a_small_broken_body_reaches_the_parser_and_is_refused_by_it(client):
    resp = client.post("/api/v1/reports", data=not_json(100), content_type="application/json")
    assert resp.status_code == 400 and resp.json["error"] == "malformed_json"


def test_two_megabytes_of_json_get_413_before_they_are_parsed(app, client):
    resp = client.post("/api/v1/reports", data=not_json(TWO_MB), content_type="application/json")
    assert resp.status_code == 413 and resp.json["error"] == "too_large"  # not malformed_json: never parsed
    assert "KB" in resp.json["message"]
    assert count_reports(app) == 0


def test_a_chunked_body_without_content_length_is_stopped_at_the_cap(app, client):
    for path in ("/api/v1/reports", "/api/v1/reports/lookup", "/api/v1/reports/messages"):
        resp = client.post(path, input_stream=io.BytesIO(not_json(TWO_MB)), content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
        assert resp.request.content_length is None  # chunked: no length to refuse up front
        assert resp.status_code == 413 and resp.json["error"] == "too_large", path
    assert count_reports(app) == 0


def test_a_chunked_body_within_the_cap_is_read_as_usual(client):
    body = json.dumps({"text": TEXT}).encode()
    resp = client.post("/api/v1/reports", input_stream=io.BytesIO(body), content_type="application/json",
                       environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 201


def test_the_longest_valid_report_still_fits(app, client):
    max_text = app.config["MAX_TEXT_CHARS"]
    longest = {"text": "𠀀" * max_text, "title": "𠀀" * 200, "occurred": "𠀀" * 500,
               "accused": {"name": "𠀀" * 200, "institution": "𠀀" * 200, "position": "𠀀" * 200},
               "anonymous": False, "reporter": {"name": "𠀀" * 100, "phone": "0427 2811536", "email": "a@example.cn"}}
    body = json.dumps(longest).encode()  # ensure_ascii: every character a 12-byte surrogate-pair escape
    assert len(body) > 250 * 1024
    resp = client.post("/api/v1/reports", data=body, content_type="application/json")
    assert resp.status_code == 201, resp.json


def test_a_multipart_upload_still_gets_the_file_limit(app, client):
    big_png = PNG + b"\0" * (app.config["MAX_BODY_BYTES"] + 1024)  # larger than any JSON body may be
    resp = client.post("/api/v1/reports", data={"report": json.dumps({"text": TEXT}),
                                                "files": [(io.BytesIO(big_png), "证据.png")]},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json


def test_a_url_encoded_form_of_two_megabytes_gets_the_413_page(client):
    resp = client.post("/report", data={"text": "举" * TWO_MB}, content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 413 and "KB" in resp.get_data(as_text=True)
