"""Hostile HTTP input gets a clear 4xx in the API's error shape, never a 5xx (the schema-wide
fuzzing is test_fuzz_openapi.py; the API suite covers bodies, forms and pagination)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveServer
from tests.security.helpers import deploy, run


@pytest.fixture
def api(server: LiveServer) -> httpx.Client:
    return server.client(timeout=120)


def nested(depth: int) -> str:
    return '{"workflow_id": "x", "variables": {"v": ' + "[" * depth + "]" * depth + "}}"


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_422(api: httpx.Client, depth: int) -> None:
    function_id = deploy(api, "def run(v=None):\n    return 1\n")
    response = api.post(
        f"/functions/{function_id}/runs/start",
        content=nested(depth).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json() == {
        "status": 422,
        "message": "invalid request: body: JSON nested more than 32 levels deep",
    }


def test_nesting_within_the_limit_still_runs(api: httpx.Client) -> None:
    function_id = deploy(api, "def run(v=None):\n    return v\n")
    value: object = 1
    for _ in range(25):
        value = [value]
    record = run(api, function_id, v=value)
    assert (record["state"], json.loads(record["result"])) == ("succeeded", value)


def test_invalid_utf8_body_is_422(api: httpx.Client) -> None:
    function_id = deploy(api, "def run():\n    return 1\n")
    response = api.post(
        f"/functions/{function_id}/runs/start",
        content=b'{"workflow_id": "\xff\xfe", "variables": {}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json() == {
        "status": 422,
        "message": "invalid request: body is not valid UTF-8 (bad byte at offset 17)",
    }


def test_invalid_utf8_script_upload_is_422(api: httpx.Client) -> None:
    files = {"file": ("fn.py", b"def run():\n    return '\xff'\n", "text/x-python")}
    response = api.post("/functions/", files=files)
    assert response.status_code == 422
    assert "UTF-8" in response.json()["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/functions/..%2F..%2Fetc%2Fpasswd",
        "/functions/%2e%2e%2f%2e%2e%2fdata",
        "/functions/x%00y",
        "/functions/" + "a" * 5000,
        "/functions/..%2F/runs/..%2F..",
        "/functions/%2e%2e/secrets",
    ],
)
def test_path_traversal_in_ids_is_a_plain_4xx(api: httpx.Client, path: str) -> None:
    response = api.get(path)
    assert response.status_code in (404, 422), response.text
    body = response.json()
    assert body["status"] == response.status_code and body["message"]


@pytest.mark.parametrize(
    ("path", "status"),
    [("/keys/..%2F..%2Fetc", 404), ("/secrets/..%2Fx", 404), ("/secrets/a%00b", 422), ("/keys/a%20b", 422)],
)
def test_path_traversal_in_key_and_secret_names_is_refused(api: httpx.Client, path: str, status: int) -> None:
    # An encoded "/" makes the path another route (404); any other odd character fails the name pattern.
    response = api.delete(path)
    assert response.status_code == status, response.text
    assert response.json()["status"] == status


def test_path_traversal_in_an_uploaded_file_name_writes_nothing_outside(server: LiveServer, api: httpx.Client) -> None:
    target = Path("/tmp/browserfn-traversal-probe.py")
    target.unlink(missing_ok=True)
    files = {
        "file": ("../../../../tmp/browserfn-traversal-probe.py", b"def run():\n    return 'ok'\n", "text/x-python")
    }
    created = api.post("/functions/", files=files)
    assert created.status_code == 200, created.text
    record = run(api, created.json()["function_id"])
    assert (record["state"], record["result"]) == ("succeeded", "ok")
    assert not target.exists()
    assert not (server.data_dir.parent / "browserfn-traversal-probe.py").exists()


def test_unknown_fields_and_wrong_types_on_keys_and_secrets_are_422(api: httpx.Client) -> None:
    cases = [
        (
            api.post("/keys", json={"name": "x", "admin": True}),
            "invalid request: admin: Extra inputs are not permitted",
        ),
        (api.post("/keys", json={"name": ["x"]}), "invalid request: name: Input should be a valid string"),
        (api.post("/keys", json={"name": ""}), "invalid request: name: String should have at least 1 character"),
        (api.put("/secrets/TOKEN", json={}), "invalid request: value: Field required"),
    ]
    for response, message in cases:
        assert response.status_code == 422
        assert response.json()["message"] == message
