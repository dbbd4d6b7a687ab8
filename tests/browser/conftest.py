"""Browser-test fixtures: the local test website, a server with a browser pool, and process checks."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from browserfn.browser.chromium import processes_marked

os.environ.setdefault("DISABLE_TELEMETRY", "true")  # the SDK would post to PostHog, unreachable here
from tests.browser.data_site import DataSite
from tests.browser.llm_peer import ChatPeer
from tests.browser.site import LocalSite
from tests.live_server import LiveServer
from tests.operator.test_console import browser, page  # noqa: F401 - Playwright's fixtures, for the console's tests

if TYPE_CHECKING:
    from notte_sdk import NotteClient


@pytest.fixture(scope="session")
def site() -> Iterator[LocalSite]:
    served = LocalSite().start()
    yield served
    served.stop()


@contextlib.contextmanager
def pooled_server(data_dir: Path, env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A server with one Chromium ready in its pool (and `env`: BROWSERFN_* settings)."""
    live = LiveServer(data_dir, extra_args=("--browser-pool-size", "1"), env=env).start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def data_site() -> Iterator[DataSite]:
    """The website of the session state and data tests (cookies, login, files, fetches)."""
    served = DataSite().start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def peer() -> Iterator[ChatPeer]:
    """The scripted language model: a local chat-completions server (tests/browser/llm_peer.py)."""
    served = ChatPeer().start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with one Chromium ready in its pool."""
    with pooled_server(tmp_path_factory.mktemp("browser-server")) as live:
        yield live


@pytest.fixture
def bapi(browser_server: LiveServer) -> Iterator[httpx.Client]:
    with browser_server.client(timeout=120) as client:
        yield client


def browsers_of(data_dir: Path) -> list[int]:
    """Chromium processes the server of `data_dir` launched (they carry its data dir)."""
    return processes_marked(data_dir)


def wait_until_gone(find: object, timeout_s: float = 10.0) -> list[int]:
    """Poll `find()` until it returns [] or the time is up; returns the last answer."""
    assert callable(find)
    deadline = time.monotonic() + timeout_s
    while True:
        left: list[int] = find()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


@pytest.fixture
def notte(browser_server: LiveServer) -> NotteClient:
    """The official Python SDK, on `browser_server` with its key."""
    from notte_sdk import NotteClient
    from notte_sdk.endpoints import base as sdk_base

    sdk_base._version_check_performed = True  # the SDK asks PyPI once per process otherwise
    return NotteClient(api_key=browser_server.key, server_url=browser_server.url)


@pytest.fixture
def opened_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$BROWSER (which Python's webbrowser, and so the SDK, runs) records the URLs it is given."""
    record = tmp_path / "opened.txt"
    script = tmp_path / "browser.py"
    script.write_text(f"import sys\nopen({str(record)!r}, 'a').write(sys.argv[1] + '\\n')\n")
    launcher = tmp_path / "open-url"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} {script} "$1"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("BROWSER", str(launcher))
    import webbrowser

    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read $BROWSER afresh
    return record
