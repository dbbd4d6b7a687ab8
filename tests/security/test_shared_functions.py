"""Running another account's shared function is safe for the caller: the run gets none of the
caller's secrets (nor the author's), and its key drives only the browser sessions that run opens.
The author hears nothing of the caller's runs. Forking still gives the caller a function of its own."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import LiveServer
from tests.security.helpers import deploy, run
from tests.security.run_keys import HOLDER, leaked_run_key

CALLER_SECRET = "caller-secret-value-1234"
AUTHOR_SECRET = "author-account-secret-5678"
AUTHOR_FUNCTION_SECRET = "author-function-secret-9012"

#: The author's hostile code, run by the caller: looks for secrets (reversed, so masking misses
#: them), and tries everything a stolen key could be used for.
HOSTILE = """
import os, requests

def run(victim_session: str, victim_function: str, me: str):
    url, key = os.environ["NOTTE_API_URL"], os.environ["NOTTE_API_KEY"]
    headers = {"x-notte-api-key": key}

    def call(method, path, **kwargs):
        return requests.request(method, url + path, headers=headers, timeout=120, **kwargs).status_code

    out = {
        "env": sorted(os.environ),
        "reversed": [value[::-1] for value in os.environ.values()],
        "key_kind": key[:4],
        "create_key": call("POST", "/keys", json={"name": "stolen"}),
        "list_keys": call("GET", "/keys"),
        "list_secrets": call("GET", "/secrets"),
        "list_sessions": call("GET", "/sessions"),
        "victim_session": call("GET", f"/sessions/{victim_session}"),
        "victim_screenshot": call("POST", f"/sessions/{victim_session}/page/screenshot"),
        "victim_replay": call("GET", f"/sessions/{victim_session}/replay"),
        "victim_stop": call("DELETE", f"/sessions/{victim_session}/stop"),
        "victim_function": call("GET", f"/functions/{victim_function}"),
        "start_victim_function": call(
            "POST", f"/functions/{victim_function}/runs/start",
            json={"workflow_id": victim_function, "variables": {}, "stream": False},
        ),
        "own_run": call("GET", f"/functions/{me}/runs/{os.environ['BROWSERFN_RUN_ID']}"),
    }
    started = requests.post(url + "/sessions/start", headers=headers, json={}, timeout=120)
    out["own_session_start"] = started.status_code
    if started.ok:
        session_id = started.json()["session_id"]
        out["own_session_read"] = call("GET", f"/sessions/{session_id}")
        out["own_session_screenshot"] = call("POST", f"/sessions/{session_id}/page/screenshot")
        out["own_session_stop"] = call("DELETE", f"/sessions/{session_id}/stop")
    return out
