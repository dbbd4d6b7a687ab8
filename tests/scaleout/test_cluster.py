"""Several API servers and workers on one PostgreSQL: runs end correctly, limits hold across
workers, stop reaches the right worker, and nothing is lost when a process dies."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.api.helpers import metric_sample
from tests.conftest import deploy
from tests.scaleout.cluster import Cluster, Node

PROBE = """
import os, time

def run(tag: str, sleep_s: float = 0.0):
    worker_pid = int(open(f"/proc/{os.getppid()}/stat").read().rsplit(")", 1)[1].split()[1])
    started = time.time()
    print("entered", tag)
    time.sleep(sleep_s)
    return {"tag": tag, "worker": worker_pid, "started": started, "ended": time.time()}
"""


@pytest.fixture
def cluster(pg_dsn: str, tmp_path: Path) -> Iterator[Cluster]:
    deployment = Cluster(pg_dsn, tmp_path, account_concurrency=4, account_queue_limit=1000)
    yield deployment
    deployment.close()


def _deploy(api: Node, cluster: Cluster, code: str = PROBE) -> str:
    with httpx.Client(base_url=str(api.url), headers=cluster.headers(), timeout=30) as client:
        function_id: str = deploy(client, code, "probe", restricted=False)["function_id"]
        return function_id


async def _start(client: httpx.AsyncClient, function_id: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = {"workflow_id": function_id, "variables": variables, "stream": False}
    response = await client.post(f"/functions/{function_id}/runs/start", json=body, timeout=300)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _start_streaming(client: httpx.Client, function_id: str, variables: dict[str, Any]) -> tuple[str, httpx.Response]:
    """Create a run and start it streaming, as the SDK does; the open response is the caller's."""
    run_id: str = client.post(f"/functions/{function_id}/runs/create", json={}).json()["function_run_id"]
    request = client.build_request(
        "POST", f"/functions/{function_id}/runs/{run_id}", json={"workflow_id": function_id, "variables": variables}
    )
    response = client.send(request, stream=True)
    assert response.status_code == 200
    return run_id, response


def _data(response: httpx.Response) -> Iterator[dict[str, Any]]:
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])


def _get_run(api: Node, cluster: Cluster, function_id: str, run_id: str) -> dict[str, Any]:
    response = httpx.get(f"{api.url}/functions/{function_id}/runs/{run_id}", headers=cluster.headers(), timeout=30)
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    return run


