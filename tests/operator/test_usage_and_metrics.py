"""Usage (`GET /usage`, `/usage/logs`, as Notte's clients call them) and Prometheus `/metrics`,
against a real server: the metrics scraped while a run executes show it; usage matches the runs
made here, through the TypeScript client too; another account sees none of it; the server's log
has its listening line and one line per request, in JSON when asked."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.api.helpers import metric_sample, wait_for
from tests.conftest import deploy
from tests.live_server import LiveServer
from tests.node_client import CLIENT_MODULE, run_node

SLOW = """\
import time

def run(wait: float = 0.0, fail: bool = False):
    print("started", flush=True)
    time.sleep(wait)
    assert not fail, "asked to fail"
    return wait
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("usage"), env={"BROWSERFN_LOG_FORMAT": "json"}).start()
    yield live
    live.stop()


def finished(api: httpx.Client, fid: str, run_id: str) -> dict[str, object]:
    wait_for(lambda: api.get(f"/functions/{fid}/runs/{run_id}").json()["status"] != "active", 30.0, "the run to end")
    record: dict[str, object] = api.get(f"/functions/{fid}/runs/{run_id}").json()
    return record


def scrape_while_running(server: LiveServer) -> httpx.Response:
    """The first scrape that shows one run executing."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        scraped = httpx.get(f"{server.url}/metrics", timeout=30)
        if metric_sample(scraped.text, "browserfn_runs", 'state="running"') == 1.0:
            return scraped
        time.sleep(0.1)
    raise AssertionError("no scrape showed the run running")


def test_metrics_scraped_during_a_run_show_it(server: LiveServer) -> None:
    with server.client(timeout=60) as api:
        fid = deploy(api, SLOW, name="slow")["function_id"]
        before = httpx.get(f"{server.url}/metrics").text
        assert metric_sample(before, "browserfn_runs", 'state="running"') == 0.0
        # the start answers when the run ends (stream false): it waits in a thread meanwhile
        with ThreadPoolExecutor(1) as pool:
            start = pool.submit(
                api.post,
                f"/functions/{fid}/runs/start",
                json={"workflow_id": fid, "variables": {"wait": 4}, "stream": False},
            )
            during = scrape_while_running(server)
            answer = start.result()
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "closed"
        assert during.headers["content-type"].startswith("text/plain")
        assert metric_sample(during.text, "browserfn_run_queue_depth") == 0.0
        assert metric_sample(during.text, "browserfn_warm_processes") == 1.0
        assert metric_sample(during.text, "browserfn_browser_pool_size") == 2.0
        assert metric_sample(during.text, "browserfn_browsers_alive") is not None
        ended_before = metric_sample(before, "browserfn_runs_ended_total", 'state="succeeded"') or 0.0

        def counted() -> bool:
            text = httpx.get(f"{server.url}/metrics").text
            return metric_sample(text, "browserfn_runs_ended_total", 'state="succeeded"') == ended_before + 1

        wait_for(counted, 30.0)
        after = httpx.get(f"{server.url}/metrics").text
        assert metric_sample(after, "browserfn_runs", 'state="running"') == 0.0
        assert (metric_sample(after, "browserfn_run_duration_seconds_count") or 0) >= 1
        # the run slept 4 s: its duration is in the buckets above 2.5 s, not below
        below = metric_sample(after, "browserfn_run_duration_seconds_bucket", 'le="2.5"') or 0
        assert (metric_sample(after, "browserfn_run_duration_seconds_count") or 0) - below >= 1
        assert metric_sample(after, "browserfn_store_errors_total", 'source="api"') in (None, 0.0)


def test_the_servers_start_up_heap_is_frozen_out_of_the_garbage_collector(server: LiveServer) -> None:
    """heap.py: once it listens, the server's start-up objects (its imports, app and services:
    far more than 50,000) are frozen, so the collector's full passes no longer walk them; the
    collections by generation are there for an operator to watch."""
    text = httpx.get(f"{server.url}/metrics").text
    assert (metric_sample(text, "browserfn_gc_frozen_objects") or 0) > 50_000
    for generation in range(3):
        assert metric_sample(text, "python_gc_collections_total", f'generation="{generation}"') is not None


def test_usage_matches_the_runs_made_and_is_per_account(server: LiveServer) -> None:
    owner = server.create_key("usage-owner")
    other = server.create_key("usage-other")
    with server.client(timeout=60) as api:
        api.headers["x-notte-api-key"] = owner
        api.headers.pop("Authorization", None)
        fid = deploy(api, SLOW, name="metered")["function_id"]
        runs = []
        for variables in ({"wait": 0.5}, {"fail": True}, {"wait": 1.0}):
            answer = api.post(
                f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": variables, "stream": False}
            )
            assert answer.status_code == 200, answer.text
            runs.append(finished(api, fid, answer.json()["function_run_id"]))
        assert [r["status"] for r in runs] == ["closed", "failed", "closed"]
        seconds = sum(
            (
                dt.datetime.fromisoformat(str(r["stopped_at"])) - dt.datetime.fromisoformat(str(r["started_at"]))
            ).total_seconds()
            for r in runs
        )

        got = api.get("/usage")
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["period"] == dt.datetime.now(dt.UTC).strftime("%B %Y")
        assert (body["function_count"], body["run_count"], body["functions_run"], body["session_count"]) == (3, 3, 1, 0)
        assert abs(body["run_seconds"] - seconds) < 0.1, (body["run_seconds"], seconds)
        assert body["run_seconds"] >= 1.5  # the two sleeps
        assert body["model_tokens"] == {"prompt": 0, "completion": 0, "total": 0}
        assert (body["total_cost"], body["is_usage_limit_exceeded"]) == (0.0, False)

        logs = api.get("/usage/logs", params={"page_size": 2}).json()
        assert [i["endpoint"] for i in logs["items"]] == ["workflows.runs.start"] * 2
        assert (logs["page"], logs["has_next"], logs["has_previous"]) == (1, True, False)
        rest = api.get("/usage/logs", params={"page_size": 2, "page": 2}).json()
        assert len(rest["items"]) == 1 and rest["has_next"] is False
        durations = sorted(i["duration_ms"] for i in logs["items"] + rest["items"])
        assert abs(sum(durations) - seconds * 1000) < 100
        assert api.get("/usage/logs", params={"endpoint": "sessions.start"}).json()["items"] == []
        assert api.get("/usage", params={"period": "January 2020"}).json()["function_count"] == 0
        assert api.get("/usage", params={"period": "2020-01"}).json()["period"] == "January 2020"

        for params in ({"period": "soon"}, {"period": "13/2026"}):
            bad = api.get("/usage", params=params)
            assert (bad.status_code, bad.json()["status"]) == (422, 422), bad.text
            assert "period" in bad.json()["message"]
        bad = api.get("/usage/logs", params={"only_current_token": "true"})
        assert bad.status_code == 422 and "only_current_token" in bad.json()["message"]
        assert api.get("/usage/logs", params={"only_active": "true"}).status_code == 200  # Notte's default

    # another account: nothing of it
    theirs = httpx.get(f"{server.url}/usage", headers={"x-notte-api-key": other}).json()
    assert (theirs["function_count"], theirs["run_seconds"]) == (0, 0.0)
    assert httpx.get(f"{server.url}/usage/logs", headers={"x-notte-api-key": other}).json()["items"] == []
    assert httpx.get(f"{server.url}/usage").status_code == 401

    # the TypeScript client's getUsage and getUsageLogs
    got_ts = run_node(
        f"""
        const {{ getUsage, getUsageLogs }} = await import({json.dumps(CLIENT_MODULE.as_uri())});
        const usage = await getUsage({{ query: {{ period: "{body["period"]}" }} }});
        const logs = await getUsageLogs({{ query: {{ page: 1, page_size: 10 }} }});
        report({{ usage: usage.data, logs: logs.data, status: [usage.response.status, logs.response.status] }});
        """,
        url=server.url,
        key=owner,
    )
    assert got_ts["status"] == [200, 200]
    assert got_ts["usage"]["function_count"] == 3 and got_ts["usage"]["period"] == body["period"]
    assert [i["endpoint"] for i in got_ts["logs"]["items"]] == ["workflows.runs.start"] * 3


def test_the_log_says_where_it_listens_and_each_request_in_json(server: LiveServer) -> None:
    httpx.get(f"{server.url}/health?secret=x")
    lines = [json.loads(line) for line in Path(server.log_path).read_text().splitlines() if line.startswith("{")]
    listening = [e for e in lines if e["logger"] == "browserfn.server"]
    assert listening and listening[0]["message"].startswith("browserfn ")
    assert listening[0]["backend"] == "sqlite" and listening[0]["data_dir"] == str(server.data_dir.resolve())
    assert (listening[0]["warm_processes"], listening[0]["browser_pool_size"]) == (1, 2)
    health = [e for e in lines if e["logger"] == "browserfn.access" and e["path"] == "/health"]
    assert health and health[-1]["status"] == 200 and health[-1]["level"] == "INFO"
    assert all("secret" not in e["message"] for e in health)  # never the query


def test_a_runs_key_cannot_read_usage(server: LiveServer) -> None:
    probe = """\
    import os
    import requests

    def run():
        headers = {"x-notte-api-key": os.environ["NOTTE_API_KEY"]}
        return [requests.get(os.environ["NOTTE_API_URL"] + path, headers=headers).status_code
                for path in ("/usage", "/usage/logs")]
    """
    with server.client(timeout=60) as api:
        fid = deploy(api, probe, name="usage-probe", restricted=False)["function_id"]
        body = {"workflow_id": fid, "variables": {}, "stream": False}
        answer = api.post(f"/functions/{fid}/runs/start", json=body)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["status"], answer.json()["result"]) == ("closed", [403, 403])
