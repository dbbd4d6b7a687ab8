"""`cdp_url`: a session attached to a browser the test started itself. Actions, scrape, observe,
screenshots, replay, the CDP relay and timeouts work on it; closing the session (stop or timeout)
only disconnects, and the browser keeps running; an endpoint that does not answer is a clear 422;
the operator's policy decides which addresses the server may connect to, and the server connects
only to the addresses it checked (DNS rebinding)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from notte_sdk import NotteClient
from playwright.async_api import async_playwright
from playwright.sync_api import sync_playwright

from browserfn.browser.attached import address_policy, attach, checked_target
from browserfn.browser.pinned_relay import PinnedRelay
from browserfn.browser.session_options import StartSessionRequest, plan
from browserfn.config import Settings
from browserfn.errors import InvalidInput
from browserfn.netpolicy import Target
from tests.browser.conftest import pooled_server
from tests.browser.site import LocalSite
from tests.live_server import LiveServer, free_port
from tests.tls_proxy import Forwarder, TlsProxy

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
def tls_front(tmp_path_factory: pytest.TempPathFactory, external: ExternalChromium) -> Iterator[TlsProxy]:
    """wss:// and https:// in front of the external browser, with a certificate for 127.0.0.1."""
    proxy = TlsProxy(tmp_path_factory.mktemp("tls-front")).start(external.port)
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def attach_server(tmp_path_factory: pytest.TempPathFactory, tls_front: TlsProxy) -> Iterator[LiveServer]:
    settings = {
        "BROWSERFN_SESSION_CDP_URL": "any",
        "BROWSERFN_SESSION_TIMEOUT_UNIT_S": "1",
        "SSL_CERT_FILE": str(tls_front.cert),  # the server trusts the TLS front's certificate
    }
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


@pytest.mark.parametrize("scheme", ["https", "wss"])
def test_a_session_attaches_over_tls(
    attach_server: LiveServer, external: ExternalChromium, tls_front: TlsProxy, site: LocalSite, scheme: str
) -> None:
    """The TypeScript and Python clients' users give remote browsers as wss:// or https:// URLs."""
    ws_path = urlsplit(httpx.get(f"{external.url}/json/version").json()["webSocketDebuggerUrl"]).path
    url = tls_front.url if scheme == "https" else f"wss://127.0.0.1:{tls_front.port}{ws_path}"
    before = tls_front.connections
    client = NotteClient(api_key=attach_server.key, server_url=attach_server.url)
    with client.Session(cdp_url=url) as session:
        session.execute(type="goto", url=f"{site.url}/form")
        assert "/form" in session.observe().metadata.url
    assert tls_front.connections > before
    assert any("/form" in page for page in external.page_urls())


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
        ("public", "ws://127.0.0.1:9222/devtools/browser/x", "host '127.0.0.1' is a loopback address"),
        ("public", "http://10.1.2.3:9222", "host '10.1.2.3' is a private address"),
        ("public", "http://[::1]:9222", "host '::1' is a loopback address"),
        ("public", "http://169.254.169.254", "host '169.254.169.254' is a link-local address"),
        ("public", "http://localhost:9222", "host 'localhost' resolves to a loopback address"),
        ("public", "http://name.invalid:9222", "host 'name.invalid' could not be resolved"),
        ("public", "ws://93.184.215.14:9222/devtools/browser/x", None),
        ("any", "ws://127.0.0.1:9222/devtools/browser/x", None),
        ("any", "http://localhost:9222", None),
    ],
)
async def test_the_operators_policy(policy: str, url: str, refusal: str | None) -> None:
    settings = Settings(session_cdp_url=policy)
    assert plan(StartSessionRequest(cdp_url=url), settings).cdp_url == url
    if refusal is None:
        target = await checked_target(url, address_policy(settings))
        assert target.addresses and target.url == url
    else:
        with pytest.raises(InvalidInput, match=f"cdp_url: {re.escape(refusal)}.*session_cdp_url=any"):
            await checked_target(url, address_policy(settings))


def test_attaching_can_be_turned_off() -> None:
    with pytest.raises(InvalidInput, match="turned off on this server"):
        plan(StartSessionRequest(cdp_url="ws://93.184.215.14:9222/devtools/browser/x"), Settings(session_cdp_url="off"))


