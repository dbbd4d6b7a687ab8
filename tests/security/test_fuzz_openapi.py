"""Schema-based fuzzing (schemathesis) of every operation in the app's OpenAPI document, against a
real server: no answer may be a 5xx, and every answer must match its documented schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.live_server import LiveServer

#: Examples per operation: enough to reach the edges (empty, huge, wrong type) on 2 shared cores.
EXAMPLES_PER_OPERATION = int(os.environ.get("BROWSERFN_FUZZ_EXAMPLES", "15"))


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


@schemathesis.check
def not_a_server_error_unless_unconfigured(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """No 5xx, except a 501 naming the setting an operator has not made (SMS provider, LLM...)."""
    if response.status_code == 501 and "BROWSERFN_" in response.text:
        return None
    result: bool | None = not_a_server_error(ctx, response, case)
    return result


def test_no_server_error_and_documented_shapes(fuzz_server: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for found in schema.get_all_operations():
        if not isinstance(found, Ok):
            failures.append(f"the schema has an operation schemathesis cannot read: {found.err()}")
            continue
        operation = found.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers=fuzz_server.headers(),
                checks=[not_a_server_error_unless_unconfigured, response_schema_conformance],
                timeout=60,
            )

        try:
            check()
        except Exception as exc:  # every operation is fuzzed; failures are reported together
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert operations >= 20
    assert failures == []
