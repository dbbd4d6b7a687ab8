"""A run's key (its NOTTE_API_KEY) is least-privilege: it opens and drives browser sessions, reads
its own run and starts runs of its account's functions; everything else is a 403 saying so. Every
route of the app is walked, so a new route is closed to run keys unless it declares a scope."""

from __future__ import annotations

import collections
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import routing

from browserfn.api import deps
from browserfn.api.app import create_app
from browserfn.config import Settings
from tests.api.helpers import assert_error
from tests.live_server import LiveServer
from tests.security.helpers import deploy
from tests.security.run_keys import HOLDER, LeakedKey, leaked_run_key

HELLO = "def run(name: str = 'x'):\n    return 'hi ' + name\n"
RUN_KEY_REFUSED = (
    "a run's key (the NOTTE_API_KEY of a run) cannot call {what}: it may only open and drive browser sessions, "
    "read its own run, and start runs of its account's functions. Use an account API key for this."
)
#: What a run's key may call (the policy; SECURITY.md): everything else answers 403.
RUN_KEY_MAY_CALL = {
    ("GET", "/functions/{function_id}"),
    ("POST", "/functions/{function_id}/runs/create"),
    ("POST", "/functions/{function_id}/runs/start"),
    ("POST", "/functions/{function_id}/runs/{run_id}"),
    ("GET", "/functions/{function_id}/runs/{run_id}"),
    ("GET", "/functions/{function_id}/runs/{run_id}/stream"),
    ("GET", "/functions/{function_id}/runs/{run_id}/payloads/{field}"),
}
#: What a script does with sessions beyond /sessions: agents on them (and help with their prompts),
#: one-shot scrapes. A guest run's key may call them too, but not the listing of agents (as for sessions).
SESSION_WORK = {
    ("POST", "/prompts/improve"),
    ("POST", "/prompts/nudge"),
    ("POST", "/agents/start"),
    ("GET", "/agents/{agent_id}"),
    ("DELETE", "/agents/{agent_id}/stop"),
    ("GET", "/agents/{agent_id}/workflow/code"),
    ("POST", "/scrape"),
    ("POST", "/scrape_from_html"),
}
RUN_KEY_MAY_CALL |= SESSION_WORK | {("GET", "/agents"), ("GET", "/agents/")}
#: Families a run's key may use whole: its account's sessions, the identities scripts use and keep, and the
#: browser data they keep (profiles, stored files).
RUN_KEY_MAY_USE = ("/sessions", "/vaults", "/personas", "/profiles", "/storage")


