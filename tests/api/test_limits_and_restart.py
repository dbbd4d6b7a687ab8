"""The per-account concurrency limit and queue, and what a restart (clean or SIGKILL) keeps."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.helpers import assert_error, get_run, logs_of, run_to_end, wait_for
from tests.conftest import deploy
from tests.live_server import LiveServer

SLOW = "import time\n\n\ndef run():\n    print('started')\n    time.sleep(600)\n"
QUICK = "def run(name: str = 'x'):\n    print('hello', name)\n    return 'hi ' + name\n"


def start_in_background(api: httpx.Client, fid: str, variables: dict[str, object] | None = None) -> None:
    """Start a run and hang up at once (the run goes on)."""
    body = {"workflow_id": fid, "variables": variables or {}}
    with api.stream("POST", f"/functions/{fid}/runs/start", json=body) as response:
        assert response.status_code == 200


def runs_of(api: httpx.Client, fid: str, **params: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = api.get(
        f"/functions/{fid}/runs", params={"only_active": "False", **params}
    ).json()["items"]
    return items


def test_runs_over_the_limit_queue_and_a_full_queue_is_429(tmp_path: Path) -> None:
    live = LiveServer(
        tmp_path / "server", warm_processes=0, extra_args=("--account-concurrency", "1", "--queue-limit", "1")
    )
    live.start()
    try:
        with live.client() as api:
            slow = deploy(api, SLOW, "slow")["function_id"]
            quick = deploy(api, QUICK, "quick")["function_id"]
            start_in_background(api, slow)
            first = wait_for(lambda: runs_of(api, slow, only_active="True"), what="slow run")[0]
            wait_for(lambda: get_run(api, slow, str(first["function_run_id"]))["state"] == "running", what="running")
            start_in_background(api, quick, {"name": "queued"})
            [queued] = runs_of(api, quick)
            assert (queued["status"], queued["state"]) == ("active", "queued")

            refused = api.post(f"/functions/{quick}/runs/start", json={"workflow_id": quick, "variables": {}})
            assert_error(
                refused,
                429,
                "too many runs waiting: this account has 1 runs queued behind its 1 running ones "
                "(queue limit 1); retry when some finish",
            )
            assert refused.headers["Retry-After"] == "1"
            # Another account has its own limit.
            with live.client(live.create_key("other")) as other:
                mine = deploy(other, QUICK, "quick")["function_id"]
                assert run_to_end(other, mine)["status"] == "closed"

            # A queued run can be stopped: it never runs, and frees its place in the queue.
            stopped = api.delete(f"/functions/{quick}/runs/{queued['function_run_id']}").json()
            assert (stopped["status"], stopped["state"]) == ("stopped", "stopped")
            stopped_logs = logs_of(get_run(api, quick, str(queued["function_run_id"]))["logs"])
            assert stopped_logs == [("ERROR", "browserfn", "Run stopped on request")]
            start_in_background(api, quick, {"name": "queued"})
            [queued, _] = runs_of(api, quick)
            # The queued run still waits; when the slot frees, it runs.
            assert get_run(api, quick, str(queued["function_run_id"]))["state"] == "queued"
            assert api.delete(f"/functions/{slow}/runs/{first['function_run_id']}").status_code == 200
            done = wait_for(
                lambda: (r := get_run(api, quick, str(queued["function_run_id"])))["status"] == "closed" and r,
                what="queued run done",
            )
            assert (done["state"], done["result"]) == ("succeeded", "hi queued")
            assert run_to_end(api, quick)["status"] == "closed"
    finally:
        live.stop()


def test_a_restart_loses_nothing_and_a_killed_run_is_failed_with_a_reason(tmp_path: Path) -> None:
    live = LiveServer(tmp_path / "server", warm_processes=0, extra_args=("--account-concurrency", "1"))
    live.start()
    try:
        with live.client() as api:
            quick = deploy(api, QUICK, "quick")["function_id"]
            slow = deploy(api, SLOW, "slow")["function_id"]
            finished = run_to_end(api, quick, {"name": "before"})["function_run_id"]
            before_function = api.get(f"/functions/{quick}").json()
            before_run = get_run(api, quick, finished)

            # A clean restart keeps everything as it was; a run executing then is not left active.
            start_in_background(api, slow)
            interrupted = wait_for(lambda: runs_of(api, slow, only_active="True"), what="slow run")[0]
            wait_for(lambda: get_run(api, slow, str(interrupted["function_run_id"]))["logs"], what="it printed")
            live.stop()
            live.start()
            assert api.get(f"/functions/{quick}").json() | {"url": ""} == before_function | {"url": ""}
            assert get_run(api, quick, finished) == before_run
            ended = get_run(api, slow, str(interrupted["function_run_id"]))
            assert (ended["status"], logs_of(ended["logs"])[0]) == ("failed", ("INFO", "user_script", "started"))
            # Stopped by the shutdown (today its reason reads "Run stopped on request"; the executor
            # is getting a shutdown-specific reason), so any non-empty reason passes here.
            assert ended["state"] in ("stopped", "failed")
            assert ended["reason"], ended
            assert logs_of(ended["logs"])[-1] == ("ERROR", "browserfn", ended["reason"])

            # A crash: one run executing, one queued behind it.
            start_in_background(api, slow)
            running = wait_for(lambda: runs_of(api, slow, only_active="True"), what="slow run")[0]
            running_id = str(running["function_run_id"])
            wait_for(lambda: get_run(api, slow, running_id)["logs"], what="slow run printed")
            start_in_background(api, quick, {"name": "after"})
            [queued] = runs_of(api, quick, only_active="True")
            assert queued["state"] == "queued"
            live.kill()

        live.start()
        with live.client() as api:
            killed = wait_for(lambda: (r := get_run(api, slow, running_id))["status"] != "active" and r, what="failed")
            reason = "browserfn stopped while this run was executing; its process is gone"
            assert (killed["status"], killed["state"], killed["reason"]) == ("failed", "failed", reason)
            assert logs_of(killed["logs"]) == [("INFO", "user_script", "started"), ("ERROR", "browserfn", reason)]
            after = wait_for(
                lambda: (r := get_run(api, quick, str(queued["function_run_id"])))["status"] == "closed" and r,
                what="queued run ran after the restart",
            )
            assert (after["result"], logs_of(after["logs"])) == ("hi after", [("INFO", "user_script", "hello after")])
            assert get_run(api, quick, finished) == before_run
            assert runs_of(api, slow, only_active="True") == []
            listed = [f["function_id"] for f in api.get("/functions/").json()["items"]]
            assert sorted(listed) == sorted([quick, slow])
    finally:
        live.stop()
