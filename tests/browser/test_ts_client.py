"""The official TypeScript client (npm `notte-sdk`) against a real server and real Chromium: the
session and function calls a Node user makes, through the client's own classes."""

from __future__ import annotations

import json

import httpx

from tests.browser.site import LocalSite
from tests.conftest import deploy
from tests.live_server import LiveServer
from tests.node_client import run_node


def test_ts_session_drives_a_page_and_stops(browser_server: LiveServer, site: LocalSite) -> None:
    url = json.dumps(f"{site.url}/")
    got = run_node(
        f"""
        const session = client.Session({{ headless: true }});
        await session.start();
        const id = session.getId();
        const goto = await session.execute({{ type: "goto", url: {url} }});
        const markdown = await session.scrape();
        const status = await session.status();
        await session.stop();
        report({{ id, goto: goto.success, markdown, status: status.status }});
        """,
        url=browser_server.url,
        key=browser_server.key,
    )
    assert got["goto"] is True
    assert "Welcome to the test shop" in got["markdown"]
    assert got["status"] == "active"
    stored = httpx.get(f"{browser_server.url}/sessions/{got['id']}", headers=browser_server.headers()).json()
    assert stored["status"] == "closed"


def test_ts_function_run_returns_its_result(browser_server: LiveServer) -> None:
    with browser_server.client() as api:
        function = deploy(api, "def run(name: str):\n    return {'hello': name}\n", name="ts_hello")
    got = run_node(
        f"""
        const fn = client.NotteFunction({{ function_id: {json.dumps(function["function_id"])} }});
        const started = await fn.run({{ name: "node" }});
        const run = await fn.retrieve(started.function_run_id);
        report({{ status: run.status, result: run.result }});
        """,
        url=browser_server.url,
        key=browser_server.key,
    )
    assert got["status"] == "closed"
    assert json.loads(got["result"]) == {"hello": "node"}
