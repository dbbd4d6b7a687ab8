"""Browser sessions across processes: a run's session lives on the worker executing the run; any
API server answers for any session (status from the store, page calls and CDP relayed to the
session's host); a host that dies makes its sessions answer a clear error, then end as `error`."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from browserfn.browser.chromium import OWNER_ENV, processes_marked
from tests.browser.conftest import wait_until_gone
from tests.browser.site import LocalSite
from tests.browser.viewer_check import ARTIFACTS, watch_and_take_over
from tests.conftest import deploy
from tests.scaleout.cluster import Cluster, Node, owner_of, run_events

os.environ.setdefault("DISABLE_TELEMETRY", "true")

RUN_WITH_A_SESSION = """
import os, time
from notte_sdk import NotteClient

def run(url: str, hold_s: float = 0.0):
    client = NotteClient()
    with client.Session() as session:
        session.execute(type="goto", url=url)
        markdown = session.scrape()
        print("session open")
        time.sleep(hold_s)
    return {"markdown": markdown, "api": os.environ["NOTTE_API_URL"]}
"""


@pytest.fixture(scope="module")
def site() -> Iterator[LocalSite]:
    served = LocalSite().start()
    yield served
    served.stop()


def _held_run(client: httpx.Client, name: str, site: LocalSite) -> tuple[str, str, Iterator[dict[str, Any]]]:
    """A run whose session stays open (600 s) on the site's front page: its function's id, its
    session's id, and its stream of events (kept open by the caller while it needs the run)."""
    function_id = deploy(client, RUN_WITH_A_SESSION, name, restricted=False)["function_id"]
    events = run_events(client, function_id, {"url": f"{site.url}/", "hold_s": 600.0})
    sid = next(e["message"] for e in events if e["type"] == "session_start")
    next(e for e in events if e["type"] == "log" and e["message"].endswith("session open"))
    return function_id, sid, events


def _owner_pid(pid: int) -> int:
    """The server that launched this browser process (it says so in its environment)."""
    with open(f"/proc/{pid}/environ", "rb") as f:
        entry = next(e for e in f.read().split(b"\0") if e.startswith(OWNER_ENV.encode() + b"="))
    return int(entry.split(b"=", 1)[1])


def _ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
        chain.append(pid)
    return chain


