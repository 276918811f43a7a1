"""Schemathesis against /api/v1/openapi.json: generated requests for every operation, valid and not, on
both databases. No 5xx, and every response matches the document (status code, content type, schema)."""
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)


@schemathesis.hook
def filter_headers(context, headers):  # the WSGI transport carries latin-1 header values only
    return headers is None or all(isinstance(v, str) and v.isascii() for v in headers.values())


@pytest.fixture
def api_schema(app):
    return schemathesis.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_contract_under_generated_input(case):
    response = case.call()
    case.validate_response(response, checks=(not_a_server_error, status_code_conformance, content_type_conformance,
                                             response_schema_conformance))
