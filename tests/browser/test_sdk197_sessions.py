"""Session options through the Python client as its 1.9.x users have it (notte-sdk 1.9.7, in
`.venv-sdk197`, tests/sdk197_client.py): an external proxy carries the session's pages, `cdp_url`
attaches to a browser the test started and leaves it running, the live viewer's link comes back
and the client's viewer calls open it, and a refused option raises with the 422 naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import pooled_server
from tests.browser.site import LocalSite
from tests.browser.test_cdp_url import ExternalChromium
from tests.browser.test_proxies import PASSWORD, USER, ProxyProcess
from tests.live_server import LiveServer
from tests.sdk197_client import run_sdk197


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with pooled_server(tmp_path_factory.mktemp("sdk197-server"), {"BROWSERFN_SESSION_CDP_URL": "any"}) as live:
        yield live


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    process = ProxyProcess(tmp_path_factory.mktemp("sdk197-proxy"), f"{USER}:{PASSWORD}")
    yield process
    process.stop()


def test_an_external_proxy_carries_the_sessions_pages(server: LiveServer, proxy: ProxyProcess, site: LocalSite) -> None:
    listed = [{"type": "external", "server": proxy.url, "username": USER, "password": PASSWORD}]
    got = run_sdk197(
        f"""
        with client.Session(proxies={listed!r}) as session:
            session.execute(type="goto", url={f"{site.url}/page?name=sdk197-proxy"!r})
            markdown = str(session.scrape())
            report({{"proxies": session.response.proxies, "markdown": markdown}})
        """,
        url=server.url,
        key=server.key,
    )
    assert got["proxies"] is True
    assert "sdk197-proxy" in got["markdown"]
    assert proxy.passed("/page?name=sdk197-proxy")


def test_cdp_url_drives_the_tests_chromium_and_leaves_it_running(
    server: LiveServer, site: LocalSite, tmp_path: Path
) -> None:
    external = ExternalChromium(tmp_path / "external-chromium")
    try:
        got = run_sdk197(
            f"""
            with client.Session(cdp_url={external.url!r}) as session:
                session.execute(type="goto", url={f"{site.url}/form"!r})
                session.execute(type="fill", id="I1", value="from-197")
                session.execute(type="click", selector="button[type=submit]")
                markdown = str(session.scrape())
                sid = session.session_id
            report({{"session_id": sid, "markdown": markdown, "status": client.sessions.status(session_id=sid).status}})
            """,
            url=server.url,
            key=server.key,
        )
        assert "name: from-197" in got["markdown"]
        assert got["status"] == "closed"
        assert external.process.poll() is None and external.answers()  # stop detached; it did not kill it
        assert any("/submitted?name=from-197" in url for url in external.page_urls())  # that browser's page
    finally:
        external.stop()


def test_the_viewer_link_comes_back_and_the_viewer_calls_open_it(server: LiveServer, opened_urls: Path) -> None:
    got = run_sdk197(
        """
        with client.Session(open_viewer=True) as session:
            session.viewer()
            session.viewer_cdp()
            report({"viewer_url": session.response.viewer_url, "debug_url": session.debug_info().debug_url})
        """,
        url=server.url,
        key=server.key,
    )
    viewer_url = got["viewer_url"]
    assert viewer_url and viewer_url.startswith(f"{server.url}/sessions/"), got
    assert got["debug_url"] == viewer_url
    # open_viewer=True, session.viewer() and session.viewer_cdp() each opened the viewer page
    assert opened_urls.read_text().split() == [viewer_url] * 3
    page = httpx.get(viewer_url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_a_refused_option_raises_with_the_422_naming_it(server: LiveServer) -> None:
    got = run_sdk197(
        """
        from notte_sdk.errors import NotteAPIError
        try:
            client.Session(chrome_args=["--remote-allow-origins=*"]).start()
        except NotteAPIError as error:
            report({"raised": type(error).__name__, "message": str(error)})
        else:
            report({"raised": None})
        """,
        url=server.url,
        key=server.key,
    )
    assert got["raised"] == "NotteAPIError", got
    assert "422" in got["message"], got
    assert "chrome_args: '--remote-allow-origins=*' is not allowed" in got["message"], got
    sessions = httpx.get(f"{server.url}/sessions", headers=server.headers()).json()["items"]
    assert [s for s in sessions if s["status"] == "active"] == []  # the refused start left none behind