def _wait_status(api: Node, cluster: Cluster, session_id: str, status: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        session: dict[str, Any] = httpx.get(f"{api.url}/sessions/{session_id}", headers=cluster.headers()).json()
        if session["status"] == status or time.monotonic() > deadline:
            return session
        time.sleep(0.2)


def _wait_replay(client: httpx.Client, session_id: str) -> dict[str, Any]:
    """The replay, once its host has finished it (the video is made after the session closed)."""
    deadline = time.monotonic() + 30
    while True:
        answer = client.get(f"/sessions/{session_id}/replay")
        if answer.status_code == 200 or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.text
            replay: dict[str, Any] = answer.json()
            return replay
        time.sleep(0.2)


def test_a_runs_session_lives_on_its_worker(pg_dsn: str, tmp_path: Path, site: LocalSite) -> None:
    cluster = Cluster(pg_dsn, tmp_path)
    try:
        api = cluster.api()
        worker = cluster.worker(api)
        with httpx.Client(base_url=api.url, headers=cluster.headers(), timeout=120) as client:
            function_id = deploy(client, RUN_WITH_A_SESSION, "on-worker", restricted=False)["function_id"]
            events = run_events(client, function_id, {"url": f"{site.url}/", "hold_s": 1.0})
            seen = []
            for event in events:
                seen.append(event)
                if event["type"] == "log" and event["message"].endswith("session open"):
                    browsers = processes_marked(tmp_path)
                    assert browsers, "the session's Chromium is running"
                    assert {_owner_pid(pid) for pid in browsers} == {worker.pid}
                    assert any(worker.pid in _ancestors(pid) for pid in browsers)
                    assert not any(api.pid in _ancestors(pid) for pid in browsers)
            announced = [e["message"] for e in seen if e["type"] == "session_start"]
            assert len(announced) == 1
            final = json.loads(seen[-1]["message"])
            assert (seen[-1]["type"], final["status"], final["session_id"]) == ("result", "closed", announced[0])
            assert "# Welcome to the test shop" in final["result"]["markdown"]
            assert final["result"]["api"] == worker.url  # the run called its own worker
            assert owner_of(pg_dsn, announced[0]) == worker.url
            # The API server answers for it from the store: closed when its run ended.
            session = client.get(f"/sessions/{announced[0]}").json()
            assert (session["status"], session["run_id"], session["steps_count"]) == (
                "closed",
                final["function_run_id"],
                1,
            )
    finally:
        cluster.close()


def test_the_viewer_of_a_session_on_a_worker_is_reached_through_an_api_server(
    pg_dsn: str, tmp_path: Path, site: LocalSite
) -> None:
    """The live viewer of a run's session, hosted on a `browserfn worker`: its `viewer_url`, from
    an API server (which hosts no browser), shows frames that follow the page and takes clicks."""
    cluster = Cluster(pg_dsn, tmp_path)
    try:
        api = cluster.api()
        worker = cluster.worker(api)
        with httpx.Client(base_url=api.url, headers=cluster.headers(), timeout=120) as client:
            function_id, sid, _events_kept = _held_run(client, "viewed", site)
            assert owner_of(pg_dsn, sid) == worker.url
            browsers = processes_marked(tmp_path)
            assert browsers and not any(api.pid in _ancestors(pid) for pid in browsers)  # the API server hosts none
            session = client.get(f"/sessions/{sid}").json()
            assert session["status"] == "active"
            viewer_url = session["viewer_url"]
            assert viewer_url.startswith(f"{api.url}/sessions/{sid}/viewer?"), viewer_url
            watch_and_take_over(viewer_url, client, sid, site, ARTIFACTS / "scaleout-worker")

            run_id = session["run_id"]
            assert client.delete(f"/functions/{function_id}/runs/{run_id}").json()["status"] == "stopped"
            assert _wait_status(api, cluster, sid, "closed", 60)["status"] == "closed"
    finally:
        cluster.close()


def test_stopping_a_run_on_a_worker_kills_its_session_browser_within_2_s(
    pg_dsn: str, tmp_path: Path, site: LocalSite
) -> None:
    cluster = Cluster(pg_dsn, tmp_path, browser_account_idle_s=0)  # an account's browser goes with its last session
    try:
        api = cluster.api()
        cluster.worker(api)
        with httpx.Client(base_url=api.url, headers=cluster.headers(), timeout=120) as client:
            function_id = deploy(client, RUN_WITH_A_SESSION, "held", restricted=False)["function_id"]
            events = run_events(client, function_id, {"url": f"{site.url}/", "hold_s": 600.0})
            session_id = ""
            for event in events:
                if event["type"] == "session_start":
                    session_id = event["message"]
                if event["type"] == "log" and event["message"].endswith("session open"):
                    break
            browsers = processes_marked(tmp_path)
            assert session_id and browsers, "the run's session and its Chromium are up"
            run_id = client.get(f"/sessions/{session_id}").json()["run_id"]
            asked = time.monotonic()
            assert client.delete(f"/functions/{function_id}/runs/{run_id}").json()["status"] == "stopped"
            left = wait_until_gone(lambda: [pid for pid in processes_marked(tmp_path) if pid in browsers])
            took = time.monotonic() - asked
            assert left == [], "the session's Chromium survived"
            assert took < 2.0, f"the session's Chromium died {took:.2f} s after the stop request"
            session = client.get(f"/sessions/{session_id}").json()
            assert (session["status"], session["closed_by"]) == ("closed", "its run ended")
    finally:
        cluster.close()


def test_a_session_started_on_one_server_is_driven_through_another(
    pg_dsn: str, tmp_path: Path, site: LocalSite
) -> None:
    cluster = Cluster(pg_dsn, tmp_path)
    try:
        first, second = cluster.api(), cluster.api()
        a = httpx.Client(base_url=first.url, headers=cluster.headers(), timeout=60)
        b = httpx.Client(base_url=second.url, headers=cluster.headers(), timeout=60)
        started = a.post("/sessions/start", json={"idle_timeout_minutes": 2})
        assert started.status_code == 200, started.text
        sid = started.json()["session_id"]
        assert owner_of(pg_dsn, sid) == first.url

        got = b.get(f"/sessions/{sid}").json()
        assert (got["status"], got["idle_timeout_minutes"]) == ("active", 2)
        assert got["cdp_url"].startswith(f"ws://127.0.0.1:{second.url.rsplit(':', 1)[1]}/sessions/{sid}/cdp?token=")
        assert [s["session_id"] for s in b.get("/sessions").json()["items"]] == [sid]
        went = b.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/"})
        assert (went.status_code, went.json()["success"]) == (200, True), went.text
        scraped = b.post(f"/sessions/{sid}/page/scrape", json={})
        assert "# Welcome to the test shop" in scraped.json()["markdown"]
        shot = b.post(f"/sessions/{sid}/page/screenshot")
        assert (shot.json()["url"], shot.json()["title"]) == (f"{site.url}/", "Test shop")
        assert b.get(f"/sessions/{sid}/page/screenshot").content.startswith(b"\x89PNG")

        debug = b.get(f"/sessions/{sid}/debug").json()
        assert debug["ws"]["cdp"].startswith(f"ws://127.0.0.1:{second.url.rsplit(':', 1)[1]}/")
        with sync_playwright() as playwright:
            browser = playwright.chromium.connect_over_cdp(debug["ws"]["cdp"])
            page = browser.contexts[0].pages[0]
            assert (page.url, page.title()) == (f"{site.url}/", "Test shop")
            page.goto(f"{site.url}/form")
            browser.close()
        assert b.post(f"/sessions/{sid}/page/scrape", json={}).json()["markdown"].startswith("# Contact us")
        # The live viewer, reached through the server that does not host the session.
        viewer_url = b.get(f"/sessions/{sid}").json()["viewer_url"]
        assert viewer_url.startswith(f"{second.url}/sessions/{sid}/viewer?")
        watch_and_take_over(viewer_url, b, sid, site, ARTIFACTS / "scaleout-api-server")

        stopped = b.delete(f"/sessions/{sid}/stop")
        assert (stopped.status_code, stopped.json()["status"]) == (200, "closed"), stopped.text
        assert a.get(f"/sessions/{sid}").json()["status"] == "closed"
        again = b.delete(f"/sessions/{sid}/stop")
        assert again.json() == {"status": 409, "message": f"session {sid} is already closed"}
        replay = _wait_replay(b, sid)  # from its host's disk, with links on the server asked
        frame_url = replay["frames"][0]["image_url"]
        assert frame_url.startswith(f"{second.url}/sessions/{sid}/replay/files/")
        assert httpx.get(frame_url).headers["content-type"] == "image/jpeg"
        # Another account sees nothing of it through either server.
        other = {"Authorization": f"Bearer {cluster.create_key('other')}"}
        assert b.post(f"/sessions/{sid}/page/scrape", json={}, headers=other).status_code == 404
        a.close()
        b.close()
    finally:
        cluster.close()


def test_a_dead_hosts_sessions_answer_a_clear_error_then_end(pg_dsn: str, tmp_path: Path, site: LocalSite) -> None:
    cluster = Cluster(pg_dsn, tmp_path, worker_heartbeat_s=0.5, worker_stalled_s=3)
    try:
        api = cluster.api()
        worker = cluster.worker(api)
        with httpx.Client(base_url=api.url, headers=cluster.headers(), timeout=60) as client:
            _, sid, _events_kept = _held_run(client, "held", site)
            assert client.post(f"/sessions/{sid}/page/scrape", json={}).status_code == 200
            browsers = processes_marked(tmp_path)
            assert browsers

            worker.kill()
            asked = time.monotonic()
            failed = client.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": site.url})
            assert time.monotonic() - asked < 10
            assert failed.status_code == 503
            assert failed.json()["status"] == 503 and "does not answer" in failed.json()["message"]
            with sync_playwright() as playwright, pytest.raises(Exception):  # noqa: B017 - Playwright's own error
                playwright.chromium.connect_over_cdp(client.get(f"/sessions/{sid}").json()["cdp_url"], timeout=10000)
            assert not any(pid in processes_marked(tmp_path) for pid in browsers)  # gone with their worker

            ended = _wait_status(api, cluster, sid, "error", 15)
            assert (ended["status"], ended["close_reason"]) == ("error", "error")
            assert "stopped sending heartbeats" in ended["closed_by"]
            late = client.post(f"/sessions/{sid}/page/scrape", json={})
            assert late.json() == {"status": 409, "message": f"session {sid} is already error (error)"}
    finally:
        cluster.close()
