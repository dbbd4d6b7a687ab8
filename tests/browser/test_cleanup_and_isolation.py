"""No Chromium outlives its session or run, whichever way it ends; sessions cannot reach each
other through CDP."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from browserfn.browser.chromium import TEMP_DIR_PREFIX, processes_with_env
from browserfn.sandbox import firewall
from tests.browser.conftest import browsers_of, wait_until_gone
from tests.browser.site import LocalSite
from tests.live_server import LiveServer

POOL_SESSION_SCRIPT = """
from notte_sdk import NotteClient

def run(url: str):
    with NotteClient().Session() as session:
        session.execute(type="goto", url=url)
    return "unreachable"
"""
OWN_CHROMIUM_SCRIPT = """
import os
from playwright.sync_api import sync_playwright

def run(url: str):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ["BROWSERFN_CHROMIUM"], args=["--no-sandbox"])
        page = browser.new_page()
        print("browser launched", flush=True)
        page.goto(url, timeout=600000)
    return "unreachable"
"""


@pytest.fixture
def poolless_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server with no ready browsers, whose accounts' browsers are killed as soon as their last
    session closes: after a session closes, none of its Chromium may remain."""
    live = LiveServer(
        tmp_path / "server",
        warm_processes=0,
        extra_args=("--browser-pool-size", "0"),
        env={"BROWSERFN_BROWSER_ACCOUNT_IDLE_S": "0"},
    ).start()
    yield live
    live.stop()


def _deploy(api: httpx.Client, code: str) -> str:
    files = {"file": ("fn.py", textwrap.dedent(code).encode(), "text/x-python")}
    response = api.post("/functions/", params={"restricted": "False"}, files=files, data={"name": "fn"})
    assert response.status_code == 200, response.text
    function_id: str = response.json()["function_id"]
    return function_id


def _stop_during(api: httpx.Client, function_id: str, url: str, wait_for: str) -> tuple[str, list[dict[str, Any]]]:
    """Start a streamed run, stop it once the stream shows `wait_for` (plus a moment, so the browser
    action is in flight), and return the run id and every event of the stream."""
    events: list[dict[str, Any]] = []
    rid = api.post(f"/functions/{function_id}/runs/create", json={}).json()["function_run_id"]
    body = {"workflow_id": function_id, "workflow_run_id": rid, "variables": {"url": url}, "stream": True}
    with api.stream("POST", f"/functions/{function_id}/runs/{rid}", json=body) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data: "):
                continue
            events.append(json.loads(line[6:]))
            if wait_for in events[-1]["message"] or events[-1]["type"] == wait_for:
                time.sleep(1.5)
                assert api.delete(f"/functions/{function_id}/runs/{rid}").json()["status"] == "stopped"
            if events[-1]["type"] == "result":
                break
    return rid, events


def test_stopping_a_run_mid_action_kills_its_session_browser(poolless_server: LiveServer, site: LocalSite) -> None:
    with poolless_server.client(timeout=120) as api:
        function_id = _deploy(api, POOL_SESSION_SCRIPT)
        rid, events = _stop_during(api, function_id, f"{site.url}/never", "session_start")
        starts = [e["message"] for e in events if e["type"] == "session_start"]
        assert len(starts) == 1 and events[-1]["type"] == "result"
        assert json.loads(events[-1]["message"])["status"] == "failed"
        assert wait_until_gone(lambda: browsers_of(poolless_server.data_dir)) == []
        run = api.get(f"/functions/{function_id}/runs/{rid}").json()
        session = api.get(f"/sessions/{starts[0]}").json()
        assert (run["status"], run["session_id"]) == ("failed", starts[0])
        assert (session["status"], session["closed_by"], session["run_id"]) == ("closed", "its run ended", rid)


def test_a_closed_sessions_browser_leaves_no_directory_behind(poolless_server: LiveServer, site: LocalSite) -> None:
    """Chromium is killed, not asked to quit: what it keeps in its TMPDIR (its singleton socket
    directory) would stay in /tmp for ever, one per session. Each browser has a TMPDIR of its own,
    removed with its profile."""
    temp = Path(tempfile.gettempdir())

    def leftovers() -> set[Path]:
        # Only this server's: other servers alive in the suite launch browsers of their own meanwhile.
        profiles = {p.name for p in poolless_server.data_dir.rglob("*") if p.is_dir()}
        return {*temp.glob("org.chromium.Chromium.*"), *(p for p in temp.glob(f"{TEMP_DIR_PREFIX}*") if
                p.name.removeprefix(TEMP_DIR_PREFIX) in profiles)}  # fmt: skip

    before = leftovers()
    with poolless_server.client(timeout=120) as api:
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        action = {"type": "goto", "url": f"{site.url}/page?name=x"}
        assert api.post(f"/sessions/{sid}/page/execute", json=action).json()["success"] is True
        own = leftovers() - before
        assert len(own) == 1  # its own TMPDIR, while it runs
        assert api.delete(f"/sessions/{sid}/stop").json()["status"] == "closed"
    assert wait_until_gone(lambda: browsers_of(poolless_server.data_dir)) == []
    deadline = time.monotonic() + 5
    while any(p.exists() for p in own) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in own if p.exists()] == []
    # Nor did Chromium leave a singleton socket directory in the shared /tmp.
    assert {p for p in temp.glob("org.chromium.Chromium.*")} - before == set()


