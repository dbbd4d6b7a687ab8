"""Schema-based fuzzing (schemathesis) of every operation in the app's OpenAPI document, against a
real server, with every check schemathesis has: no answer may be a 5xx, every status code must be
documented, and every answer must match its documented schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, positive_data_acceptance
from schemathesis.core.result import Ok

from tests.live_server import LiveServer

#: Examples per operation: enough to reach the edges (empty, huge, wrong type) on 2 shared cores.
EXAMPLES_PER_OPERATION = int(os.environ.get("BROWSERFN_FUZZ_EXAMPLES", "15"))
#: Only these operations ("POST /scrape,GET /usage"), to check a few while working on them.
ONLY = {label.strip() for label in os.environ.get("BROWSERFN_FUZZ_ONLY", "").split(",") if label.strip()}
#: Uploads whose schema-valid bodies are refused for what a schema cannot say: the file must be a
#: Python script defining `run` (a 422 naming the problem). Every other check still runs on them.
SCRIPT_UPLOADS = {"POST /functions/", "POST /functions/{function_id}"}
#: Operations where what is accepted depends on more than the body, so a schema-valid request can
#: get a (documented, well-formed) 422: only the "schema-valid must be accepted" check is skipped.
SCHEMA_SAYS_LESS = {
    # solve_captchas=true is taken from Notte's 1.9 Python clients, which send it on every start
    # (as not asked for), and refused from others: the client's version decides, not the body.
    "POST /sessions/start",
}

#: What no JSON schema can say, so a schema-valid request may still be refused for it (a 422 whose
#: message says which): a CSS selector that does not parse, a `response_format` that is not a
#: JSON Schema, a model the operator does not allow. Each field's description says so.
UNSAYABLE = (
    "is not a CSS selector",
    "is not a valid JSON schema",
    "must be a JSON schema",
    "is not allowed on this server",
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    previous = os.environ.get("BROWSERFN_RATE_LIMIT_PER_S")
    os.environ["BROWSERFN_RATE_LIMIT_PER_S"] = "0"  # the fuzzer is one key sending many requests
    try:
        mail = {"BROWSERFN_MAIL_DOMAIN": "fuzz.test"}  # persona operations answer, not only their 501
        live = LiveServer(Path(tmp_path_factory.mktemp("fuzz")), warm_processes=1, env=mail).start()
    finally:
        if previous is None:
            os.environ.pop("BROWSERFN_RATE_LIMIT_PER_S")
        else:
            os.environ["BROWSERFN_RATE_LIMIT_PER_S"] = previous
    yield live
    live.stop()


def schema_valid_is_accepted(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """Schemathesis's positive data acceptance, except for a 422 that names one of UNSAYABLE (not
    registered: it runs only where the test adds it)."""
    if response.status_code == 422 and any(phrase in response.text for phrase in UNSAYABLE):
        return None
    result: bool | None = positive_data_acceptance(ctx, response, case)
    return result


@schemathesis.check
def not_a_server_error_unless_unconfigured(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """No 5xx, except a 501 naming the setting an operator has not made (SMS provider, LLM...), or
    saying the feature is Notte cloud's alone (routes/cloud_only.py)."""
    if response.status_code == 501 and ("BROWSERFN_" in response.text or "Notte cloud's" in response.text):
        return None
    result: bool | None = not_a_server_error(ctx, response, case)
    return result


def test_no_server_error_and_documented_shapes(fuzz_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    failures: list[str] = []
    operations = 0
    fuzzed: set[str] = set()
    for found in schema.get_all_operations():
        if not isinstance(found, Ok):
            failures.append(f"the schema has an operation schemathesis cannot read: {found.err()}")
            continue
        operation = found.ok()
        operations += 1
        if ONLY and operation.label not in ONLY:
            continue
        fuzzed.add(operation.label)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            additional = [not_a_server_error_unless_unconfigured]  # replace the checks they are named after
            if case.operation.label not in SCRIPT_UPLOADS | SCHEMA_SAYS_LESS:
                additional.append(schema_valid_is_accepted)
            case.call_and_validate(
                headers=fuzz_server.headers(),
                excluded_checks=[not_a_server_error, positive_data_acceptance],
                additional_checks=additional,
                timeout=60,
            )

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is fuzzed; failures reported together
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert operations >= 20
    assert fuzzed >= ONLY, f"no such operations: {ONLY - fuzzed}"
    assert failures == [], "\n\n".join(failures)


def test_the_document_lists_the_error_answers(fuzz_server: LiveServer) -> None:
    document = httpx.get(f"{fuzz_server.url}/openapi.json", timeout=30).json()
    create = document["paths"]["/functions/{function_id}/runs/create"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422", "429", "503"} <= set(create)
    assert create["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
    assert set(document["paths"]["/health"]["get"]["responses"]) == {"200", "503"}  # no key, no 401
    start = document["components"]["schemas"]["StartRunRequest"]
    assert [branch["required"] for branch in start["anyOf"]] == [["workflow_id"], ["function_id"]]
    with fuzz_server.client() as api:  # what the schema says the handler refuses, it refuses
        refused = api.post("/functions/x/runs/start", json={"variables": {}, "workflow_id": None})
        assert refused.status_code in (404, 422), refused.text
    # A forged signature with any characters is a 404, not a 500.
    forged = httpx.get(f"{fuzz_server.url}/sessions/s/replay/files/f?signature=%C3%A9&expires=99999999999", timeout=30)
    assert forged.status_code == 404, forged.text
