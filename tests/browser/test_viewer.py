"""The live viewer: `viewer_url` (and `debug_url`) open a page that shows the session's browser as
it changes and passes a person's clicks and keys into it; the SDK's `open_viewer=True` opens it;
its signed link is the only way in; the recording socket sends JPEG frames. Screenshots of the
viewer go to test-artifacts/viewer/open-viewer/."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest
from notte_sdk import NotteClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.browser.site import LocalSite
from tests.browser.viewer_check import ARTIFACTS, watch_and_take_over
from tests.live_server import LiveServer


def test_open_viewer_opens_a_live_page_that_takes_clicks_and_keys(
    browser_server: LiveServer, site: LocalSite, opened_urls: Path
) -> None:
    client = NotteClient(api_key=browser_server.key, server_url=browser_server.url)
    with client.Session(open_viewer=True) as session, browser_server.client(timeout=120) as api:
        assert session.response is not None and session.response.viewer_url is not None
        viewer_url = session.response.viewer_url
        deadline = time.monotonic() + 10
        while not opened_urls.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened_urls.read_text().split() == [viewer_url]
        assert client.sessions.debug_info(session_id=session.session_id).debug_url == viewer_url
        artifacts = ARTIFACTS / "open-viewer"
        watch_and_take_over(viewer_url, api, session.session_id, site, artifacts)
        assert sorted(p.name for p in artifacts.iterdir()) == [
            "viewer-1-front-page.png",
            "viewer-2-after-goto.png",
            "viewer-3-typed.png",
            "viewer-4-clicked.png",
        ]


def test_the_link_is_the_credential_and_the_recording_socket_sends_jpegs(
    browser_server: LiveServer, site: LocalSite
) -> None:
    with browser_server.client(timeout=120) as api:
        started = api.post("/sessions/start", json={}).json()
        sid = started["session_id"]
        try:
            viewer_url = started["viewer_url"]
            assert httpx.get(viewer_url).headers["content-type"].startswith("text/html")
            forged = viewer_url.replace("signature=", "signature=0")
            assert httpx.get(forged).status_code == 404
            other = api.post("/sessions/start", json={}).json()
            try:  # one session's signature does not open another's viewer
                assert httpx.get(viewer_url.replace(sid, other["session_id"])).status_code == 404
            finally:
                api.delete(f"/sessions/{other['session_id']}/stop")
            ws_url = "ws" + viewer_url.removeprefix("http").replace("/viewer?", "/viewer/ws?")
            with pytest.raises(InvalidStatus):
                connect(ws_url.replace("signature=", "signature=0"), open_timeout=10).close()

            recording = api.get(f"/sessions/{sid}/debug").json()["ws"]["recording"]
            api.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/"})
            with connect(recording, open_timeout=10, max_size=None) as socket:
                frame = socket.recv(timeout=30)
            assert isinstance(frame, bytes) and frame.startswith(b"\xff\xd8")  # a JPEG
        finally:
            api.delete(f"/sessions/{sid}/stop")
        assert api.get(f"/sessions/{sid}").json()["viewer_url"] is None
        assert httpx.get(viewer_url).status_code == 200  # the page itself; its socket says the session ended
        with connect(ws_url, open_timeout=10) as socket:
            assert socket.recv(timeout=10) == '{"type": "closed"}'


def test_the_viewer_without_input_only_shows(tmp_path: Path, site: LocalSite) -> None:
    os.environ.setdefault("DISABLE_TELEMETRY", "true")
    from tests.browser.conftest import pooled_server

    with pooled_server(tmp_path / "server", {"BROWSERFN_VIEWER_INPUT": "false"}) as live, live.client() as api:
        started = api.post("/sessions/start", json={}).json()
        sid = started["session_id"]
        ws_url = "ws" + started["viewer_url"].removeprefix("http").replace("/viewer?", "/viewer/ws?")
        api.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/form"})
        with connect(ws_url, open_timeout=10, max_size=None) as socket:
            assert socket.recv(timeout=30) == '{"type": "hello", "input": false}'
            socket.send('{"type": "key", "key": "Enter"}')
            socket.send('{"type": "text", "text": "typed"}')
            socket.recv(timeout=30)  # a frame: the socket is live
        done = api.post(
            f"/sessions/{sid}/page/execute",
            json={"type": "evaluate_js", "code": "document.activeElement.tagName + document.body.innerText"},
        ).json()
        assert "typed" not in done["data"]["markdown"]
        api.delete(f"/sessions/{sid}/stop")
