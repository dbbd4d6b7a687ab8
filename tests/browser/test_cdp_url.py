"""`cdp_url`: a session attached to a browser the test started itself. Actions, scrape, observe,
screenshots, replay, the CDP relay and timeouts work on it; closing the session (stop or timeout)
only disconnects, and the browser keeps running; an endpoint that does not answer is a clear 422;
the operator's policy decides which addresses the server may connect to."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from notte_sdk import NotteClient
from playwright.sync_api import sync_playwright

from browserfn.browser.session_options import StartSessionRequest, plan
from browserfn.config import Settings
from browserfn.errors import InvalidInput
from tests.browser.conftest import pooled_server
from tests.browser.site import LocalSite
from tests.live_server import LiveServer, free_port

CHROMIUM = "/usr/bin/chromium"


class ExternalChromium:
    """A Chromium started by the test (not by browserfn), its DevTools on a loopback port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        flags = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={directory}")
        self.process = subprocess.Popen(
            [CHROMIUM, *flags, f"--remote-debugging-port={self.port}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not self.answers():
            assert time.monotonic() < deadline and self.process.poll() is None, "the external Chromium did not start"
            time.sleep(0.2)

    def answers(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{self.url}/json/version", timeout=2).status_code == 200
        return False

    def page_urls(self) -> list[str]:
        return [t["url"] for t in httpx.get(f"{self.url}/json/list", timeout=5).json() if t["type"] == "page"]

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def external(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExternalChromium]:
    browser = ExternalChromium(tmp_path_factory.mktemp("external-chromium"))
    yield browser
    browser.stop()


@pytest.fixture(scope="module")
def attach_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = {"BROWSERFN_SESSION_CDP_URL": "any", "BROWSERFN_SESSION_TIMEOUT_UNIT_S": "1"}
    with pooled_server(tmp_path_factory.mktemp("attach-server"), settings) as live:
        yield live


def test_a_session_drives_an_external_browser_and_leaves_it_running(
    attach_server: LiveServer, external: ExternalChromium, site: LocalSite
) -> None:
    client = NotteClient(api_key=attach_server.key, server_url=attach_server.url)
    session = client.Session(cdp_url=external.url, idle_timeout_minutes=600, max_duration_minutes=1200)
    with session:
        session.execute(type="goto", url=f"{site.url}/form")
        session.execute(type="fill", id="I1", value="attached")
        session.execute(type="click", selector="button[type=submit]")
        assert "name: attached" in session.scrape()
        assert f"{site.url}/submitted?name=attached" in " ".join(external.page_urls())  # it is that browser
        observed = session.observe()
        assert "/submitted?name=attached" in observed.metadata.url
        assert session.response is not None
        with sync_playwright() as playwright:  # the server's CDP relay reaches the same browser
            browser = playwright.chromium.connect_over_cdp(session.response.cdp_url or "")
            assert any("/submitted" in page.url for page in browser.contexts[0].pages)
            browser.close()
        sid = session.session_id
    assert external.process.poll() is None and external.answers()
    assert any("/submitted" in url for url in external.page_urls())  # its pages too
    client.sessions.replay(session_id=sid)  # waits until the replay is ready
    with attach_server.client() as api:
        frames = api.get(f"/sessions/{sid}/replay").json()["frames"]
    assert any("/submitted" in frame["url"] for frame in frames), frames


def test_an_attached_session_times_out_and_the_browser_stays(
    attach_server: LiveServer, external: ExternalChromium
) -> None:
    with attach_server.client(timeout=60) as api:
        started = api.post("/sessions/start", json={"cdp_url": external.url, "idle_timeout_minutes": 2})
        assert started.status_code == 200, started.text
        sid = started.json()["session_id"]
        deadline = time.monotonic() + 30
        while (got := api.get(f"/sessions/{sid}").json())["status"] == "active":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert (got["status"], got["close_reason"]) == ("timed_out", "idle_timeout")
    time.sleep(1)
    assert external.process.poll() is None and external.answers()


def test_an_endpoint_that_does_not_answer_is_a_clear_422(attach_server: LiveServer) -> None:
    dead = f"127.0.0.1:{free_port()}"
    with attach_server.client(timeout=60) as api:
        for url, words in (
            (f"http://{dead}", f"cdp_url: no CDP endpoint answers at http://{dead}"),
            (f"ws://{dead}/devtools/browser/x", f"cdp_url: could not attach to the browser at ws://{dead}"),
            ("ftp://example.com/", "must be a ws://, wss://, http:// or https:// URL"),
        ):
            answer = api.post("/sessions/start", json={"cdp_url": url})
            assert answer.status_code == 422, answer.text
            assert words in answer.json()["message"]
        both = api.post("/sessions/start", json={"cdp_url": f"http://{dead}", "user_agent": "x"})
        assert "cannot apply to a browser this server does not launch" in both.json()["message"]
        assert api.get("/sessions").json()["items"] == []


@pytest.mark.parametrize(
    ("policy", "url", "refusal"),
    [
        ("off", "ws://93.184.215.14:9222/devtools/browser/x", "turned off on this server"),
        ("public", "ws://127.0.0.1:9222/devtools/browser/x", "127.0.0.1 is a non-public address"),
        ("public", "http://10.1.2.3:9222", "10.1.2.3 is a non-public address"),
        ("public", "http://[::1]:9222", "::1 is a non-public address"),
        ("public", "http://169.254.169.254", "169.254.169.254 is a non-public address"),
        ("public", "ws://93.184.215.14:9222/devtools/browser/x", None),
        ("any", "ws://127.0.0.1:9222/devtools/browser/x", None),
    ],
)
def test_the_operators_policy(policy: str, url: str, refusal: str | None) -> None:
    settings = Settings(session_cdp_url=policy)
    request = StartSessionRequest(cdp_url=url)
    if refusal is None:
        assert plan(request, settings).cdp_url == url
    else:
        with pytest.raises(InvalidInput, match=refusal):
            plan(request, settings)
