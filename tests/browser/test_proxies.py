"""A session's proxy carries everything its browser fetches (pages the API drives and pages a CDP
client opens), with its username and password; a dead proxy fails the goto; proxies=True uses the
operator's proxies. The proxy is a real one (proxy.py from PyPI) whose access log says what
passed through it."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from notte_sdk import NotteClient
from playwright.sync_api import sync_playwright

from tests.browser.conftest import pooled_server
from tests.browser.site import LocalSite
from tests.live_server import LiveServer, free_port
from tests.node_client import run_node

USER, PASSWORD = "tenant", "s3cret-pass"


class ProxyProcess:
    """proxy.py on a loopback port, its access log in a file."""

    def __init__(self, directory: Path, basic_auth: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / f"proxy-{self.port}.log"
        auth = ("--basic-auth", basic_auth) if basic_auth else ()
        one_process = ("--num-workers", "1", "--num-acceptors", "1")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "proxy",
                "--hostname",
                "127.0.0.1",
                "--port",
                str(self.port),
                *one_process,
                "--log-file",
                str(self.log),
                *auth,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get("http://127.0.0.1:9/", proxy=self.url, timeout=2)
            if self.log.exists() and "access_log" in self.log.read_text():
                return
            time.sleep(0.2)
        raise RuntimeError("proxy.py did not start")

    def passed(self, fragment: str) -> bool:
        """Whether a request whose line holds `fragment` went through (authenticated)."""
        lines = self.log.read_text().splitlines()
        return any("access_log" in line and fragment in line and "None:None" not in line for line in lines)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ProxyProcess, ProxyProcess]]:
    directory = tmp_path_factory.mktemp("proxies")
    open_proxy, auth_proxy = ProxyProcess(directory), ProxyProcess(directory, f"{USER}:{PASSWORD}")
    yield open_proxy, auth_proxy
    open_proxy.stop()
    auth_proxy.stop()


@pytest.fixture(scope="module")
def proxy_server(
    tmp_path_factory: pytest.TempPathFactory, proxies: tuple[ProxyProcess, ProxyProcess]
) -> Iterator[LiveServer]:
    pool = f"http://{USER}:{PASSWORD}@127.0.0.1:{proxies[1].port}"
    with pooled_server(tmp_path_factory.mktemp("proxy-server"), {"BROWSERFN_SESSION_PROXY_POOL": pool}) as live:
        yield live


def _goto(api: httpx.Client, sid: str, url: str) -> dict[str, object]:
    done: dict[str, object] = api.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": url}).json()
    return done


def test_an_external_proxy_carries_the_api_pages_and_cdp_pages(
    proxy_server: LiveServer, proxies: tuple[ProxyProcess, ProxyProcess], site: LocalSite
) -> None:
    open_proxy, _ = proxies
    client = NotteClient(api_key=proxy_server.key, server_url=proxy_server.url)
    with client.Session(proxies=[{"type": "external", "server": open_proxy.url}]) as session:
        assert session.response is not None and session.response.proxies is True
        session.execute(type="goto", url=f"{site.url}/page?name=through-proxy")
        assert "through-proxy" in session.scrape()
        assert open_proxy.passed("/page?name=through-proxy")
        with sync_playwright() as playwright:
            browser = playwright.chromium.connect_over_cdp(session.cdp_url())
            page = browser.contexts[0].new_page()  # a page the server never touched
            page.goto(f"{site.url}/page?name=cdp-page")
            assert page.title() == "cdp-page"
            browser.close()
        assert open_proxy.passed("/page?name=cdp-page")


def test_a_proxy_with_credentials_authenticates(
    proxy_server: LiveServer, proxies: tuple[ProxyProcess, ProxyProcess], site: LocalSite
) -> None:
    _, auth_proxy = proxies
    listed = [{"type": "external", "server": auth_proxy.url, "username": USER, "password": PASSWORD}]
    with proxy_server.client(timeout=120) as api:
        started = api.post("/sessions/start", json={"proxies": listed}).json()
        sid = started["session_id"]
        try:
            assert PASSWORD not in str(started) and PASSWORD not in api.get(f"/sessions/{sid}").text
            assert _goto(api, sid, f"{site.url}/page?name=authenticated")["success"] is True
            assert auth_proxy.passed("/page?name=authenticated")
        finally:
            api.delete(f"/sessions/{sid}/stop")
        wrong = [{**listed[0], "password": "wrong"}]
        sid = api.post("/sessions/start", json={"proxies": wrong}).json()["session_id"]
        try:
            refused = _goto(api, sid, f"{site.url}/page?name=wrong-password")
            assert not auth_proxy.passed("/page?name=wrong-password")
            assert refused["success"] is False, refused
            assert "ERR_" in str(refused["message"]), refused
        finally:
            api.delete(f"/sessions/{sid}/stop")


def test_a_dead_proxy_fails_the_goto_instead_of_connecting_directly(proxy_server: LiveServer, site: LocalSite) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with proxy_server.client(timeout=120) as api:
        for proxy in ({"server": dead}, {"server": dead, "username": USER, "password": PASSWORD}):
            sid = api.post("/sessions/start", json={"proxies": [proxy]}).json()["session_id"]
            try:
                goto = _goto(api, sid, f"{site.url}/page?name=direct")
                assert goto["success"] is False, goto
                assert "ERR_" in str(goto["message"]), goto
            finally:
                api.delete(f"/sessions/{sid}/stop")


def test_proxies_true_uses_the_operators_proxy(
    proxy_server: LiveServer, proxies: tuple[ProxyProcess, ProxyProcess], site: LocalSite
) -> None:
    _, auth_proxy = proxies
    client = NotteClient(api_key=proxy_server.key, server_url=proxy_server.url)
    with client.Session(proxies=True) as session:
        session.execute(type="goto", url=f"{site.url}/page?name=operator-pool")
        assert "operator-pool" in session.scrape()
    assert auth_proxy.passed("/page?name=operator-pool")


def test_bypass_names_hosts_fetched_directly(
    proxy_server: LiveServer, proxies: tuple[ProxyProcess, ProxyProcess], site: LocalSite
) -> None:
    open_proxy, _ = proxies
    listed = [{"type": "external", "server": open_proxy.url, "bypass": "127.0.0.1"}]
    with proxy_server.client(timeout=120) as api:
        sid = api.post("/sessions/start", json={"proxies": listed}).json()["session_id"]
        try:
            assert _goto(api, sid, f"{site.url}/page?name=bypassed")["success"] is True
            assert _goto(api, sid, f"http://localhost:{site.url.rsplit(':', 1)[1]}/page?name=not-bypassed")["success"]
        finally:
            api.delete(f"/sessions/{sid}/stop")
    assert not open_proxy.passed("/page?name=bypassed")
    assert open_proxy.passed("/page?name=not-bypassed")


def test_the_typescript_client_sends_its_proxy(
    proxy_server: LiveServer, proxies: tuple[ProxyProcess, ProxyProcess], site: LocalSite
) -> None:
    _, auth_proxy = proxies
    proxy = {"type": "external", "server": auth_proxy.url, "username": USER, "password": PASSWORD}
    got = run_node(
        f"""
        const session = client.Session({{ proxies: [{json.dumps(proxy)}] }});
        await session.start();
        const goto = await session.execute({{ type: "goto", url: {json.dumps(f"{site.url}/page?name=from-node")} }});
        await session.stop();
        report({{ goto: goto.success, proxies: session.getResponse().proxies }});
        """,
        url=proxy_server.url,
        key=proxy_server.key,
    )
    assert got["goto"] is True
    assert auth_proxy.passed("/page?name=from-node")
