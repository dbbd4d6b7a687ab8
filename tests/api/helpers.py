"""Small helpers for raw HTTP tests against the live server."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx

#: `time | LEVEL | source | message`, as Notte's runner writes it.
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| (?P<level>[A-Z]+) *\| (?P<source>[^|]+) \| (?P<message>.*)$", re.S
)


def parse_log(line: str) -> tuple[str, str, str]:
    match = LOG_LINE.match(line)
    assert match is not None, f"not a log line: {line!r}"
    return match["level"], match["source"], match["message"]


def logs_of(lines: list[str]) -> list[tuple[str, str, str]]:
    return [parse_log(line) for line in lines]


def start(
    client: httpx.Client, function_id: str, variables: dict[str, Any] | None = None, **body: Any
) -> httpx.Response:
    payload = {"workflow_id": function_id, "variables": variables or {}, "stream": False, **body}
    return client.post(f"/functions/{function_id}/runs/start", json=payload)


def run_to_end(
    client: httpx.Client, function_id: str, variables: dict[str, Any] | None = None, **body: Any
) -> dict[str, Any]:
    response = start(client, function_id, variables, **body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def get_run(client: httpx.Client, function_id: str, run_id: str) -> dict[str, Any]:
    response = client.get(f"/functions/{function_id}/runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def sse_events(raw: bytes) -> list[tuple[int, dict[str, Any]]]:
    """Parse a whole SSE body strictly: only `id: N\\ndata: {json}\\n\\n` frames, nothing else."""
    text = raw.decode()
    frames = text.split("\n\n")
    assert frames[-1] == "", f"stream does not end with a blank line: {text[-200:]!r}"
    events = []
    for frame in frames[:-1]:
        match = re.fullmatch(r"id: (\d+)\ndata: (\{.*\})", frame)
        assert match is not None, f"bad frame: {frame!r}"
        events.append((int(match[1]), json.loads(match[2])))
    return events


def frame(seq: int, event: dict[str, Any]) -> bytes:
    return f"id: {seq}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


def wait_for(predicate: Any, timeout_s: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout_s} s")


def assert_error(response: httpx.Response, status: int, message: str) -> dict[str, Any]:
    """An error in browserfn's one shape, with exactly this status and message."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    assert body["message"] == message, body
    assert set(body) <= {"status", "message", "detail"}, body
    return body


def assert_error_like(response: httpx.Response, status: int, pattern: str) -> dict[str, Any]:
    """As assert_error, for messages that quote a parser's own words: the message must match `pattern`."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    assert re.fullmatch(pattern, body["message"]), body
    assert set(body) <= {"status", "message", "detail"}, body
    return body


def function_calls(function_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every call that names a function: (method, path, httpx keyword arguments)."""
    return [
        ("GET", f"/functions/{function_id}", {}),
        ("POST", f"/functions/{function_id}", {"files": {"file": ("f.py", b"def run():\n    pass\n")}}),
        ("PATCH", f"/functions/{function_id}", {"json": {"name": "n"}}),
        ("DELETE", f"/functions/{function_id}", {}),
        ("POST", f"/functions/{function_id}/fork", {}),
        ("POST", f"/functions/{function_id}/runs/create", {"json": {}}),
        ("POST", f"/functions/{function_id}/runs/start", {"json": {"workflow_id": function_id, "variables": {}}}),
    ]


def run_calls(function_id: str, run_id: str) -> list[tuple[str, str]]:
    """Every call that names a run: (method, path)."""
    base = f"/functions/{function_id}/runs/{run_id}"
    return [("GET", base), ("DELETE", base), ("GET", f"{base}/stream")]


def metric_sample(text: str, name: str, labels: str = "") -> float | None:
    """One sample's value from the Prometheus text format, or None when absent."""
    pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+-]+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else None
