"""The server's handle on run processes: spawn a supervisor, hand it a job, read its messages,
stop it; and a pool that keeps supervisors started and warmed ahead of demand."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from browserfn.config import Settings
from browserfn.sandbox import firewall, isolation, proctree

#: A message line may carry a whole result; lines are read with this bound.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def base_environment(warm_imports: tuple[str, ...]) -> dict[str, str]:
    """What a supervisor starts with: nothing of the server's own environment."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": _PACKAGE_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
        "DISABLE_TELEMETRY": "true",
        "BROWSERFN_WARM_IMPORTS": ",".join(warm_imports),
    }


_FIREWALLED_PORTS: set[int] = set()


def isolation_options(settings: Settings) -> dict[str, Any]:
    """The `isolation` part of a job: the run's limits from the settings. The first call also
    puts up the firewall that keeps runs off this machine's ports other than the API's."""
    ports = {settings.port}
    with contextlib.suppress(ValueError):
        ports.add(urllib.parse.urlsplit(settings.base_url).port or settings.port)
    if isolation.can_drop_privileges() and not ports <= _FIREWALLED_PORTS:
        firewall.allow_api_ports(ports)
        _FIREWALLED_PORTS.update(ports)
    return {
        "limits": {
            "memory_bytes": settings.run_memory_limit_bytes,
            "cpu_s": settings.run_cpu_limit_s,
            "processes": settings.run_max_processes,
            "open_files": settings.run_max_open_files,
            "file_bytes": settings.run_max_file_bytes,
            "output_bytes": settings.run_max_output_bytes,
        }
    }


class RunProcess:
    """One supervisor process (see supervisor.py), started and waiting for its job."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._stderr_task = asyncio.create_task(self._collect_stderr())
        self.stderr = b""
        #: The run's memory cgroup (made by the supervisor): removed once the supervisor is gone.
        self.cgroup: str | None = None

    @property
    def pid(self) -> int:
        return self._process.pid

    @classmethod
    async def spawn(cls, warm_imports: tuple[str, ...]) -> RunProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "browserfn.sandbox.supervisor",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=base_environment(warm_imports),
            cwd=tempfile.gettempdir(),
            start_new_session=True,
            limit=MAX_MESSAGE_BYTES,
        )
        handle = cls(process)
        ready = await handle._read_message()
        handle.cgroup = (ready or {}).get("cgroup")
        if ready is None or ready.get("type") != "ready":
            await handle.kill()
            raise RuntimeError(f"run process failed to start: {handle.stderr.decode(errors='replace')[-2000:]}")
        return handle

    async def _collect_stderr(self) -> None:
        assert self._process.stderr is not None
        while chunk := await self._process.stderr.read(65536):
            self.stderr = (self.stderr + chunk)[-65536:]

    async def _read_message(self) -> dict[str, Any] | None:
        assert self._process.stdout is not None
        line = await self._process.stdout.readline()
        return json.loads(line) if line else None

    async def start(self, job: dict[str, Any]) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(job).encode() + b"\n")
        await self._process.stdin.drain()

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """Every message until the supervisor exits; the last one is `exit` unless it crashed."""
        while (message := await self._read_message()) is not None:
            yield message

    async def stop(self, grace_s: float) -> None:
        """Ask the supervisor to kill its tree (by closing its stdin); force it after `grace_s`."""
        assert self._process.stdin is not None
        with contextlib.suppress(ConnectionError):
            self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), grace_s)
        except TimeoutError:
            await self.kill()
        self._remove_cgroup()

    async def kill(self) -> None:
        """Kill the supervisor and everything below it, from outside."""
        await asyncio.to_thread(proctree.kill_descendants, self.pid, 2.0, False)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, 9)
        await self._process.wait()
        self._remove_cgroup()

    async def wait(self) -> int:
        code = await self._process.wait()
        await self._stderr_task
        self._remove_cgroup()
        return code

    def _remove_cgroup(self) -> None:
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self.cgroup)  # empty by now: the supervisor killed its tree and exited
            self.cgroup = None


class ProcessPool:
    """Keeps `size` supervisors started and warmed; `acquire` hands one out and refills behind."""

    def __init__(self, size: int, warm_imports: tuple[str, ...]) -> None:
        self._size = size
        self._warm_imports = warm_imports
        self._ready: asyncio.Queue[RunProcess] = asyncio.Queue()
        self._refills: set[asyncio.Task[None]] = set()
        self._closed = False

    def start(self) -> None:
        isolation.sweep_stale_cgroups()
        self._top_up()

    def _top_up(self) -> None:
        while not self._closed and self._ready.qsize() + len(self._refills) < self._size:
            task = asyncio.create_task(self._add_one())
            self._refills.add(task)
            task.add_done_callback(self._refills.discard)

    async def _add_one(self) -> None:
        process = await RunProcess.spawn(self._warm_imports)
        if self._closed:
            await process.stop(1.0)
        else:
            self._ready.put_nowait(process)

    async def acquire(self) -> RunProcess:
        """A warm process if one is ready; otherwise a cold one at once (a burst should not wait
        for warm-ups: a script that needs the heavy imports pays for them itself)."""
        try:
            process = self._ready.get_nowait()
        except asyncio.QueueEmpty:
            process = None
        self._top_up()
        return process if process is not None else await RunProcess.spawn(())

    async def close(self) -> None:
        self._closed = True
        for task in list(self._refills):
            task.cancel()
        while not self._ready.empty():
            await self._ready.get_nowait().stop(1.0)
