"""The server's handle on run processes: spawn a supervisor, hand it a job, read its messages,
stop it; and a pool that keeps supervisors started and warmed ahead of demand."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import shutil
import socket
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
        for url in (settings.base_url, settings.internal_base_url):
            ports.add(urllib.parse.urlsplit(url).port or settings.port)
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
    """One supervisor process (see supervisor.py), started and waiting for its job. It may be our
    child (spawned) or the fork server's (forked): either way we hold its three pipes and learn
    of its exit through a pidfd."""

    def __init__(
        self, pid: int, stdin: asyncio.StreamWriter, stdout: asyncio.StreamReader, stderr: asyncio.StreamReader
    ) -> None:
        self.pid = pid
        self._stdin = stdin
        self._stdout = stdout
        self._stderr = stderr
        self._exited = _exit_of(pid)
        self._stderr_task = asyncio.create_task(self._collect_stderr())
        self.stderr = b""
        #: The run's working directory and memory cgroup, made by the supervisor while warming:
        #: removed once the supervisor is gone.
        self.workdir = ""
        self.cgroup: str | None = None

    @classmethod
    async def spawn(cls, warm_imports: tuple[str, ...]) -> RunProcess:
        """A new interpreter (used until the fork server is warm, or without one)."""
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
        assert process.stdin and process.stdout and process.stderr
        return await cls(process.pid, process.stdin, process.stdout, process.stderr)._ready()

    @classmethod
    async def adopt(cls, pid: int, stdin_fd: int, stdout_fd: int, stderr_fd: int) -> RunProcess:
        """A supervisor someone else started, whose pipe ends we were given."""
        loop = asyncio.get_running_loop()
        write_transport, write_protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(stdin_fd, "wb", buffering=0)
        )
        stdin = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
        readers = [await _pipe_reader(fd) for fd in (stdout_fd, stderr_fd)]
        return await cls(pid, stdin, readers[0], readers[1])._ready()

    async def _ready(self) -> RunProcess:
        ready = await self._read_message()
        self.workdir = (ready or {}).get("workdir") or ""
        self.cgroup = (ready or {}).get("cgroup")
        if ready is None or ready.get("type") != "ready":
            await self.kill()
            raise RuntimeError(f"run process failed to start: {self.stderr.decode(errors='replace')[-2000:]}")
        return self

    async def _collect_stderr(self) -> None:
        while chunk := await self._stderr.read(65536):
            self.stderr = (self.stderr + chunk)[-65536:]

    async def _read_message(self) -> dict[str, Any] | None:
        line = await self._stdout.readline()
        return json.loads(line) if line else None

    async def start(self, job: dict[str, Any]) -> None:
        self._stdin.write(json.dumps(job).encode() + b"\n")
        await self._stdin.drain()

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """Every message until the supervisor exits; the last one is `exit` unless it crashed."""
        while (message := await self._read_message()) is not None:
            yield message

    async def stop(self, grace_s: float) -> None:
        """Ask the supervisor to kill its tree (by closing its stdin); force it after `grace_s`."""
        with contextlib.suppress(ConnectionError):
            self._stdin.close()
        try:
            await asyncio.wait_for(asyncio.shield(self._exited), grace_s)
        except TimeoutError:
            await self.kill()
        await self._clean_up()

    async def kill(self) -> None:
        """Kill the supervisor and everything below it, from outside."""
        await asyncio.to_thread(proctree.kill_descendants, self.pid, 2.0, False)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, 9)
        await self._exited
        await self._clean_up()

    async def wait(self) -> None:
        await self._exited
        await self._stderr_task
        await self._clean_up()

    async def _clean_up(self) -> None:
        """Remove the run's working directory and cgroup, empty by now: the supervisor killed
        its tree and exited. (In cgroup v1 the rmdir takes ~10 ms of waiting in the kernel: a
        thread waits, not the event loop.)"""
        workdir, cgroup, self.workdir, self.cgroup = self.workdir, self.cgroup, "", None
        if workdir or cgroup is not None:
            await asyncio.to_thread(_remove, workdir, cgroup)


def _remove(workdir: str, cgroup: str | None) -> None:
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    if cgroup is not None:
        with contextlib.suppress(OSError):
            os.rmdir(cgroup)


def _same(protocol: asyncio.StreamReaderProtocol) -> asyncio.StreamReaderProtocol:
    return protocol


async def _pipe_reader(fd: int) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=MAX_MESSAGE_BYTES)
    protocol = asyncio.StreamReaderProtocol(reader)
    await asyncio.get_running_loop().connect_read_pipe(functools.partial(_same, protocol), os.fdopen(fd, "rb", 0))
    return reader


def _exit_of(pid: int) -> asyncio.Future[None]:
    """Resolves when `pid` exits, child of ours or not (a pidfd turns readable)."""
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        exited.set_result(None)
        return exited

    def on_exit() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(pidfd, on_exit)
    return exited


class ProcessPool:
    """Keeps `size` supervisors ready. They are forked from a warm fork server (milliseconds
    each) once it is up; until then, and without one, they are spawned cold."""

    def __init__(self, size: int, warm_imports: tuple[str, ...]) -> None:
        self._size = size
        self._warm_imports = warm_imports
        self._ready: asyncio.Queue[RunProcess] = asyncio.Queue()
        self._refills: set[asyncio.Task[None]] = set()
        self._retiring: set[asyncio.Task[None]] = set()
        self._closed = False
        self._forkserver: ForkServer | None = None
        self._forkserver_start: asyncio.Task[None] | None = None

    def start(self) -> None:
        isolation.sweep_stale_cgroups()
        if self._size > 0:
            self._forkserver_start = asyncio.create_task(self._start_forkserver())

    async def _start_forkserver(self) -> None:
        forkserver = ForkServer(self._warm_imports)
        await forkserver.start()
        self._forkserver = forkserver
        self._top_up()

    def _top_up(self) -> None:
        while not self._closed and self._ready.qsize() + len(self._refills) < self._size:
            task = asyncio.create_task(self._add_one())
            self._refills.add(task)
            task.add_done_callback(self._refills.discard)

    async def _add_one(self) -> None:
        process = await self._launch()
        if self._closed:
            await process.stop(1.0)
        else:
            self._ready.put_nowait(process)

    async def _launch(self) -> RunProcess:
        if self._forkserver is not None and self._forkserver.alive:
            return await self._forkserver.fork()
        return await RunProcess.spawn(())

    async def acquire(self) -> RunProcess:
        """A ready process if there is one, else a new one at once (forked if the fork server is
        warm, spawned cold before that: a burst never waits for a warm-up)."""
        try:
            process = self._ready.get_nowait()
        except asyncio.QueueEmpty:
            process = None
        self._top_up()
        return process if process is not None else await self._launch()

    def retire(self, process: RunProcess) -> None:
        """Wait for a used process to exit and clean up after it, in the background: its run
        has already ended (the supervisor said `exit` once the run's tree was dead)."""
        task = asyncio.create_task(process.wait())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        self._closed = True
        if self._retiring:
            await asyncio.wait(self._retiring)
        tasks = [*self._refills, *([self._forkserver_start] if self._forkserver_start else [])]
        for task in tasks:
            task.cancel()
        while not self._ready.empty():
            await self._ready.get_nowait().stop(1.0)
        if self._forkserver is not None:
            await self._forkserver.close()


class ForkServer:
    """Client of sandbox/forkserver.py: one warm process that forks supervisors on request."""

    def __init__(self, warm_imports: tuple[str, ...]) -> None:
        self._warm_imports = warm_imports
        self._socket: socket.socket | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with theirs:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "browserfn.sandbox.forkserver",
                str(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                env=base_environment(self._warm_imports),
                cwd=tempfile.gettempdir(),
                start_new_session=True,
            )
        self._socket = ours
        if await asyncio.to_thread(ours.recv, 1) != b"R":
            raise RuntimeError("the fork server failed to start")

    def _request(self, fds: list[int]) -> int:
        assert self._socket is not None
        socket.send_fds(self._socket, [b"F"], fds)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = self._socket.recv(32)
            if not chunk:
                raise RuntimeError("the fork server is gone")
            answer += chunk
        return int(answer)

    async def fork(self) -> RunProcess:
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        try:
            async with self._lock:
                pid = await asyncio.to_thread(self._request, [stdin_r, stdout_w, stderr_w])
        except BaseException:
            for fd in (stdin_w, stdout_r, stderr_r):
                os.close(fd)
            raise
        finally:
            for fd in (stdin_r, stdout_w, stderr_w):
                os.close(fd)
        if pid == 0:
            raise RuntimeError("the fork server refused the request")
        return await RunProcess.adopt(pid, stdin_w, stdout_r, stderr_r)

    async def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        if self._process is not None:
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
