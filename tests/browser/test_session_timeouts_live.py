"""Idle timeout and maximum duration on a real server with real Chromium. Notte counts whole
minutes; this server runs with `session_timeout_unit_s=1`, so a "minute" lasts a second and the
reaper's real path (close, kill the browser, record why) is seen in seconds."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import browsers_of, wait_until_gone
from tests.browser.site import LocalSite
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def fast_clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """No pooled browsers, and an account's browser killed with its last session: every Chromium
    of its data dir belongs to a session."""
    live = LiveServer(
        tmp_path_factory.mktemp("timeouts"),
        warm_processes=0,
        extra_args=("--browser-pool-size", "0"),
        env={"BROWSERFN_SESSION_TIMEOUT_UNIT_S": "1", "BROWSERFN_BROWSER_ACCOUNT_IDLE_S": "0"},
    )
    yield live.start()
    live.stop()


def _wait_closed(api: httpx.Client, sid: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while (session := api.get(f"/sessions/{sid}").json())["status"] == "active" and time.monotonic() < deadline:
        time.sleep(0.1)
    return session


def _seconds(session: dict[str, Any], start: str, end: str) -> float:
    return (dt.datetime.fromisoformat(session[end]) - dt.datetime.fromisoformat(session[start])).total_seconds()


def test_an_idle_session_is_closed_and_its_browser_killed(fast_clock_server: LiveServer, site: LocalSite) -> None:
    data_dir: Path = fast_clock_server.data_dir
    with fast_clock_server.client() as api:
        sid = api.post("/sessions/start", json={"idle_timeout_minutes": 2, "max_duration_minutes": 60}).json()[
            "session_id"
        ]
        assert browsers_of(data_dir), "the session's Chromium runs"
        assert api.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": site.url}).json()["success"]
        session = _wait_closed(api, sid, timeout_s=10)
        assert (session["status"], session["close_reason"]) == ("timed_out", "idle_timeout")
        assert session["closed_by"] == "idle timeout reached" and session["cdp_url"] is None
        assert 2.0 <= _seconds(session, "last_accessed_at", "closed_at") <= 3.5  # two "minutes" + a reaper tick
        assert wait_until_gone(lambda: browsers_of(data_dir)) == []
        late = api.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": site.url})
        assert late.status_code == 409 and "timed_out (idle_timeout)" in late.json()["message"]


def test_a_busy_session_ends_at_its_max_duration(fast_clock_server: LiveServer, site: LocalSite) -> None:
    data_dir: Path = fast_clock_server.data_dir
    with fast_clock_server.client() as api:
        started = api.post("/sessions/start", json={"idle_timeout_minutes": 2, "max_duration_minutes": 4}).json()
        sid = started["session_id"]
        answers = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # busier than the idle timeout: only max_duration can end it
            code = {"type": "evaluate_js", "code": "1 + 1"}
            answers.append(response := api.post(f"/sessions/{sid}/page/execute", json=code))
            if response.status_code != 200:
                break
            time.sleep(0.3)
        assert answers[-1].status_code == 409, "the session ended"
        assert all(a.json()["success"] for a in answers[:-1]) and len(answers) > 8
        session = api.get(f"/sessions/{sid}").json()
        assert (session["status"], session["close_reason"]) == ("timed_out", "max_duration")
        assert 4.0 <= _seconds(session, "created_at", "closed_at") <= 5.5
        assert wait_until_gone(lambda: browsers_of(data_dir)) == []
