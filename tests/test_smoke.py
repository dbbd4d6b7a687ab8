"""The shortest path a user takes: deploy, run without streaming, read the run back."""

from __future__ import annotations

import httpx

from tests.conftest import deploy


def test_deploy_run_and_read_back(api: httpx.Client) -> None:
    function = deploy(api, "def run(name: str):\n    print('hi', name)\n    return {'hello': name}\n")
    fid = function["function_id"]
    started = api.post(
        f"/functions/{fid}/runs/start",
        json={"workflow_id": fid, "variables": {"name": "ada"}, "stream": False},
    )
    assert started.status_code == 200
    body = started.json()
    assert body == {
        "function_id": fid,
        "workflow_id": fid,
        "function_run_id": body["function_run_id"],
        "workflow_run_id": body["function_run_id"],
        "session_id": None,
        "result": {"hello": "ada"},
        "status": "closed",
        "state": "succeeded",
    }
    run = api.get(f"/functions/{fid}/runs/{body['function_run_id']}").json()
    assert run["status"] == "closed"
    assert run["result"] == '{"hello": "ada"}'
    assert [line.split(" | ", 3)[1:] for line in run["logs"]] == [["INFO    ", "user_script", "hi ada"]]
