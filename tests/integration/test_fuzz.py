"""Fuzzing the API against its own OpenAPI document (schemathesis), bounded and deterministic.

Every operation is called with generated requests, mostly nonsense; whatever comes back must be
no server error, a status the document lists, JSON where JSON is promised, and a body that fits
the document's schema for that status (Neutron's error body for every error).
"""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from alcor.api import openapi
from tests.servers import ServerProcess

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The document the server serves is this one (test_the_served_document_is_the_code_s checks it).
schema = schemathesis.openapi.from_dict(openapi.document())


def test_the_served_document_is_the_code_s(server: ServerProcess) -> None:
    assert httpx.get(server.url + "/openapi.json").json() == openapi.document()


@schema.parametrize()
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_any_request_gets_a_documented_answer_and_never_a_server_error(
    case: schemathesis.Case, server: ServerProcess
) -> None:
    case.call_and_validate(base_url=server.url, checks=CHECKS)