"""


@pytest.fixture
def accounts(server: LiveServer) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """(author, caller): two accounts, each with an account secret."""
    tag = uuid.uuid4().hex[:8]
    author_key, caller_key = server.create_key(f"author-{tag}"), server.create_key(f"caller-{tag}")
    with server.client(author_key, timeout=180) as author, server.client(caller_key, timeout=180) as caller:
        assert author.put("/secrets/AUTHOR_TOKEN", json={"value": AUTHOR_SECRET}).status_code == 200
        assert caller.put("/secrets/CALLER_TOKEN", json={"value": CALLER_SECRET}).status_code == 200
        yield author, caller


def _share(author: httpx.Client, code: str, name: str) -> str:
    function_id = deploy(author, code, name=name)
    assert author.patch(f"/functions/{function_id}", json={"shared": True}).json()["shared"] is True
    return function_id


def _outcome(record: dict[str, Any]) -> dict[str, Any]:
    assert record["state"] == "succeeded", record
    found: dict[str, Any] = json.loads(record["result"])
    return found


def test_a_shared_functions_run_gets_no_secrets_and_a_key_for_its_own_sessions_only(
    accounts: tuple[httpx.Client, httpx.Client],
) -> None:
    author, caller = accounts
    hostile = _share(author, HOSTILE, "hostile")
    put = author.put(f"/functions/{hostile}/secrets/FUNCTION_TOKEN", json={"value": AUTHOR_FUNCTION_SECRET})
    assert put.status_code == 200
    mine = deploy(caller, "def run():\n    return 'mine'\n", name="mine")
    victim_session = caller.post("/sessions/start", json={}).json()["session_id"]
    caller_keys = caller.get("/keys").json()["items"]
    try:
        record = run(caller, hostile, victim_session=victim_session, victim_function=mine, me=hostile)
        outcome = _outcome(record)
        everything = json.dumps(record)
        for secret in (CALLER_SECRET, AUTHOR_SECRET, AUTHOR_FUNCTION_SECRET):
            assert secret not in everything and secret[::-1] not in everything
        assert not {"CALLER_TOKEN", "AUTHOR_TOKEN", "FUNCTION_TOKEN"} & set(outcome["env"])
        assert {k: v for k, v in outcome.items() if k not in ("env", "reversed")} == {
            "key_kind": "bfg_",
            "create_key": 403,
            "list_keys": 403,
            "list_secrets": 403,
            "list_sessions": 403,
            "victim_session": 404,
            "victim_screenshot": 404,
            "victim_replay": 404,
            "victim_stop": 404,
            "victim_function": 403,
            "start_victim_function": 403,
            "own_run": 403,
            "own_session_start": 200,
            "own_session_read": 200,
            "own_session_screenshot": 200,
            "own_session_stop": 200,
        }
        # Nothing of the caller's changed; the session the run opened is the caller's to see.
        assert caller.get("/keys").json()["items"] == caller_keys
        assert caller.get(f"/sessions/{victim_session}").json()["status"] == "active"
        sessions = caller.get("/sessions", params={"only_active": "false", "page_size": 100}).json()["items"]
        assert [s["function_run_id"] for s in sessions].count(record["function_run_id"]) == 1
        # The author sees neither the caller's run nor its session.
        assert author.get(f"/functions/{hostile}/runs", params={"only_active": "false"}).json()["items"] == []
        assert author.get("/sessions", params={"only_active": "false"}).json()["items"] == []
    finally:
        caller.delete(f"/sessions/{victim_session}/stop")


def test_a_fork_is_the_callers_own_function_with_the_callers_secrets(
    accounts: tuple[httpx.Client, httpx.Client],
) -> None:
    author, caller = accounts
    code = "import os\ndef run():\n    return [os.environ['NOTTE_API_KEY'][:4], sorted(os.environ)]\n"
    shared = _share(author, code, "env")
    guest = json.loads(run(caller, shared)["result"])
    forked = caller.post(f"/functions/{shared}/fork")
    assert forked.status_code == 200, forked.text
    own = json.loads(run(caller, forked.json()["function_id"])["result"])
    assert guest[0] == "bfg_" and "CALLER_TOKEN" not in guest[1]
    assert own[0] == "bfr_" and "CALLER_TOKEN" in own[1] and "AUTHOR_TOKEN" not in own[1]


def test_a_guest_runs_key_held_outside_still_reaches_nothing_else(
    server: LiveServer, accounts: tuple[httpx.Client, httpx.Client]
) -> None:
    """The same from outside the sandbox: the key a shared function's run leaks is no more use."""
    author, caller = accounts
    holder = _share(author, HOLDER, "holder")
    mine = deploy(caller, "def run():\n    return 'mine'\n", name="mine")
    with leaked_run_key(caller, holder) as leaked, server.client(leaked.key) as stolen:
        assert leaked.key.startswith("bfg_")
        refusal = (
            "a run's key (the NOTTE_API_KEY of a run) cannot call {}: it may only open and drive the browser "
            "sessions of its own run (it runs a function shared by another account). Use an account API key for this."
        )
        answer = stolen.get(f"/functions/{mine}")
        assert (answer.status_code, answer.json()["message"]) == (403, refusal.format("GET /functions/{function_id}"))
        answer = stolen.get("/sessions")
        assert (answer.status_code, answer.json()["message"]) == (403, refusal.format("GET /sessions"))
        answer = stolen.get(f"/functions/{holder}/runs/{leaked.run_id}")
        assert answer.status_code == 403


@pytest.fixture
def hook_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server whose webhooks may target this machine (the loopback receiver below)."""
    env = {"BROWSERFN_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1", "BROWSERFN_RATE_LIMIT_PER_S": "0"}
    live = LiveServer(tmp_path / "server", warm_processes=1, env=env).start()
    yield live
    live.stop()


def test_the_authors_webhooks_hear_nothing_of_the_callers_runs(hook_server: LiveServer) -> None:
    with (
        hook_server.client(hook_server.create_key("author"), timeout=180) as author,
        hook_server.client(hook_server.create_key("caller"), timeout=180) as caller,
    ):
        shared = _share(author, "def run(note: str = ''):\n    return note\n", "hooked")
        hook = author.post(f"/functions/{shared}/webhooks", json={"url": "http://127.0.0.1:9/hook"})
        assert hook.status_code == 200, hook.text
        theirs = run(caller, shared, note="the caller's private note")
        own = run(author, shared, note="the author's")

        def deliveries() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = author.get(f"/functions/{shared}/webhooks/deliveries").json()["items"]
            return found

        deadline = time.monotonic() + 30
        while not deliveries() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [d["function_run_id"] for d in deliveries()] == [own["function_run_id"]]
        assert theirs["function_run_id"] not in json.dumps(deliveries())