def test_stopping_a_run_kills_the_chromium_it_launched_itself(poolless_server: LiveServer, site: LocalSite) -> None:
    with poolless_server.client(timeout=120) as api:
        function_id = _deploy(api, OWN_CHROMIUM_SCRIPT)
        rid, events = _stop_during(api, function_id, f"{site.url}/never", "browser launched")
        assert json.loads(events[-1]["message"])["status"] == "failed"
        # Every process of the run (Playwright's driver, Chromium and its helpers) carries the run id.
        assert wait_until_gone(lambda: processes_with_env(f"BROWSERFN_RUN_ID={rid}")) == []


def test_a_killed_server_leaves_no_chromium(tmp_path: Path, site: LocalSite) -> None:
    live = LiveServer(tmp_path / "server", warm_processes=0, extra_args=("--browser-pool-size", "1")).start()
    try:
        with live.client(timeout=120) as api:
            sid = api.post("/sessions/start", json={}).json()["session_id"]
            action = {"type": "goto", "url": f"{site.url}/page?name=x"}
            assert api.post(f"/sessions/{sid}/page/execute", json=action).json()["success"] is True
        assert len(browsers_of(live.data_dir)) >= 2  # the session's and the pool's
        live.kill()
        assert wait_until_gone(lambda: browsers_of(live.data_dir)) == []
    finally:
        live.stop()


def test_two_sessions_cannot_see_each_other_through_cdp(bapi: httpx.Client, site: LocalSite) -> None:
    a = bapi.post("/sessions/start", json={}).json()
    b = bapi.post("/sessions/start", json={}).json()
    try:
        with sync_playwright() as playwright:
            browser_a = playwright.chromium.connect_over_cdp(a["cdp_url"])
            browser_b = playwright.chromium.connect_over_cdp(b["cdp_url"])
            browser_a.contexts[0].pages[0].goto(f"{site.url}/page?name=Alpha")
            page_b = browser_b.contexts[0].pages[0]
            page_b.goto(f"{site.url}/page?name=Beta")
            browser_a.contexts[0].pages[0].evaluate("document.cookie = 'owner=alpha; path=/'")
            assert page_b.evaluate("document.cookie") == ""
            assert [p.url for c in browser_a.contexts for p in c.pages] == [f"{site.url}/page?name=Alpha"]
            assert [p.url for c in browser_b.contexts for p in c.pages] == [f"{site.url}/page?name=Beta"]
            # The API's view of each session agrees.
            assert [t["metadata"]["title"] for t in bapi.get(f"/sessions/{a['session_id']}/debug").json()["tabs"]] == [
                "Alpha"
            ]
            # A's credential does not open B, and no credential opens nothing.
            token_a = a["cdp_url"].split("token=")[1]
            for url in (b["cdp_url"].split("?")[0] + f"?token={token_a}", b["cdp_url"].split("?")[0]):
                with pytest.raises(PlaywrightError):
                    playwright.chromium.connect_over_cdp(url, timeout=5000)
            browser_a.close()
            browser_b.close()
    finally:
        bapi.delete(f"/sessions/{a['session_id']}/stop")
        bapi.delete(f"/sessions/{b['session_id']}/stop")


def _devtools_ports(data_dir: Path) -> list[int]:
    """The DevTools ports of the browsers the server of `data_dir` launched (from their command lines)."""
    ports = []
    for pid in browsers_of(data_dir):
        with contextlib.suppress(OSError):
            for arg in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"):
                if arg.startswith(b"--remote-debugging-port="):
                    ports.append(int(arg.split(b"=", 1)[1]))
    return sorted(set(ports))


def _connects_as(uid: int | None, port: int) -> bool:
    """Whether a process with `uid` (None: ours) can open a TCP connection to 127.0.0.1:port
    (a forked child that becomes `uid`: the venv's interpreter may not be executable by it)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the forked child
        code = 1
        try:
            if uid is not None:
                os.setresuid(uid, uid, uid)
            socket.create_connection(("127.0.0.1", port), timeout=3).close()
            code = 0
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="the DevTools guard needs a server running as root with nftables")
def test_only_the_server_can_reach_a_browsers_devtools_port(browser_server: LiveServer, bapi: httpx.Client) -> None:
    session = bapi.post("/sessions/start", json={}).json()
    try:
        # The server's browsers listening now (others may be launching, or closing in the
        # background after an earlier test): the server's own uid reaches them...
        listening = [port for port in _devtools_ports(browser_server.data_dir) if _connects_as(None, port)]
        assert listening, "no listening browser of this server found"
        for port in listening:
            # ...and any other local user (nobody here; run uids are refused by the same firewall) does not.
            assert not _connects_as(65534, port), f"another local user reached DevTools port {port}"
        # The session is still driven through the server's CDP proxy, whose URL carries its token.
        with sync_playwright() as playwright:
            browser = playwright.chromium.connect_over_cdp(session["cdp_url"])
            assert browser.contexts[0].pages
            browser.close()
    finally:
        bapi.delete(f"/sessions/{session['session_id']}/stop")


@pytest.mark.skipif(os.geteuid() != 0, reason="the DevTools guard needs root and nftables")
def test_a_guarded_port_that_a_killed_server_left_as_an_api_port_is_refused_to_other_users() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        # A server killed outright left this port in the API ports the guard lets through...
        table = f"inet {firewall.TABLE}"
        stale = f"add table {table}\nadd set {table} api_ports {{ type inet_service; }}\n"
        assert firewall._nft(f"{stale}add element {table} api_ports {{ {port} }}\n").returncode == 0
        try:
            assert firewall.guard_devtools_port(port)
            listener.listen()
            # ...yet once guarded, only this uid reaches it.
            assert _connects_as(None, port)
            assert not _connects_as(65534, port)
        finally:
            firewall.release_devtools_port(port)
        assert _connects_as(65534, port), "a released port is an ordinary one again"
