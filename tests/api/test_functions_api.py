"""The rest of the functions API at the HTTP level: listing pages, versions (overwrite one, read the
code a run used), reporting a run executed elsewhere (PATCH)."""

from __future__ import annotations

import json

import httpx

from tests.api.helpers import get_run, run_to_end, sse_events
from tests.conftest import deploy
from tests.live_server import LiveServer


def test_list_functions_pages_newest_first(server: LiveServer) -> None:
    with server.client(server.create_key("lister")) as api:
        ids = [deploy(api, "def run():\n    pass\n", f"f{i}")["function_id"] for i in range(3)]
        pages = [api.get("/functions/", params={"page": p, "page_size": 2}).json() for p in (1, 2, 3)]
        assert [[f["function_id"] for f in page["items"]] for page in pages] == [ids[:0:-1], ids[:1], []]
        assert [(p["page"], p["page_size"], p["has_next"], p["has_previous"]) for p in pages] == [
            (1, 2, True, False),
            (2, 2, False, True),
            (3, 2, False, True),
        ]
        # No query at all (what SDK 1.10 sends): the defaults.
        default = api.get("/functions/").json()
        assert (default["page"], default["page_size"], len(default["items"])) == (1, 10, 3)


def test_versions_overwrite_and_the_code_a_run_used(api: httpx.Client) -> None:
    fid = deploy(api, "def run(name: str = 'x'):\n    return name\n", "versions")["function_id"]
    overwritten = api.post(
        f"/functions/{fid}", params={"version": "1"}, files={"file": ("f.py", b"def run():\n    return 'over'\n")}
    ).json()
    assert (overwritten["versions"], overwritten["latest_version"], overwritten["variables"]) == (["1"], "1", [])
    first = run_to_end(api, fid)
    assert first["result"] == "over"
    newer = api.post(f"/functions/{fid}", files={"file": ("f.py", b"def run(a: int):\n    return a\n")}).json()
    assert (newer["versions"], newer["latest_version"]) == (["1", "2"], "2")
    assert newer["variables"] == [{"name": "a", "type": "int", "default": None}]
    # GET with function_run_id gives the code of the version that run used.
    by_run = api.get(f"/functions/{fid}", params={"function_run_id": first["function_run_id"]}).json()
    assert by_run["latest_version"] == "2"
    assert httpx.get(by_run["url"]).text == "def run():\n    return 'over'\n"
    assert httpx.get(api.get(f"/functions/{fid}").json()["url"]).text == "def run(a: int):\n    return a\n"
    assert run_to_end(api, fid, {"a": 7})["result"] == 7
    # A created run is bound to the version that was latest when it was made.
    created = api.post(f"/functions/{fid}/runs/create", json={}).json()["function_run_id"]
    body = {"workflow_id": fid, "workflow_run_id": created, "variables": {}, "stream": False}
    refused = api.post(f"/functions/{fid}/runs/{created}", params={"version": "1"}, json=body)
    assert (refused.status_code, refused.json()["message"]) == (
        422,
        f"run {created} was created for version 2: start it without `version`, or start a new run with ?version=1",
    )
    same = api.post(f"/functions/{fid}/runs/{created}", params={"version": "2"}, json={**body, "variables": {"a": 1}})
    assert (same.json()["status"], same.json()["result"]) == ("closed", 1)


def test_report_a_run_executed_elsewhere(api: httpx.Client) -> None:
    fid = deploy(api, "def run(name: str = 'x'):\n    return name\n", "reported")["function_id"]
    created = api.post(f"/functions/{fid}/runs/create", json={"local": True}).json()
    run_id = created["function_run_id"]
    assert (created["status"], created["function_id"], created["workflow_run_id"]) == ("created", fid, run_id)
    patched = api.patch(
        f"/functions/{fid}/runs/{run_id}",
        json={"status": "closed", "logs": ["one", "two"], "result": json.dumps({"k": 1}), "variables": {"name": "q"}},
    ).json()
    assert {k: patched[k] for k in ("function_run_id", "status", "state")} == {
        "function_run_id": run_id,
        "status": "updated",
        "state": "succeeded",
    }
    run = get_run(api, fid, run_id)
    assert {k: run[k] for k in ("status", "state", "logs", "result", "variables", "local")} == {
        "status": "closed",
        "state": "succeeded",
        "logs": ["one", "two"],
        "result": '{"k": 1}',
        "variables": {"name": "q"},
        "local": True,
    }
    events = sse_events(api.get(f"/functions/{fid}/runs/{run_id}/stream").content)
    assert [e for _, e in events[:2]] == [{"type": "log", "message": "one"}, {"type": "log", "message": "two"}]
    assert json.loads(str(events[2][1]["message"]))["result"] == {"k": 1}
    again = api.patch(f"/functions/{fid}/runs/{run_id}", json={"status": "failed"})
    assert (again.status_code, again.json()["message"]) == (
        409,
        f"run {run_id} is succeeded: only a created, unstarted run can be reported",
    )
