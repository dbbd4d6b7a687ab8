"""A real browserfn server in its own process, on a free loopback port, with its own data dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

READY_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def answers_health(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_ready(process: subprocess.Popen[bytes], log_path: Path, is_ready: Callable[[], bool]) -> None:
    """Until `is_ready()`; a process that exits first, or a deadline, fails with its log's tail."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited at start:\n{log_path.read_text()[-3000:]}")
        if is_ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"not ready in {READY_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


def browserfn_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "browserfn.cli.main", *args]


class LiveServer:
    def __init__(
        self,
        data_dir: Path,
        warm_processes: int = 1,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.warm_processes = warm_processes
        self.extra_args = extra_args
        self.env = env or {}  #: BROWSERFN_* settings and the like, on top of this process's environment
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"
        self.key = self.create_key("default")

    def create_key(self, account: str, name: str = "test") -> str:
        out = subprocess.run(
            browserfn_command("keys", "create", "--account", account, "--name", name, "--data-dir", str(self.data_dir)),
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip().splitlines()[-1]

    def start(self) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            browserfn_command(
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--warm-processes",
                str(self.warm_processes),
                *self.extra_args,
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
        )
        wait_until_ready(self.process, self.log_path, lambda: answers_health(self.url))
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}"}

    def client(self, key: str | None = None, timeout: float = 60.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(key), timeout=timeout)
