"""Every bad input gets its status and a message that says why, in `{"status", "message"}`;
never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx

from tests.api.helpers import assert_error, assert_error_like, function_calls, run_calls, wait_for
from tests.conftest import deploy
from tests.live_server import LiveServer

QUICK = "def run(name: str = 'x'):\n    return name\n"
SLOW = "import time\n\n\ndef run():\n    time.sleep(600)\n"
MISSING_KEY = "missing API key: send 'Authorization: Bearer <key>' or 'x-notte-api-key: <key>'"


def upload(api: httpx.Client, content: bytes, filename: str = "f.py", **data: str) -> httpx.Response:
    return api.post("/functions/", files={"file": (filename, content, "text/x-python")}, data=data)


def test_no_key_and_bad_key_are_401(server: LiveServer, api: httpx.Client) -> None:
    fid = deploy(api, QUICK)["function_id"]
    calls = [
        ("GET", "/functions/"),
        ("GET", f"/functions/{fid}"),
        ("GET", f"/functions/{fid}/runs"),
        ("POST", f"/functions/{fid}/runs/start"),
        ("DELETE", f"/functions/{fid}"),
    ]
    for method, path in calls:
        plain = httpx.request(method, server.url + path)
        assert_error(plain, 401, MISSING_KEY)
        for headers in ({"Authorization": "Bearer nope"}, {"x-notte-api-key": "nope"}):
            assert_error(httpx.request(method, server.url + path, headers=headers), 401, "invalid or revoked API key")
        basic = httpx.request(method, server.url + path, headers={"Authorization": "Basic abc"})
        assert_error(basic, 401, "Authorization header must be 'Bearer <api key>'")
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_unknown_function_and_run_are_404(api: httpx.Client) -> None:
    fid = deploy(api, QUICK)["function_id"]
    nope = "00000000-0000-0000-0000-000000000000"
    gone = f"function {nope} not found"
    for method, path, kwargs in function_calls(nope):
        assert_error(api.request(method, path, **kwargs), 404, gone)
    missing_run = f"run {nope} of function {fid} not found"
    for method, path in run_calls(fid, nope):
        assert_error(api.request(method, path), 404, missing_run)
    start_missing = api.post(f"/functions/{fid}/runs/{nope}", json={"workflow_id": fid, "variables": {}})
    assert_error(start_missing, 404, missing_run)
    assert_error(
        api.get(f"/functions/{fid}", params={"version": "7"}),
        404,
        f"function {fid} has no version '7' (versions: ['1'])",
    )
    assert_error(
        api.post(f"/functions/{fid}/runs/start", params={"version": "7"}, json={"workflow_id": fid, "variables": {}}),
        404,
        f"function {fid} has no version '7' (versions: ['1'])",
    )
    assert_error(
        api.get(f"/functions/{fid}/code/1", params={"signature": "forged"}),
        404,
        "no such code link (it is wrong or expired, or the function is no longer shared)",
    )


def test_scripts_that_cannot_be_functions_are_422(api: httpx.Client) -> None:
    cases = [
        (b"def walk():\n    pass\n", "Python script must contain a 'run' function (a top-level def run(...): ...)"),
        (
            b"class A:\n    def run(self):\n        pass\n",
            "Python script must contain a 'run' function (a top-level def run(...): ...)",
        ),
        (b"def run(:\n    pass\n", "script has a syntax error at line 1: invalid syntax"),
        (b"def run():\n    return '\xff\xfe'\n", "script is not valid UTF-8 (byte 23: invalid start byte)"),
        (b"def run():\n    pass\n\x00", "script cannot be parsed: source code string cannot contain null bytes"),
        (b"   \n", "script is empty: Python script must contain a 'run' function"),
        (b"def run():\n    pass\n" + b"#" * (1024 * 1024), "script is 1048596 bytes, over the limit of 1048576 bytes"),
    ]
    for content, message in cases:
        assert_error(upload(api, content), 422, message)
    fid = deploy(api, QUICK)["function_id"]
    update = api.post(f"/functions/{fid}", files={"file": ("f.py", b"x = 1\n")})
    assert_error(update, 422, "Python script must contain a 'run' function (a top-level def run(...): ...)")
    assert api.get(f"/functions/{fid}").json()["versions"] == ["1"]


def test_form_errors_are_422(api: httpx.Client) -> None:
    no_file = api.post("/functions/", data={"name": "x"})
    assert_error(no_file, 422, "invalid request: file: Field required")
    not_multipart = api.post("/functions/", json={"name": "x"})
    assert_error(not_multipart, 422, "invalid request: file: Field required")
    broken = api.post(
        "/functions/", content=b"--x\r\nnot a part", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert_error(broken, 422, "invalid request: the body cannot be parsed (Invalid multipart data.)")
    bad_shared = upload(api, QUICK.encode(), shared="perhaps")
    assert_error(bad_shared, 422, "invalid request: shared: Input should be a valid boolean, unable to interpret input")
    bad_timeout = upload(api, QUICK.encode(), timeout="-1")
    assert_error(bad_timeout, 422, "timeout must be between 0 and 21600 seconds")


def test_body_too_large_is_413_in_our_shape(api: httpx.Client) -> None:
    big = b"#" * (9 * 1024 * 1024)
    message = "request body too large: the limit is 8388608 bytes"
    assert_error(upload(api, b"def run():\n    pass\n" + big), 413, message)
    fid = deploy(api, QUICK)["function_id"]
    huge_variables = {"workflow_id": fid, "variables": {"name": "x" * (9 * 1024 * 1024)}}
    assert_error(api.post(f"/functions/{fid}/runs/start", json=huge_variables), 413, message)

    # Without a Content-Length (chunked), the limit is found while reading.
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"x" * (1024 * 1024)

    chunked = api.post(f"/functions/{fid}/runs/start", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(chunked, 413, message)


def test_invalid_json_and_wrong_shapes_are_422(api: httpx.Client) -> None:
    fid = deploy(api, QUICK)["function_id"]
    path = f"/functions/{fid}/runs/start"
    headers = {"Content-Type": "application/json"}
    assert_error_like(
        api.post(path, content=b'{"workflow_id": ', headers=headers),
        422,
        r".*body is not valid JSON.*Expecting value.*",
    )
    assert_error(
        api.post(path, content=b"[1, 2]", headers=headers),
        422,
        "invalid request: body: must be a JSON object, sent with 'Content-Type: application/json'",
    )
    assert_error(
        api.post(path, content=b'{"workflow_id": "x"}', headers={"Content-Type": "text/plain"}),
        422,
        "invalid request: body: must be a JSON object, sent with 'Content-Type: application/json'",
    )
    assert_error(
        api.post(path, json={"workflow_id": fid, "variables": [1]}),
        422,
        "invalid request: variables: Input should be a valid dictionary",
    )
    assert_error(
        api.post(path, json={"workflow_id": fid, "variables": {}, "stream": "often"}),
        422,
        "invalid request: stream: Input should be a valid boolean, unable to interpret input",
    )
    assert_error(
        api.post(path, json={"workflow_id": fid, "variables": {}, "timeout": 0}),
        422,
        "timeout must be between 0 and 21600 seconds",
    )
    assert_error(
        api.patch(f"/functions/{fid}", json={"colour": "red"}),
        422,
        "invalid request: colour: Extra inputs are not permitted",
    )


def test_start_a_run_twice_is_409(api: httpx.Client) -> None:
    fid = deploy(api, QUICK)["function_id"]
    run_id = api.post(f"/functions/{fid}/runs/create", json={}).json()["function_run_id"]
    body = {"workflow_id": fid, "workflow_run_id": run_id, "variables": {}, "stream": False}
    assert api.post(f"/functions/{fid}/runs/{run_id}", json=body).json()["status"] == "closed"
    assert_error(api.post(f"/functions/{fid}/runs/{run_id}", json=body), 409, f"run {run_id} was already started")
    other = api.post(f"/functions/{fid}/runs/{run_id}", json={**body, "workflow_run_id": "x"})
    assert_error(other, 422, f"body names run x but the path names {run_id}")


def test_delete_a_function_with_active_runs_is_409(api: httpx.Client) -> None:
    fid = deploy(api, SLOW)["function_id"]
    with api.stream("POST", f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {}}) as r:
        assert r.status_code == 200
    run_id = wait_for(lambda: api.get(f"/functions/{fid}/runs").json()["items"], what="active run")[0][
        "function_run_id"
    ]
    assert_error(api.delete(f"/functions/{fid}"), 409, f"function {fid} has active runs: stop them before deleting it")
    assert api.delete(f"/functions/{fid}/runs/{run_id}").json()["status"] == "stopped"
    assert api.delete(f"/functions/{fid}").json() == {"status": "success", "message": f"function {fid} deleted"}
    assert_error(api.get(f"/functions/{fid}"), 404, f"function {fid} not found")
    assert_error(api.get(f"/functions/{fid}/runs/{run_id}"), 404, f"function {fid} not found")


def test_a_sweep_of_odd_requests_never_gets_a_500(api: httpx.Client) -> None:
    fid = deploy(api, QUICK)["function_id"]
    run_id = api.post(f"/functions/{fid}/runs/create", json={}).json()["function_run_id"]
    routes = [
        ("GET", "/functions/{f}"),
        ("POST", "/functions/{f}"),
        ("PATCH", "/functions/{f}"),
        ("GET", "/functions/{f}/runs"),
        ("POST", "/functions/{f}/runs/create"),
        ("POST", "/functions/{f}/runs/start"),
        ("GET", "/functions/{f}/runs/{r}"),
        ("POST", "/functions/{f}/runs/{r}"),
        ("PATCH", "/functions/{f}/runs/{r}"),
        ("POST", "/functions/"),
        ("GET", "/functions/{f}/code/1"),
    ]
    bodies = [b"", b"null", b"[]", b'{"a":', b"\xff\xfe", b'{"variables": {}, "workflow_id": 1}', b'{"logs": null}']
    content_types = ["application/json", "text/plain", "multipart/form-data; boundary=x"]
    seen: set[int] = set()
    for (method, template), function_id in [(route, f) for route in routes for f in (fid, "é%00" + "x" * 300)]:
        path = template.format(f=function_id, r=run_id)
        sends = [(b, t) for b in bodies for t in content_types] if method in ("POST", "PATCH") else [(b"", "")]
        for body, content_type in sends:
            headers = {"Content-Type": content_type} if content_type else {}
            response = api.request(method, path, content=body, headers=headers)
            while response.status_code == 429:  # the per-key rate limit: this sweep is a burst
                time.sleep(float(response.headers["Retry-After"]))
                response = api.request(method, path, content=body, headers=headers)
            assert response.status_code < 500, (method, path, body, content_type, response.text)
            seen.add(response.status_code)
            if response.is_success:
                # Reads, and runs/create whose body is optional.
                assert method == "GET" or path.endswith("/runs/create"), (method, path, body, content_type)
                continue
            error = response.json()
            assert set(error) <= {"status", "message", "detail"}, (method, path, body, error)
            assert (error["status"], bool(error["message"])) == (response.status_code, True)
    assert seen == {200, 404, 422}
    assert api.get(f"/functions/{fid}/runs/{run_id}").json()["state"] == "created"  # nothing started it
