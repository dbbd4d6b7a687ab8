"""Sessions as browser contexts in their account's browser process (browser/account_browsers.py):
accounts never share a process, a session leaves nothing to the next one of its account, and a
CDP client of one session can neither see nor reach another session's pages in the same browser
(browser/cdp_filter.py), whether it is Playwright, the SDK, or a raw CDP client trying."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from notte_sdk import NotteClient
from playwright.sync_api import sync_playwright
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.browser.conftest import browsers_of, pooled_server, wait_until_gone
from tests.browser.state_site import StateSite
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def state_site() -> Iterator[StateSite]:
    site = StateSite().start()
    yield site
    site.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with pooled_server(tmp_path_factory.mktemp("context-sessions")) as live:
        yield live


class Cdp:
    """A raw CDP client on a session's cdp_url: commands, and every event it was sent."""

    def __init__(self, url: str) -> None:
        self.socket: ClientConnection = connect(url, max_size=None)
        self.events: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def send(self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None) -> dict[str, Any]:
        """The answer to the command (its `result`, or its `error`)."""
        command_id = next(self._ids)
        command: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
        if session_id is not None:
            command["sessionId"] = session_id
        self.socket.send(json.dumps(command))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == command_id:
                return message
            self.events.append(message)

    def drain(self, seconds: float = 1.0) -> list[dict[str, Any]]:
        """Events that arrive within `seconds`, added to `events`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.events.append(json.loads(self.socket.recv(timeout=left)))
            except TimeoutError:
                break
        return self.events

    def close(self) -> None:
        self.socket.close()


def _start(api: httpx.Client, **options: Any) -> dict[str, Any]:
    answer = api.post("/sessions/start", json=options)
    assert answer.status_code == 200, answer.text
    session: dict[str, Any] = answer.json()
    return session


def _goto(api: httpx.Client, session_id: str, url: str) -> None:
    done = api.post(f"/sessions/{session_id}/page/execute", json={"type": "goto", "url": url}).json()
    assert done["success"], done


def _evaluate(api: httpx.Client, session_id: str, code: str) -> Any:
    done = api.post(f"/sessions/{session_id}/page/execute", json={"type": "evaluate_js", "code": code}).json()
    assert done["success"], done
    return done


def _browser_pid(api: httpx.Client, session_id: str, site: StateSite) -> int:
    """The pid of the browser process serving the session, as the site saw it connect."""
    _goto(api, session_id, f"{site.url}/whoami")
    tabs = api.get(f"/sessions/{session_id}/debug").json()["tabs"]
    pid = int(tabs[-1]["metadata"]["title"])
    assert pid > 0
    return pid


def _stop(api: httpx.Client, session_id: str) -> None:
    api.delete(f"/sessions/{session_id}/stop")


def _targets(cdp: Cdp) -> set[str]:
    answer = cdp.send("Target.getTargets")
    return {info["targetId"] for info in answer["result"]["targetInfos"] if info["type"] == "page"}


def test_accounts_never_share_a_browser_process_and_sessions_of_one_account_do(
    server: LiveServer, state_site: StateSite
) -> None:
    other_key = server.create_key("other-account")
    with server.client(timeout=120) as api, server.client(other_key, timeout=120) as other:
        a1, a2, b1 = _start(api), _start(api), _start(other)
        try:
            pid_a1 = _browser_pid(api, a1["session_id"], state_site)
            pid_a2 = _browser_pid(api, a2["session_id"], state_site)
            pid_b1 = _browser_pid(other, b1["session_id"], state_site)
            assert pid_a1 == pid_a2  # one process per account, a context per session
            assert pid_b1 != pid_a1
            assert {pid_a1, pid_b1} <= set(browsers_of(server.data_dir))
            # A session whose options need a launch of its own gets a process of its own.
            own = _start(api, user_agent="OwnProcess/1.0")
            try:
                assert _browser_pid(api, own["session_id"], state_site) not in (pid_a1, pid_b1)
            finally:
                _stop(api, own["session_id"])
        finally:
            for session, client in ((a1, api), (a2, api), (b1, other)):
                _stop(client, session["session_id"])


def test_a_session_leaves_nothing_to_the_next_one_of_its_account(server: LiveServer, state_site: StateSite) -> None:
    with server.client(timeout=120) as api:
        first = _start(api)
        first_id = first["session_id"]
        first_pid = _browser_pid(api, first_id, state_site)
        _goto(api, first_id, f"{state_site.url}/store")
        _evaluate(api, first_id, "storeEverything()")
        with sync_playwright() as playwright:
            browser = playwright.chromium.connect_over_cdp(first["cdp_url"])
            context = browser.contexts[0]
            context.grant_permissions(["geolocation"], origin=state_site.url)
            context.new_page().goto(f"{state_site.url}/page-left-open")
            page = context.pages[0]
            left = page.evaluate("whatIsLeft()")
            assert left["local"] == "by-first" and left["workers"] == 1 and left["geo"] == "granted", left
            with page.expect_download() as download:
                page.evaluate(f"location.href = '{state_site.url}/download'")
            assert download.value.suggested_filename == "left.txt"
            browser.close()
        cached_fetches = state_site.fetches["/cached"]
        _stop(api, first_id)

        second = _start(api)
        second_id = second["session_id"]
        try:
            assert _browser_pid(api, second_id, state_site) == first_pid  # the same process...
            _goto(api, second_id, f"{state_site.url}/store")
            with sync_playwright() as playwright:
                browser = playwright.chromium.connect_over_cdp(second["cdp_url"])
                context = browser.contexts[0]
                assert [p.url for p in context.pages] == [f"{state_site.url}/store"]  # no page left open
                page = context.pages[0]
                left = page.evaluate("whatIsLeft()")
                # ...and nothing of the first session in it.
                assert left == {
                    "cookie": "",
                    "local": None,
                    "session": None,
                    "dbs": [],
                    "workers": 0,
                    "geo": "prompt",
                    "cache": 0,
                }, left
                assert context.cookies() == []
                page.evaluate("fetch('/cached')")  # the HTTP cache is the context's: fetched again
                deadline = time.monotonic() + 10
                while state_site.fetches["/cached"] == cached_fetches and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert state_site.fetches["/cached"] == cached_fetches + 1
                browser.close()
            assert api.get(f"/sessions/{second_id}/files").json()["total"] == 0  # no download either
        finally:
            _stop(api, second_id)


def test_a_cdp_client_sees_and_reaches_only_its_own_session(server: LiveServer, state_site: StateSite) -> None:
    with server.client(timeout=120) as api:
        a, b = _start(api), _start(api)
        _goto(api, a["session_id"], f"{state_site.url}/alpha")
        _goto(api, b["session_id"], f"{state_site.url}/beta")
        cdp_a, cdp_b = Cdp(a["cdp_url"]), Cdp(b["cdp_url"])
        try:
            assert _browser_pid(api, a["session_id"], state_site) == _browser_pid(api, b["session_id"], state_site)
            targets_a, targets_b = _targets(cdp_a), _targets(cdp_b)
            assert len(targets_a) == 1 and len(targets_b) == 1 and not targets_a & targets_b
            (target_b,) = targets_b

            # Attaching to B's page, or asking about it, fails as for a target that does not exist.
            for method in (
                "Target.attachToTarget",
                "Target.getTargetInfo",
                "Target.closeTarget",
                "Target.activateTarget",
            ):
                answer = cdp_a.send(
                    method, {"targetId": target_b, "flatten": True} if "attach" in method else {"targetId": target_b}
                )
                assert "error" in answer, (method, answer)
            # Discovery and auto-attach tell A of its own targets only.
            assert "result" in cdp_a.send("Target.setDiscoverTargets", {"discover": True})
            assert "result" in cdp_a.send(
                "Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": False, "flatten": True}
            )
            created_b = cdp_b.send("Target.createTarget", {"url": f"{state_site.url}/beta-two"})["result"]["targetId"]
            events = cdp_a.drain(2.0)
            seen = {
                e["params"].get("targetInfo", {}).get("targetId") or e["params"].get("targetId")
                for e in events
                if "params" in e
            }
            assert target_b not in seen and created_b not in seen
            attached = [e for e in events if e.get("method") == "Target.attachedToTarget"]
            assert {e["params"]["targetInfo"]["targetId"] for e in attached} == targets_a
            # B's flattened session id is refused on A's connection.
            session_b = cdp_b.send("Target.attachToTarget", {"targetId": target_b, "flatten": True})["result"][
                "sessionId"
            ]
            answer = cdp_a.send("Runtime.evaluate", {"expression": "document.title"}, session_id=session_b)
            assert "error" in answer
            # Nor can A name B's context, reach the browser target, or close or crash the browser.
            context_b = cdp_b.send("Target.getTargetInfo", {"targetId": target_b})["result"]["targetInfo"][
                "browserContextId"
            ]
            for method, params in (
                ("Target.createTarget", {"url": "about:blank", "browserContextId": context_b}),
                ("Storage.getCookies", {"browserContextId": context_b}),
                ("Target.disposeBrowserContext", {"browserContextId": context_b}),
                ("Browser.close", {}),
                ("Browser.crash", {}),
                ("Tracing.start", {}),
            ):
                assert "error" in cdp_a.send(method, params), method
            assert cdp_a.send("Target.getBrowserContexts")["result"]["browserContextIds"] == []
            # A session on the browser target (Playwright's new_browser_cdp_session) has the same view.
            browser_session = cdp_a.send("Target.attachToBrowserTarget")["result"]["sessionId"]
            answer = cdp_a.send("Target.getTargets", session_id=browser_session)
            assert {i["targetId"] for i in answer["result"]["targetInfos"] if i["type"] == "page"} == targets_a
            for method in ("Browser.close", "Target.attachToTarget"):
                assert "error" in cdp_a.send(method, {"targetId": target_b}, session_id=browser_session), method
            # A page A creates lands in A's context; B does not see it.
            created_a = cdp_a.send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
            assert created_a in _targets(cdp_a) and created_a not in _targets(cdp_b)
            # A's cookies (the default context's, for the client) are the session's.
            cdp_a.send("Storage.setCookies", {"cookies": [{"name": "a", "value": "1", "url": state_site.url}]})
            assert [c["name"] for c in cdp_a.send("Storage.getCookies")["result"]["cookies"]] == ["a"]
            assert cdp_b.send("Storage.getCookies")["result"]["cookies"] == []
            # B's session works on, its browser unharmed.
            assert api.get(f"/sessions/{b['session_id']}").json()["status"] == "active"
            evaluated = cdp_b.send("Runtime.evaluate", {"expression": "1 + 1"}, session_id=session_b)
            assert evaluated["result"]["result"]["value"] == 2
        finally:
            cdp_a.close()
            cdp_b.close()
            _stop(api, a["session_id"])
            _stop(api, b["session_id"])


def test_playwright_and_the_sdk_drive_a_session_in_a_shared_browser(server: LiveServer, state_site: StateSite) -> None:
    notte = NotteClient(api_key=server.key, server_url=server.url)
    with notte.Session() as one, notte.Session() as two:
        one.execute(type="goto", url=f"{state_site.url}/one")
        two.execute(type="goto", url=f"{state_site.url}/two")
        with sync_playwright() as playwright:
            browser = playwright.chromium.connect_over_cdp(one.cdp_url())
            assert len(browser.contexts) == 1
            page = browser.contexts[0].pages[0]
            assert page.url == f"{state_site.url}/one"
            browser.contexts[0].add_cookies([{"name": "from_pw", "value": "x", "url": state_site.url}])
            assert [c["name"] for c in browser.contexts[0].cookies()] == ["from_pw"]
            extra = browser.contexts[0].new_page()
            extra.goto(f"{state_site.url}/extra")
            assert [p.url for p in browser.contexts[0].pages] == [f"{state_site.url}/one", f"{state_site.url}/extra"]
            # The server's view of the session agrees (its tabs and cookies), and the other session's does not change.
            deadline = time.monotonic() + 10  # the server learns of the client's page as an event
            while len(one.debug_info().tabs) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert len(one.debug_info().tabs) == 2
            assert [c["name"] for c in one.get_cookies()] == ["from_pw"]
            assert two.get_cookies() == [] and len(two.debug_info().tabs) == 1
            browser.close()
        two.execute(type="goto", url=f"{state_site.url}/two-again")
        assert two.debug_info().tabs[0].metadata.url == f"{state_site.url}/two-again"


def test_a_cdp_client_of_a_session_without_tabs_gets_its_own_context_and_what_it_creates_goes_with_it(
    server: LiveServer, state_site: StateSite
) -> None:
    """The session's context is learnt when a CDP client first connects (not at the start): a
    session whose tabs were all closed still gives its client its own context (with a new blank
    tab), and a context the client creates, even one Chromium would keep after the client left,
    is disposed of when the session closes, while the account's browser lives on for its other
    session."""
    with server.client(timeout=120) as api:
        lone, other = _start(api), _start(api)
        _goto(api, other["session_id"], f"{state_site.url}/other")
        _evaluate(api, lone["session_id"], "window.close()")  # its only tab, never navigated: it may close itself
        deadline = time.monotonic() + 10
        while api.get(f"/sessions/{lone['session_id']}/debug").json()["tabs"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert api.get(f"/sessions/{lone['session_id']}/debug").json()["tabs"] == []
        cdp = Cdp(lone["cdp_url"])
        deadline = time.monotonic() + 30
        try:
            (blank,) = cdp.send("Target.getTargets")["result"]["targetInfos"]
            assert blank["type"] == "page" and blank["url"] == "about:blank"
            created = cdp.send("Target.createBrowserContext", {"disposeOnDetach": False})["result"]["browserContextId"]
            target = cdp.send("Target.createTarget", {"url": f"{state_site.url}/created", "browserContextId": created})
            page = cdp.send("Target.attachToTarget", {"targetId": target["result"]["targetId"], "flatten": True})
            ticking = f"setInterval(() => fetch('{state_site.url}/created-tick'), 50); location.href"
            while time.monotonic() < deadline:
                evaluated = cdp.send(
                    "Runtime.evaluate", {"expression": ticking}, session_id=page["result"]["sessionId"]
                )
                if evaluated.get("result", {}).get("result", {}).get("value") == f"{state_site.url}/created":
                    break
                time.sleep(0.1)  # still loading: ask again on the loaded page
            while state_site.fetches.get("/created-tick", 0) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert state_site.fetches.get("/created-tick", 0) >= 3
        finally:
            cdp.close()
            _stop(api, lone["session_id"])
        # The close ends in the background after the stop's answer: wait for the ticks to stop.
        deadline, ticks = time.monotonic() + 30, -1
        while state_site.fetches["/created-tick"] != ticks and time.monotonic() < deadline:
            ticks = state_site.fetches["/created-tick"]
            time.sleep(2.0)
        assert state_site.fetches["/created-tick"] == ticks  # its page went with its context
        assert api.get(f"/sessions/{other['session_id']}/debug").json()["tabs"][0]["metadata"]["url"] == (
            f"{state_site.url}/other"
        )
        _stop(api, other["session_id"])


def test_a_cdp_connection_ends_with_its_session_and_the_idle_browser_is_killed(
    tmp_path: Path, state_site: StateSite
) -> None:
    live = LiveServer(
        tmp_path / "server", extra_args=("--browser-pool-size", "0"), env={"BROWSERFN_BROWSER_ACCOUNT_IDLE_S": "2"}
    ).start()
    try:
        with live.client(timeout=120) as api:
            session = _start(api)
            pid = _browser_pid(api, session["session_id"], state_site)
            cdp = Cdp(session["cdp_url"])
            _stop(api, session["session_id"])
            with pytest.raises(ConnectionClosed):  # the proxy closes the client's socket
                cdp.drain(10.0)
                cdp.send("Target.getTargets")
            cdp.close()
            assert wait_until_gone(lambda: [p for p in browsers_of(live.data_dir) if p == pid]) == []
    finally:
        live.stop()