def _wait_ended(api: Node, cluster: Cluster, function_id: str, run_id: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = _get_run(api, cluster, function_id, run_id)
        if run["status"] != "active":
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still active after {timeout_s} s")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_two_apis_two_workers_run_200_concurrent_runs_exactly_once(pg_dsn: str, tmp_path: Path) -> None:
    cluster = Cluster(pg_dsn, tmp_path, account_concurrency=16, account_queue_limit=1000)
    try:
        apis = [cluster.api(), cluster.api()]
        workers = [cluster.worker(apis[0], concurrency=8), cluster.worker(apis[1], concurrency=8)]
        function_id = _deploy(apis[0], cluster)

        async def start_all() -> list[dict[str, Any]]:
            clients = [httpx.AsyncClient(base_url=str(a.url), headers=cluster.headers()) for a in apis]
            try:
                return await asyncio.gather(
                    *(_start(clients[i % 2], function_id, {"tag": f"t{i}"}) for i in range(200))
                )
            finally:
                for client in clients:
                    await client.aclose()

        answers = asyncio.run(start_all())
        assert [a["status"] for a in answers] == ["closed"] * 200
        assert sorted(a["result"]["tag"] for a in answers) == sorted(f"t{i}" for i in range(200))
        assert {a["result"]["worker"] for a in answers} == {w.pid for w in workers}
        # Each run entered run() exactly once: one "entered" line in its stored log.
        for answer in answers[::20]:
            run = _get_run(apis[1], cluster, function_id, answer["function_run_id"])
            assert [line.split(" | ", 3)[3] for line in run["logs"]] == [f"entered {answer['result']['tag']}"]
        # Every process froze its start-up heap out of the garbage collector (heap.py).
        for node in [*apis, *workers]:
            metrics = httpx.get(f"{node.url}/metrics", timeout=30).text
            assert (metric_sample(metrics, "browserfn_gc_frozen_objects") or 0) > 50_000, node.url
    finally:
        cluster.close()


def test_account_concurrency_holds_across_workers_and_queue_is_fifo(pg_dsn: str, tmp_path: Path) -> None:
    cluster = Cluster(pg_dsn, tmp_path, account_concurrency=2, account_queue_limit=100)
    try:
        api = cluster.api()
        cluster.worker(api, concurrency=4)
        cluster.worker(api, concurrency=4)
        function_id = _deploy(api, cluster)
        with httpx.Client(base_url=str(api.url), headers=cluster.headers(), timeout=60) as client:
            opened = [_start_streaming(client, function_id, {"tag": f"q{i}", "sleep_s": 0.6}) for i in range(8)]
            results = []
            for _, response in opened:
                last = list(_data(response))[-1]
                response.close()
                results.append(json.loads(last["message"])["result"])
        intervals = sorted((r["started"], r["ended"]) for r in results)
        most_at_once = max(sum(1 for s, e in intervals if s <= t < e) for t, _ in intervals)
        assert most_at_once <= 2
        # Queued runs are handed their slots (their jobs) in the order they were queued.
        with psycopg.connect(pg_dsn) as conn:
            rows = conn.execute("SELECT job_id FROM runs WHERE function_id = %s ORDER BY seq", (function_id,))
            job_ids = [row[0] for row in rows.fetchall()]
        assert len(job_ids) == 8 and job_ids == sorted(job_ids)
    finally:
        cluster.close()


def test_stop_reaches_the_worker_and_kills_the_tree(cluster: Cluster) -> None:
    api = cluster.api()
    cluster.worker(api)
    code = """
import subprocess, time
def run():
    child = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    print("child", child.pid)
    time.sleep(1000)
"""
    function_id = _deploy(api, cluster, code)
    with httpx.Client(base_url=str(api.url), headers=cluster.headers(), timeout=30) as client:
        run_id, response = _start_streaming(client, function_id, {})
        events = _data(response)
        child_pid = int(next(events)["message"].rsplit(" ", 1)[1])
        assert _alive(child_pid)
        asked = time.monotonic()
        stopped = client.delete(f"/functions/{function_id}/runs/{run_id}")
        assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
        tail = list(events)
        response.close()
        assert time.monotonic() - asked < 2.0
        assert not _alive(child_pid)
        final = json.loads(tail[-1]["message"])
        assert (tail[-1]["type"], final["status"], final["state"]) == ("result", "failed", "stopped")


def test_killed_worker_fails_its_runs_and_frees_the_slot(pg_dsn: str, tmp_path: Path) -> None:
    cluster = Cluster(pg_dsn, tmp_path, account_concurrency=1, account_queue_limit=10, worker_stalled_s=5)
    try:
        api = cluster.api()
        doomed = cluster.worker(api)
        code = """
import os, subprocess, time
def run(sleep_s: float):
    child = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    print("child", child.pid)
    time.sleep(sleep_s)
    return "done"
"""
        function_id = _deploy(api, cluster, code)
        with httpx.Client(base_url=str(api.url), headers=cluster.headers(), timeout=30) as client:
            first, running = _start_streaming(client, function_id, {"sleep_s": 1000})
            child_pid = int(next(_data(running))["message"].rsplit(" ", 1)[1])
            running.close()
            # The second run waits for the account's only slot.
            second, waiting = _start_streaming(client, function_id, {"sleep_s": 0})
            time.sleep(0.5)
            assert _get_run(api, cluster, function_id, second)["state"] == "queued"
            killed_at = time.monotonic()
            doomed.kill()
            cluster.worker(api)
            failed = _wait_ended(api, cluster, function_id, first, 60)
            assert time.monotonic() - killed_at < 60
            assert (failed["status"], failed["state"]) == ("failed", "failed")
            assert "stopped sending heartbeats" in failed["reason"]
            assert not _alive(child_pid)
            done = _wait_ended(api, cluster, function_id, second, 60)
            waiting.close()
        assert (done["status"], done["result"]) == ("closed", "done")
    finally:
        cluster.close()


def test_api_server_killed_mid_stream_client_resumes_on_another(cluster: Cluster) -> None:
    first_api, second_api = cluster.api(), cluster.api()
    cluster.worker(first_api)
    code = """
import time
def run():
    for i in range(30):
        print("line", i)
        time.sleep(0.05)
    return "end"
"""
    function_id = _deploy(first_api, cluster, code)
    seen: list[int] = []
    with httpx.Client(base_url=str(first_api.url), headers=cluster.headers(), timeout=30) as client:
        run_id, response = _start_streaming(client, function_id, {})
        for line in response.iter_lines():
            if line.startswith("id: "):
                seen.append(int(line[4:]))
            if len(seen) == 5:
                first_api.kill()
                break
        response.close()
    resumed = httpx.get(
        f"{second_api.url}/functions/{function_id}/runs/{run_id}/stream",
        headers={**cluster.headers(), "Last-Event-ID": str(seen[-1])},
        timeout=60,
    )
    ids = [int(line[4:]) for line in resumed.text.splitlines() if line.startswith("id: ")]
    events = [json.loads(line[6:]) for line in resumed.text.splitlines() if line.startswith("data: ")]
    assert seen + ids == list(range(1, len(seen) + len(ids) + 1))
    assert [e["type"] for e in events][-1] == "result"
    assert len(seen) + len(ids) == 31  # 30 log lines and the result, none lost, none twice


def test_sigterm_lets_short_runs_finish_and_stops_long_ones_after_grace(pg_dsn: str, tmp_path: Path) -> None:
    cluster = Cluster(pg_dsn, tmp_path, account_concurrency=4, account_queue_limit=10)
    try:
        api = cluster.api()
        worker = cluster.worker(api, grace_s=3)
        function_id = _deploy(api, cluster)
        with httpx.Client(base_url=str(api.url), headers=cluster.headers(), timeout=30) as client:
            ids = {}
            for tag, sleep_s in (("short", 1.0), ("long", 1000.0)):
                ids[tag], response = _start_streaming(client, function_id, {"tag": tag, "sleep_s": sleep_s})
                next(_data(response))  # it has entered run()
                response.close()
            code = worker.terminate(timeout_s=30)
        assert code == 0
        short = _get_run(api, cluster, function_id, ids["short"])
        long = _get_run(api, cluster, function_id, ids["long"])
        assert (short["status"], json.loads(short["result"])["tag"]) == ("closed", "short")
        assert (long["status"], long["state"]) == ("failed", "stopped")
        assert "worker shut down" in long["reason"]
    finally:
        cluster.close()


def test_postgres_restart_mid_load_everyone_reconnects(cluster: Cluster) -> None:
    api = cluster.api()
    cluster.worker(api)
    function_id = _deploy(api, cluster)

    async def load() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=str(api.url), headers=cluster.headers()) as client:
            starts = [_start(client, function_id, {"tag": f"p{i}", "sleep_s": 2.0}) for i in range(6)]
            restart = asyncio.create_task(asyncio.to_thread(_restart_postgres))
            answers = await asyncio.gather(*starts)
            await restart
            return answers

    answers = asyncio.run(load())
    assert {a["status"] for a in answers} == {"closed"}, answers
    assert sorted(a["result"]["tag"] for a in answers) == [f"p{i}" for i in range(6)]
    after = asyncio.run(_start_once(str(api.url), cluster, function_id))
    assert (after["status"], after["result"]["tag"]) == ("closed", "after")


async def _start_once(url: str, cluster: Cluster, function_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers=cluster.headers()) as client:
        return await _start(client, function_id, {"tag": "after"})


def _restart_postgres() -> None:
    time.sleep(0.8)  # let the runs start first
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    os.system(f"pg_ctlcluster --skip-systemctl-redirect {version} main restart")
