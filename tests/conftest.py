"""Shared fixtures: a real server over loopback HTTP, and helpers to deploy scripts to it."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import LiveServer


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the whole session (tests that restart or kill use `fresh_server`). Every
    test here shares its one key, so the per-key rate limit is off on it (at hundreds of requests
    a second the suite would meet it); tests/security/test_keys.py tests the limit on its own server."""
    live = LiveServer(tmp_path_factory.mktemp("server"), env={"BROWSERFN_RATE_LIMIT_PER_S": "0"}).start()
    yield live
    live.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path / "server", warm_processes=0)
    yield live.start()
    live.stop()


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def deploy(client: httpx.Client, code: str, name: str = "fn", restricted: bool = True, **form: Any) -> dict[str, Any]:
    """Upload a script (dedented) and return the FunctionResponse; `restricted=False` for plain Python."""
    files = {"file": (f"{name}.py", textwrap.dedent(code).encode(), "text/x-python")}
    params = {} if restricted else {"restricted": "false"}
    response = client.post("/functions/", files=files, data={"name": name, **form}, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