@pytest.fixture
def account(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(server.create_key(f"runkeys-{uuid.uuid4().hex[:8]}"), timeout=180) as client:
        yield client


@pytest.fixture
def run_key(account: httpx.Client) -> Iterator[LeakedKey]:
    with leaked_run_key(account, deploy(account, HOLDER, name="holder")) as leaked:
        yield leaked


def test_a_run_key_cannot_touch_keys_secrets_or_functions(
    server: LiveServer, account: httpx.Client, run_key: LeakedKey
) -> None:
    assert run_key.key.startswith("bfr_")
    other = deploy(account, HELLO, name="other")
    assert account.put("/secrets/ACCOUNT_TOKEN", json={"value": "account-secret-1"}).status_code == 200
    own_key_id = account.get("/keys").json()["items"][0]["key_id"]
    with server.client(run_key.key) as script:
        assert_error(script.post("/keys", json={"name": "forever"}), 403, RUN_KEY_REFUSED.format(what="POST /keys"))
        refused = [
            script.get("/keys"),
            script.delete(f"/keys/{own_key_id}"),
            script.get("/secrets"),
            script.put("/secrets/STOLEN", json={"value": "x"}),
            script.delete("/secrets/ACCOUNT_TOKEN"),
            script.get(f"/functions/{other}/secrets"),
            script.get("/functions/"),
            script.post("/functions/", files={"file": ("f.py", HELLO.encode())}),
            script.post(f"/functions/{other}", files={"file": ("f.py", HELLO.encode())}),
            script.patch(f"/functions/{other}", json={"name": "taken"}),
            script.delete(f"/functions/{other}"),
            script.post(f"/functions/{other}/fork"),
            script.get(f"/functions/{other}/webhooks"),
            script.post(f"/functions/{other}/webhooks", json={"url": "https://example.com/hook"}),
            script.get("/webhooks/secret"),
            script.get("/schedules"),
            script.post(f"/functions/{other}/schedule", json={"cron": "* * * * *"}),
            script.get(f"/functions/{run_key.function_id}/runs"),
            script.delete(f"/functions/{run_key.function_id}/runs/{run_key.run_id}"),
        ]
        for response in refused:
            assert response.status_code == 403, (response.request.method, response.request.url, response.text)
            assert response.json()["message"].startswith("a run's key (the NOTTE_API_KEY of a run) cannot call ")
        # What a script needs: its own run, its account's functions, starting runs of them.
        own = script.get(f"/functions/{run_key.function_id}/runs/{run_key.run_id}")
        assert (own.status_code, own.json()["state"]) == (200, "running")
        assert script.get(f"/functions/{other}").json()["name"] == "other"
        started = script.post(
            f"/functions/{other}/runs/start", json={"workflow_id": other, "variables": {"name": "run"}, "stream": False}
        )
        assert (started.status_code, started.json()["result"]) == (200, "hi run")
        assert_error(
            script.get(f"/functions/{other}/runs/{started.json()['function_run_id']}"),
            403,
            "a run's key (the NOTTE_API_KEY of a run) may read only its own run",
        )
        assert script.get("/sessions").status_code == 200
    # Nothing changed: no new key, the owner's key still works, its secret is still there.
    assert [k["key_id"] for k in account.get("/keys").json()["items"]] == [own_key_id]
    assert account.get("/secrets").json()["items"] == ["ACCOUNT_TOKEN"]
    assert account.get(f"/functions/{other}").json()["name"] == "other"


def test_the_sdk_inside_a_run_starts_its_accounts_functions(account: httpx.Client) -> None:
    """What the official client does with a run's key (GET the function, runs/create, start)."""
    inner = deploy(account, HELLO, name="inner")
    outer = deploy(
        account,
        """
        from notte_sdk import NotteClient
        def run(inner: str):
            return NotteClient().Function(inner).run(name="sdk").result
        """,
        name="outer",
    )
    started = account.post(
        f"/functions/{outer}/runs/start", json={"workflow_id": outer, "variables": {"inner": inner}, "stream": False}
    )
    assert (started.json()["status"], started.json()["result"]) == ("closed", "hi sdk"), started.text


def _authenticated_routes(tmp_path: Path) -> list[tuple[str, str]]:
    """(method, path) of every route of the app that takes a key."""
    app = create_app(Settings(data_dir=tmp_path / "unused"))

    def calls(dependant: Any) -> Iterator[Any]:
        yield dependant.call
        for sub in dependant.dependencies:
            yield from calls(sub)

    found = []
    for context in routing.iter_route_contexts(app.routes):  # the routes of included routers too
        route = context.original_route
        if isinstance(route, routing.APIRoute) and deps.principal in set(calls(route.dependant)):
            found += [(method, route.path) for method in sorted(route.methods)]
    return found


def _call(client: httpx.Client, method: str, template: str, function_id: str, run_id: str) -> int:
    known = {"function_id": function_id, "run_id": run_id, "name": "SOME_NAME", "version": "1"}
    # Any other path parameter (a session's, a vault's, a key's id...): an id nobody has.
    path = template.format_map(collections.defaultdict(lambda: str(uuid.uuid4()), known))
    # A start with a browser type we lack: past the key check, refused before a browser opens.
    body = {"browser_type": "firefox"} if path == "/sessions/start" else {}
    kwargs: dict[str, Any] = {"json": body} if method in ("POST", "PUT", "PATCH") else {}
    with client.stream(method, path, **kwargs) as response:  # a run's own event stream never ends
        if response.status_code == 403:
            response.read()
            assert response.json()["message"].startswith("a run's key (the NOTTE_API_KEY of a run) cannot call ")
        return response.status_code


def test_every_route_refuses_a_run_key_unless_it_declares_what_run_keys_may_do(
    tmp_path: Path, server: LiveServer, account: httpx.Client, run_key: LeakedKey
) -> None:
    routes = _authenticated_routes(tmp_path)
    assert len(routes) > 40 and ("POST", "/keys") in routes and ("GET", "/sessions/{session_id}") in routes
    wrong: list[tuple[str, str, int]] = []
    with server.client(run_key.key) as script:
        for method, template in routes:
            status = _call(script, method, template, run_key.function_id, run_key.run_id)
            allowed = (method, template) in RUN_KEY_MAY_CALL or template.startswith(RUN_KEY_MAY_USE)
            if (status == 403) == allowed:
                wrong.append((method, template, status))
    assert wrong == []
    # The account's own key is refused none of them.
    refused = [(m, t) for m, t in routes if _call(account, m, t, run_key.function_id, run_key.run_id) == 403]
    assert refused == [], refused


def test_every_route_but_its_own_sessions_refuses_a_guest_runs_key(
    tmp_path: Path, server: LiveServer, account: httpx.Client
) -> None:
    """The key of a run of a function another account shared: session routes only, not the listing."""
    with server.client(server.create_key(f"author-{uuid.uuid4().hex[:8]}")) as author:
        holder = deploy(author, HOLDER, name="shared-holder")
        assert author.patch(f"/functions/{holder}", json={"shared": True}).json()["shared"] is True
    routes = _authenticated_routes(tmp_path)
    wrong: list[tuple[str, str, int]] = []
    with leaked_run_key(account, holder) as guest, server.client(guest.key) as script:
        assert guest.key.startswith("bfg_")
        for method, template in routes:
            status = _call(script, method, template, guest.function_id, guest.run_id)
            allowed = (template.startswith("/sessions") and template not in ("/sessions", "/sessions/")) or (
                method,
                template,
            ) in SESSION_WORK
            if (status == 403) == allowed:
                wrong.append((method, template, status))
    assert wrong == []


def test_a_guest_runs_key_cannot_start_an_agent_with_a_vault_or_persona(
    server: LiveServer, account: httpx.Client
) -> None:
    """An agent with `vault_id` or `persona_id` types or reads the account's identities: a guest
    run's key may not (as it may not start a session with a vault)."""
    with server.client(server.create_key(f"author-{uuid.uuid4().hex[:8]}")) as author:
        holder = deploy(author, HOLDER, name="shared-holder")
        assert author.patch(f"/functions/{holder}", json={"shared": True}).json()["shared"] is True
    with leaked_run_key(account, holder) as guest, server.client(guest.key) as script:
        for field in ("vault_id", "persona_id"):
            answer = script.post("/agents/start", json={"session_id": "s-1", "task": "log in", field: "x-1"})
            assert answer.status_code == 403, answer.text
            assert answer.json()["message"].startswith("vault_id, persona_id: a run of another account's shared")