async def test_an_attached_browser_is_reached_only_at_the_address_checked(
    external: ExternalChromium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the host of a cdp_url is resolved once, by the address policy, and every
    connection (the /json/version request, Playwright's WebSocket, TLS included) goes to an address
    that check returned. Here `localhost` would resolve to 127.0.0.1 and ::1, where nothing listens
    on the ports used; the address checked, 127.0.0.2, forwards to the external browser: attaching
    works only if nothing resolves the name again."""
    plain = Forwarder(("127.0.0.2", 0)).start(external.port)
    secure = TlsProxy(tmp_path, ("127.0.0.2", 0), host="localhost").start(external.port)
    monkeypatch.setenv("SSL_CERT_FILE", str(secure.cert))  # the relay verifies the name "localhost"
    ws_path = urlsplit(httpx.get(f"{external.url}/json/version").json()["webSocketDebuggerUrl"]).path
    urls = (
        (f"http://localhost:{plain.port}", plain),
        (f"ws://localhost:{plain.port}{ws_path}", plain),
        (f"https://localhost:{secure.port}", secure),
        (f"wss://localhost:{secure.port}{ws_path}", secure),
    )
    try:
        async with async_playwright() as playwright:
            for url, forwarder in urls:
                parts = urlsplit(url)
                before = forwarder.connections
                target = Target(url, parts.scheme, "localhost", parts.port or 0, ("127.0.0.2",))
                attached = await attach(playwright, target)
                try:
                    assert attached.context.pages, url
                    assert forwarder.connections > before, url
                    relayed = forwarder.connections
                    # The relay's loopback port: a connection without its token gets nothing upstream.
                    relay = urlsplit(attached.ws_url)
                    reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
                    writer.write(b"GET /json/version HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    assert await asyncio.wait_for(reader.read(), 10) == b""
                    writer.close()
                    assert forwarder.connections == relayed
                finally:
                    await attached.close()
        assert external.answers()
    finally:
        plain.stop()
        secure.stop()


async def test_a_certificate_for_another_name_is_refused(
    external: ExternalChromium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = TlsProxy(tmp_path, ("127.0.0.2", 0), host="other.test").start(external.port)
    monkeypatch.setenv("SSL_CERT_FILE", str(other.cert))
    url = f"https://localhost:{other.port}"
    try:
        async with async_playwright() as playwright:
            with pytest.raises(InvalidInput, match=r"no CDP endpoint answers at .*certificate verify failed"):
                await attach(playwright, Target(url, "https", "localhost", other.port, ("127.0.0.2",)))
    finally:
        other.stop()


async def test_the_relay_rewrites_only_a_request_carrying_its_token() -> None:
    target = Target("wss://user:pw@cdp.example.com:9443/?apiKey=k", "wss", "cdp.example.com", 9443, ("93.184.215.14",))
    relay = await PinnedRelay(target).start()
    try:
        local = urlsplit(relay.url("/?apiKey=k", websocket=True))
        token = local.path.rstrip("/")
        head = f"GET {token}/?apiKey=k HTTP/1.1\r\nHost: 127.0.0.1:{local.port}\r\nUpgrade: websocket\r\n\r\n"
        assert relay.rewritten(head.encode()) == (
            b"GET /?apiKey=k HTTP/1.1\r\nHost: cdp.example.com:9443\r\nUpgrade: websocket\r\n\r\n"
        )
        assert relay.rewritten(f"GET {token}?x=1 HTTP/1.1\r\n\r\n".encode()) == (
            b"GET /?x=1 HTTP/1.1\r\nHost: cdp.example.com:9443\r\n\r\n"
        )
        for refused in (f"GET {token[:-1]}/ HTTP/1.1", f"GET {token}x/ HTTP/1.1", "GET /\xe9t\xe9/ HTTP/1.1", "GET"):
            assert relay.rewritten(f"{refused}\r\nHost: x\r\n\r\n".encode("latin-1")) is None, refused
        assert relay.masked(f"failed to reach {relay.url('/x', websocket=True)}") == (
            "failed to reach wss://cdp.example.com:9443/x"
        )
    finally:
        await relay.close()
