"""The OpenAPI document says what the server does: every operation lists the error answers it can
give, all in the one error shape `{"status", "message"}` (422s may add `detail`):

- 401 (no, unknown or revoked key), 403 (a key that may not do this) and 429 (rate limit) on every
  operation that takes a key;
- 404 on every operation with a path parameter; 409 on every operation that changes something
  (the resource's state may forbid it); 413 and 422 on every operation with a body or parameters;
- 503 everywhere (the storage fails, e.g. a full disk), 504 on calls relayed to a session's host;
- 501 where a feature needs an operator's setting (personas, LLM scrape and observe, inferred
  response formats, prompt help), or is Notte cloud's alone (payments, the `anything` builder).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA = "ErrorResponse"
_DESCRIPTIONS = {
    "401": "No API key, or an unknown or revoked one",
    "403": "The key may not do this (e.g. a run's key outside what a script needs)",
    "404": "Not found, deleted, or another account's",
    "409": "The resource's state forbids this (already started, already closed, active runs...)",
    "413": "Request body over the size limit",
    "422": "A request that parses but says something wrong (`detail` lists the fields when the shape is wrong)",
    "429": "Rate limited, or a limit of the account or server is full; see Retry-After",
    "501": "Needs a setting this server's operator has not made (the message names it), or is Notte cloud's alone",
    "503": "The server cannot do it right now (its disk is full, its database is unreachable); retry later",
    "504": "The server hosting the session did not answer in time",
}
_CHANGES = {"post", "put", "patch", "delete"}
#: The headers that carry a key: an operation that reads them is one that takes a key.
_KEY_HEADERS = {"authorization", "x-notte-api-key"}
_METHODS = {"get", "post", "put", "patch", "delete"}
#: Operations that need an operator's setting (a mail domain, an SMS or LLM provider): 501 without.
_NEEDS_SETUP = (
    "/personas",
    "/agents",
    "/scrape",  # and /scrape_from_html
    "/sessions/{session_id}/page/scrape",
    "/sessions/{session_id}/page/observe",
    "/sessions/{session_id}/page/execute",  # actions needing a model, a solver or an SMS provider
    "/sessions/{session_id}/workflow/code",  # infer_response_format
    "/prompts",
    "/sessions/{session_id}/payments",  # Notte cloud's alone (routes/cloud_only.py)
    "/anything",
)


def _error_schema() -> dict[str, Any]:
    return {
        "title": ERROR_SCHEMA,
        "type": "object",
        "required": ["status", "message"],
        "properties": {
            "status": {"type": "integer", "title": "Status"},
            "message": {"type": "string", "title": "Message"},
            "detail": {"type": "array", "items": {"type": "object"}, "title": "Detail"},
        },
    }


def _codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    codes = ["503"]
    parameters = operation.get("parameters", [])
    if any(p.get("in") == "header" and p.get("name", "").lower() in _KEY_HEADERS for p in parameters):
        codes += ["401", "403", "429"]
    if "{" in path:
        codes.append("404")
    if method in _CHANGES:
        codes.append("409")
    if "requestBody" in operation:
        codes.append("413")
    if "requestBody" in operation or operation.get("parameters"):
        codes.append("422")
    if path.startswith("/sessions/{session_id}"):
        codes.append("504")
    if path.startswith(_NEEDS_SETUP):
        codes.append("501")
    return codes


def document_errors(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, servers=app.servers
    )
    schema.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA] = _error_schema()
    error = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in _codes(path, method, operation):
                responses[code] = {"description": _DESCRIPTIONS[code], "content": error}
            for code, declared in responses.items():  # an error answer a route declares has the one shape too
                if code in _DESCRIPTIONS:
                    declared.setdefault("content", error)
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    app.openapi = lambda: document_errors(app)  # type: ignore[method-assign]
