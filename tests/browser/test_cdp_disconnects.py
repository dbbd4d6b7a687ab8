"""A CDP client that disconnects first (a script's end, a killed process) is the normal end of a
CDP connection: the server logs no traceback for it, not one per connection."""

from __future__ import annotations

import contextlib
import json
import socket
from pathlib import Path

import httpx
from notte_sdk import NotteClient
from playwright.sync_api import sync_playwright
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from tests.browser.site import LocalSite
from tests.live_server import LiveServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "browser"


def test_clients_that_disconnect_first_log_no_traceback(
    browser_server: LiveServer, bapi: httpx.Client, site: LocalSite
) -> None:
    # A function run driving its session with Playwright over CDP, through the official SDK.
    client = NotteClient(api_key=browser_server.key, server_url=browser_server.url)
    function = client.Function(path=str(EXAMPLES / "playwright_cdp.py"), name="cdp-disconnects")
    assert function.run(url=f"{site.url}/form").result["heading"] == "Thanks"

    session = bapi.post("/sessions/start", json={}).json()
    try:
        for _ in range(3):  # Playwright connecting and closing, as scripts do
            with sync_playwright() as playwright:
                browser = playwright.chromium.connect_over_cdp(session["cdp_url"])
                assert browser.contexts[0].pages
                browser.close()
        for _ in range(3):  # a client whose process dies: the TCP connection just ends, no close frame
            websocket = connect(session["cdp_url"], max_size=None)
            websocket.send(json.dumps({"id": 1, "method": "Browser.getVersion"}))
            assert json.loads(websocket.recv(timeout=30))["id"] == 1
            websocket.socket.shutdown(socket.SHUT_RDWR)
            websocket.socket.close()
        refused = session["cdp_url"].replace("token=", "token=wrong")
        for _ in range(2):  # a refused credential is closed by the server, no traceback either
            with contextlib.suppress(ConnectionClosed, InvalidHandshake), connect(refused) as websocket:
                websocket.recv(timeout=10)  # refused with 1008, or at the handshake: either is fine
        # Still usable after all that.
        with sync_playwright() as playwright:
            browser = playwright.chromium.connect_over_cdp(session["cdp_url"])
            assert browser.contexts[0].pages[0].evaluate("1 + 1") == 2
            browser.close()
    finally:
        bapi.delete(f"/sessions/{session['session_id']}/stop")
    assert httpx.get(f"{browser_server.url}/health", timeout=10).status_code == 200
    text = browser_server.log_path.read_text()
    assert "Traceback" not in text, text[-4000:]
    assert "Exception in ASGI application" not in text
