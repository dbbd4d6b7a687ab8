"""A browserfn deployment on one machine: API servers and workers as separate processes that
share one real PostgreSQL database, as several machines would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.live_server import answers_health, browserfn_command, free_port, wait_until_ready


class Node:
    """One browserfn process (API server or worker)."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path, url: str, ready_line: bytes = b"") -> None:
        self.url = url
        self.ready_line = ready_line  #: a worker says it is ready in its log (its API is up before that)
        self.log_path = log_path
        log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(browserfn_command(*args), stdout=log, stderr=subprocess.STDOUT, env=env)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self) -> Node:
        url, line = self.url, self.ready_line
        if line:
            wait_until_ready(self.process, self.log_path, lambda: line in self.log_path.read_bytes())
        else:
            wait_until_ready(self.process, self.log_path, lambda: answers_health(url))
        return self

    def terminate(self, timeout_s: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout_s)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


class Cluster:
    def __init__(self, dsn: str, workdir: Path, warm_processes: int = 0, **settings: object) -> None:
        self.dsn = dsn
        self.warm_processes = warm_processes
        self.workdir = workdir
        settings.setdefault("browser_pool_size", 0)  # no idle Chromium per node: sessions launch their own
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "BROWSERFN_DATABASE_URL": dsn,
            **{f"BROWSERFN_{k.upper()}": str(v) for k, v in settings.items()},
        }
        self.nodes: list[Node] = []
        self.key = self.create_key("default")

    def create_key(self, account: str) -> str:
        out = subprocess.run(
            browserfn_command("keys", "create", "--account", account, "--data-dir", str(self.workdir)),
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip().splitlines()[-1]

    def api(self, *, worker: bool = False) -> Node:
        port = free_port()
        warm = str(self.warm_processes)
        args = ["serve", "--port", str(port), "--warm-processes", warm, "--data-dir", str(self.workdir)]
        if not worker:
            args.append("--no-worker")
        env = {**self.env, "PGAPPNAME": f"api-{port}"}  # names its connections in pg_stat_activity
        node = Node(args, env, self.workdir / f"api-{port}.log", f"http://127.0.0.1:{port}")
        self.nodes.append(node)
        return node.wait_ready()

    def worker(self, api: Node, *, concurrency: int = 8, grace_s: float = 30.0, data_dir: Path | None = None) -> Node:
        """A worker whose links point at `api` (its runs call the worker itself, on its own port);
        `data_dir`: a disk of its own, as on another machine (the store is still the shared one)."""
        port = free_port()
        args = [
            "worker",
            "--port",
            str(port),
            "--public-url",
            str(api.url),
            "--concurrency",
            str(concurrency),
            "--grace",
            str(grace_s),
            "--warm-processes",
            str(self.warm_processes),
            "--data-dir",
            str(data_dir or self.workdir),
        ]
        log_path = self.workdir / f"worker-{len(self.nodes)}.log"
        env = {**self.env, "PGAPPNAME": f"worker-{port}"}
        node = Node(args, env, log_path, f"http://127.0.0.1:{port}", ready_line=b"worker started")
        self.nodes.append(node)
        return node.wait_ready()

    def close(self) -> None:
        for node in self.nodes:
            if node.process.poll() is None:
                node.process.kill()
                node.process.wait()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def run_events(client: httpx.Client, function_id: str, variables: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Start a run streaming, as the SDK does, and yield its events as they come."""
    run_id = client.post(f"/functions/{function_id}/runs/create", json={}).json()["function_run_id"]
    body = {"workflow_id": function_id, "variables": variables}
    with client.stream("POST", f"/functions/{function_id}/runs/{run_id}", json=body) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: "):
                yield json.loads(line[len("data: ") :])


def owner_of(dsn: str, session_id: str) -> str:
    """The URL of the process hosting the session, as the store says."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT owner_url FROM sessions WHERE session_id = %s", (session_id,)).fetchone()
    assert row is not None
    return str(row[0])
