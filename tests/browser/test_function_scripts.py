"""The docs' browser scripts, deployed as functions and run through the official SDK against a
real server: results, the `session_start` event, and the run <-> session link."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from loguru import logger
from notte_sdk import NotteClient

from tests.browser.site import LocalSite
from tests.live_server import LiveServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "browser"


@pytest.fixture
def client(browser_server: LiveServer) -> NotteClient:
    return NotteClient(api_key=browser_server.key, server_url=browser_server.url)


@pytest.fixture
def sdk_logs() -> Iterator[list[str]]:
    """What the SDK logs while following a run (it logs each `session_start` event it reads)."""
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message.record["message"])), level="INFO")
    yield lines
    logger.remove(sink)


def _run(client: NotteClient, script: str, **variables: Any) -> Any:
    function = client.Function(path=str(EXAMPLES / script), name=script)
    return function.run(**variables)


def _check_link(api: httpx.Client, response: Any, sdk_logs: list[str]) -> dict[str, Any]:
    """The run names its session, the session names its run, and the stream announced it."""
    sid = response.session_id
    assert sid is not None
    # The SDK logs the session's live viewer link when it reads the `session_start` event.
    viewer = f"Live viewer for session available at: {api.base_url}/sessions/{sid}/viewer?"
    assert any(line.startswith(viewer) for line in sdk_logs), sdk_logs
    run = api.get(f"/functions/{response.function_id}/runs/{response.function_run_id}").json()
    assert (run["session_id"], run["status"]) == (sid, "closed")
    session: dict[str, Any] = api.get(f"/sessions/{sid}").json()
    assert (session["run_id"], session["status"], session["close_reason"]) == (
        response.function_run_id,
        "closed",
        "manual",
    )
    return session


def test_scraper_function(client: NotteClient, bapi: httpx.Client, site: LocalSite, sdk_logs: list[str]) -> None:
    response = _run(client, "scraper.py", url=f"{site.url}/")
    assert response.status == "closed"
    assert isinstance(response.result, str)
    assert "# Welcome to the test shop" in response.result
    assert f"See the [contact form]({site.url}/form)" in response.result
    session = _check_link(bapi, response, sdk_logs)
    assert session["closed_by"] == "stop requested"  # the script's `with` block stopped it


def test_form_submission_function(
    client: NotteClient, bapi: httpx.Client, site: LocalSite, sdk_logs: list[str]
) -> None:
    response = _run(client, "form_submission.py", url=f"{site.url}/form", name="Ada", email="ada@example.org")
    assert response.result == {
        "status": "submitted",
        "page": "# Thanks\n\n- color: red\n- email: ada@example.org\n- name: Ada\n",
    }
    _check_link(bapi, response, sdk_logs)


def test_playwright_over_cdp_function(
    client: NotteClient, bapi: httpx.Client, site: LocalSite, sdk_logs: list[str]
) -> None:
    response = _run(client, "playwright_cdp.py", url=f"{site.url}/form")
    assert response.result == {
        "title": "Thanks",
        "heading": "Thanks",
        "items": ["color: red", "name: Grace"],
    }
    _check_link(bapi, response, sdk_logs)
