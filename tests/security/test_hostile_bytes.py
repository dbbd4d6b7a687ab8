"""Hostile bytes, on both backends (issue 16 point 5): a NUL character or a lone surrogate where a
name is expected is a 422 naming the field, never a 500; a run that prints or returns NUL keeps
its logs and result, byte for byte, the same on SQLite and PostgreSQL; a JSON integer too long
to parse is a 4xx; and after each refusal the server (its database connections) keeps working."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import httpx
import pytest

from tests.live_server import LiveServer
from tests.scaleout.cluster import Cluster
from tests.store.conftest import scratch_database

ECHO = """
def run(v=None):
    print("got", v)
    return v
"""
NUL = "a\x00b"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    workdir = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        live = LiveServer(workdir, env={"BROWSERFN_RATE_LIMIT_PER_S": "0"}).start()
        try:
            with live.client(timeout=120) as client:
                yield client
        finally:
            live.stop()
        return
    database = scratch_database()
    cluster = Cluster(next(database), workdir, warm_processes=1, rate_limit_per_s=0)
    try:
        node = cluster.api(worker=True)
        with httpx.Client(base_url=node.url, headers=cluster.headers(), timeout=120) as client:
            yield client
    finally:
        cluster.close()
        next(database, None)


def deploy(api: httpx.Client, name: str = "echo.py", **form: str) -> httpx.Response:
    files = {"file": (name, textwrap.dedent(ECHO).encode(), "text/x-python")}
    return api.post("/functions/", files=files, data=form, params={"restricted": "false"})


@pytest.fixture(scope="module")
def echo(api: httpx.Client) -> str:
    response = deploy(api)
    assert response.status_code == 200, response.text
    function_id: str = response.json()["function_id"]
    return function_id


def still_works(api: httpx.Client) -> None:
    """The server (and each of its database connections) answers normally after a refusal."""
    for _ in range(12):  # more calls than the PostgreSQL store has connection threads
        assert api.get("/keys").status_code == 200


def assert_422(response: httpx.Response, field: str, what: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == 422 and field in body["message"] and what in body["message"], body


def test_a_run_that_prints_and_returns_nul_keeps_every_byte(api: httpx.Client, echo: str) -> None:
    started = api.post(
        f"/functions/{echo}/runs/start", json={"workflow_id": echo, "variables": {"v": NUL}, "stream": False}
    )
    assert started.status_code == 200, started.text
    run = api.get(f"/functions/{echo}/runs/{started.json()['function_run_id']}").json()
    assert (run["state"], run["result"], run["variables"]) == ("succeeded", NUL, {"v": NUL}), run
    assert any(line.endswith(f"got {NUL}") for line in run["logs"]), run["logs"]
    still_works(api)


def upload(api: httpx.Client, filename: bytes, name: bytes | None = None) -> httpx.Response:
    """A multipart upload written byte by byte (clients escape a NUL in a file name; attackers need not)."""
    boundary = b"hostileboundary"
    parts = [
        b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
        b"Content-Type: text/x-python\r\n\r\n" + textwrap.dedent(ECHO).encode()
    ]
    if name is not None:
        parts.append(b'Content-Disposition: form-data; name="name"\r\n\r\n' + name)
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts) + b"--" + boundary + b"--\r\n"
    headers = {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()}
    return api.post("/functions/", content=body, headers=headers, params={"restricted": "false"})


def test_nul_in_an_upload_name_or_a_function_name_is_422(api: httpx.Client) -> None:
    assert upload(api, b"plain.py").status_code == 200  # the hand-written upload is a good one
    refused = upload(api, b"a\x00b.py")  # the upload's name: the script's file name and default name
    assert refused.status_code == 422 and "null character" in refused.json()["message"], refused.text
    still_works(api)
    assert_422(upload(api, b"plain.py", name=b"a\x00b"), "name", "NUL")
    still_works(api)
    assert_422(api.patch(f"/functions/{deploy(api).json()['function_id']}", json={"name": NUL}), "name", "NUL")
    still_works(api)


def test_nul_in_a_key_name_is_422(api: httpx.Client) -> None:
    assert_422(api.post("/keys", json={"name": NUL}), "name", "NUL")
    still_works(api)


def test_nul_in_a_webhook_url_is_422(api: httpx.Client, echo: str) -> None:
    response = api.post(f"/functions/{echo}/webhooks", json={"url": "https://example.com/a\x00b"})
    assert response.status_code == 422, response.text
    still_works(api)


def test_a_lone_surrogate_in_a_function_name_is_422(api: httpx.Client, echo: str) -> None:
    body = b'{"name": "bad \\ud800 name"}'
    response = api.patch(f"/functions/{echo}", content=body, headers={"Content-Type": "application/json"})
    assert_422(response, "name", "surrogate")
    still_works(api)
    assert api.get(f"/functions/{echo}").json()["name"] != "bad \ud800 name"


def test_a_json_integer_too_long_to_read_is_4xx(api: httpx.Client, echo: str) -> None:
    body = b'{"workflow_id": "%s", "variables": {"v": %s}, "stream": false}' % (echo.encode(), b"9" * 5000)
    response = api.post(f"/functions/{echo}/runs/start", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["status"] == response.status_code
    response = api.post("/keys", content=b'{"name": %s}' % (b"1" * 5000), headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    still_works(api)
