"""Helpers for the security suite: deploy, run and read back runs on the real server."""

from __future__ import annotations

import textwrap
from typing import Any

import httpx


def deploy(client: httpx.Client, code: str, *, restricted: bool = False, name: str = "fn") -> str:
    files = {"file": (f"{name}.py", textwrap.dedent(code).encode(), "text/x-python")}
    response = client.post("/functions/", files=files, params={"restricted": str(restricted).lower()})
    assert response.status_code == 200, response.text
    function_id: str = response.json()["function_id"]
    return function_id


def run(client: httpx.Client, function_id: str, timeout_s: float | None = None, **variables: Any) -> dict[str, Any]:
    """Start a run, wait for its end, and return the stored run (GET) with its logs."""
    body: dict[str, Any] = {"workflow_id": function_id, "variables": variables, "stream": False}
    if timeout_s is not None:
        body["timeout"] = timeout_s
    started = client.post(f"/functions/{function_id}/runs/start", json=body, timeout=180)
    assert started.status_code == 200, started.text
    run_id = started.json()["function_run_id"]
    stored = client.get(f"/functions/{function_id}/runs/{run_id}")
    assert stored.status_code == 200, stored.text
    record: dict[str, Any] = stored.json()
    return record
