"""The server's handle on run processes: have the fork server fork one, hand it a job, read its
messages, kill it; and a pool that keeps them forked and confined ahead of demand."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from browserfn.config import Settings
from browserfn.sandbox import firewall, isolation, proctree, protocol

#: A message line may carry a whole result; lines are read with this bound.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: How long a run's pipes may stay open once its process has exited (see _give_up_after_exit).
DRAIN_AFTER_EXIT_S = 2.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def base_environment(warm_imports: tuple[str, ...]) -> dict[str, str]:
    """What the fork server starts with: nothing of the server's own environment."""
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
    """One run's process (see child.py), forked by the fork server, confined and waiting for its
    job. We hold its three pipes: the job goes in, its events and raw output come out. Its exit
    status comes from the fork server, once its leftovers are dead too."""

    def __init__(
        self,
        pid: int,
        pidfd: int,
        job_fd: int,
        events: asyncio.StreamReader,
        output: asyncio.StreamReader,
        exited: asyncio.Future[int],
    ) -> None:
        self.pid = pid
        self._pidfd = pidfd  # signals reach this process, never a reuse of its pid
        self._killing: asyncio.Future[None] | None = None  #: a kill under way, which uses the pidfd
        self._job_fd: int | None = job_fd
        self._events = events
        self._output = output
        self._exited = exited
        self._limits = dict(isolation.DEFAULT_LIMITS)
        self._output_bytes = 0
        self._over_output = False
        self._got_result = False
        #: The run's working directory and memory cgroup, made by the process while warming:
        #: removed once it is gone (the directory unless it was in the run's own tmpfs).
        self.workdir = ""
        self._workdir_shared = False
        self.cgroup: str | None = None

    @classmethod
    async def connect(
        cls, pid: int, pidfd: int, job_fd: int, events_fd: int, output_fd: int, exited: asyncio.Future[int]
    ) -> RunProcess:
        """The process the fork server just forked, with our ends of its pipes; once it is ready."""
        process = cls(pid, pidfd, job_fd, _pipe_reader(events_fd), _pipe_reader(output_fd), exited)
        line = await process._events.readline()
        ready = json.loads(line) if line else None
        if ready is None or ready.get("type") != "ready":
            await process.kill()
            await process.wait()
            raise RuntimeError(f"run process failed to start: {ready}")
        process.workdir = ready["workdir"]
        process._workdir_shared = not ready.get("workdir_private")
        process.cgroup = ready.get("cgroup")
        return process

    async def start(self, job: dict[str, Any]) -> None:
        """Hand the job over: the memory limit goes on the cgroup, the rest to the process."""
        options: dict[str, Any] = job.setdefault("isolation", {})
        self._limits = {**isolation.DEFAULT_LIMITS, **options.get("limits", {})}
        options["memory_by_cgroup"] = self.cgroup is not None
        if self.cgroup is not None and self._limits["memory_bytes"] != isolation.DEFAULT_LIMITS["memory_bytes"]:
            try:  # (the process made its cgroup with the default limit)
                isolation.MemoryCgroup.at(self.cgroup).set_limit(self._limits["memory_bytes"])
            except OSError:
                options["memory_by_cgroup"] = False
        job_fd, self._job_fd = self._job_fd, None
        assert job_fd is not None, "a run process takes one job"
        try:
            rest = _write_what_fits(job_fd, json.dumps(job).encode())
        except BaseException:
            os.close(job_fd)
            raise
        if rest:  # a job larger than the pipe's buffer: the rest in a thread, as the process reads
            await asyncio.to_thread(_hand_job, job_fd, rest)
        else:
            os.close(job_fd)

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Every message of the run, in order, in batches of what has arrived meanwhile, until
        both pipes have closed. Then, unless the run returned its result (and so killed what it
        started, see child.main), the `exit` message, made once the tree is dead."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        output = _LineSplitter()
        readers = [
            asyncio.create_task(self._read_events(queue)),
            asyncio.create_task(self._read_output(queue, output)),
            asyncio.create_task(self._give_up_after_exit(queue)),
        ]
        try:
            open_streams = 2
            while open_streams:
                batch = []
                for message in [await queue.get()] + [queue.get_nowait() for _ in range(queue.qsize())]:
                    if message is None:
                        open_streams -= 1
                    elif message.get("type") == "gave up":
                        open_streams = 0
                    else:
                        batch.append(message)
                if batch:
                    yield batch
        finally:
            for reader in readers:
                reader.cancel()
        yield [protocol.log("INFO", "output", line) for line in output.rest()] + await self._ending()

    async def _ending(self) -> list[dict[str, Any]]:
        """What a limit that killed the run says, and the `exit` message; nothing if it returned."""
        if self._got_result and not self._over_output:
            return []
        status = await self._exited
        limit = self._limit_message(status)
        ending = [] if limit is None else [protocol.log("ERROR", "browserfn", limit)]
        if limit is not None and not self._got_result:
            ending.append(protocol.result_error(limit))
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        return [*ending, protocol.exited(code, os.WTERMSIG(status) if os.WIFSIGNALED(status) else None)]

    async def _read_events(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        try:
            while line := await self._events.readline():
                if self._count(len(line)):
                    message = protocol.from_run(line)
                    if message["type"] == "result":
                        if self._got_result:
                            continue  # a forked copy of the script also ended: the first result counts
                        self._got_result = True
                    queue.put_nowait(message)
        except ValueError:  # a line over the stream's limit: over the output limit too
            self._count(MAX_MESSAGE_BYTES + 1)
        finally:
            queue.put_nowait(None)

    async def _read_output(self, queue: asyncio.Queue[dict[str, Any] | None], output: _LineSplitter) -> None:
        """Raw writes to fd 1/2 (subprocesses, C code), as log lines."""
        try:
            while data := await self._output.read(65536):
                if self._count(len(data)):
                    for text in output.feed(data):
                        queue.put_nowait(protocol.log("INFO", "output", text))
        finally:
            queue.put_nowait(None)

    async def _give_up_after_exit(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        """Once the process has exited, its pipes close as soon as its leftovers are dead; if
        something we could not kill holds them, stop reading after a while rather than hang."""
        await asyncio.shield(self._exited)
        await asyncio.sleep(DRAIN_AFTER_EXIT_S)
        queue.put_nowait({"type": "gave up"})

    def _count(self, size: int) -> bool:
        """Count output against the run's limit; False once over it (and the run is killed)."""
        self._output_bytes += size
        if self._output_bytes <= self._limits["output_bytes"]:
            return True
        if not self._over_output:
            self._over_output = True
            asyncio.get_running_loop().create_task(self.kill())
        return False

    def _limit_message(self, status: int) -> str | None:
        """Why the process died without a result, when a limit killed it."""
        limits = self._limits
        mib = {name: value // 2**20 for name, value in limits.items()}
        killed_by = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        if self.cgroup is not None and isolation.MemoryCgroup.at(self.cgroup).oom_kills():
            return f"MemoryError: the run exceeded its memory limit of {mib['memory_bytes']} MiB and was killed"
        if self._over_output:
            return f"the run printed more than {mib['output_bytes']} MiB of output and was killed"
        if killed_by == signal.SIGXCPU:
            return f"the run used its CPU time limit of {limits['cpu_s']} s and was killed"
        if killed_by == signal.SIGXFSZ:
            return f"the run wrote a file over the file size limit of {mib['file_bytes']} MiB and was killed"
        return None

    async def kill(self) -> None:
        """Kill the run's process and everything below it. Its exit is reported once all is dead."""
        if not self._exited.done():
            if self._killing is None or self._killing.done():
                self._killing = asyncio.ensure_future(asyncio.to_thread(self._kill_tree))
            await asyncio.shield(self._killing)

    def _kill_tree(self) -> None:
        proctree.kill_descendants(self.pid, 2.0, reap_children=False)
        with contextlib.suppress(OSError):
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)

    async def wait(self) -> None:
        """Wait for the exit, then remove the run's working directory and cgroup. (In cgroup v1
        the rmdir takes ~10 ms of waiting in the kernel: a thread waits, not the event loop.)"""
        await self._exited
        if self._killing is not None:  # its thread may still be signalling through the pidfd
            await self._killing
        os.close(self._pidfd)
        if self._job_fd is not None:  # it never got a job
            os.close(self._job_fd)
        await asyncio.to_thread(_remove, self.workdir if self._workdir_shared else "", self.cgroup)


class _LineSplitter:
    """Turns raw bytes from the run's fd 1/2 into log lines."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]

    def rest(self) -> list[str]:
        rest, self._buffer = self._buffer, b""
        return [rest.decode("utf-8", "replace")] if rest else []


def _write_what_fits(fd: int, data: bytes) -> bytes:
    """Write what the pipe takes now without waiting (all of a usual job: no thread to start,
    which cost more than the write); returns the rest."""
    os.set_blocking(fd, False)
    try:
        return _write(fd, data)
    finally:
        os.set_blocking(fd, True)


def _write(fd: int, data: bytes) -> bytes:
    """Write `data` to `fd`: all of it, or on a non-blocking fd what fits; returns the rest."""
    with contextlib.suppress(BlockingIOError):
        while data:
            data = data[os.write(fd, data) :]
    return data


def _hand_job(fd: int, data: bytes) -> None:
    """Write the rest of a large job to the run's job pipe, then close it (the process reads to
    the end). A plain blocking write in a thread, not an event-loop pipe transport: under uvloop, which
    uvicorn picks, a write-pipe transport closed its fd twice, and the second close hit whatever
    another thread had opened with that number in between (seen as EBADF in a workdir's rmtree,
    and failed runs)."""
    try:
        _write(fd, data)
    finally:
        os.close(fd)


def _remove(workdir: str, cgroup: str | None) -> None:
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    if cgroup is not None:
        isolation.MemoryCgroup.at(cgroup).remove()


def _pipe_reader(fd: int) -> asyncio.StreamReader:
    """A StreamReader fed from the pipe `fd` through the loop's add_reader; the fd is closed
    here, once, at its end. Not connect_read_pipe: under uvloop (which uvicorn picks) a pipe
    transport's fd was closed twice, by libuv and by the file object, and the second close hit
    whatever had been opened with that number in between."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_MESSAGE_BYTES)
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            reader.feed_data(data)
            return
        loop.remove_reader(fd)
        os.close(fd)
        reader.feed_eof()

    loop.add_reader(fd, readable)
    return reader


class ProcessPool:
    """Keeps `size` run processes forked, confined and waiting for their jobs, ahead of demand.
    They come from one warm fork server, started with the pool (and again if it dies)."""

    def __init__(self, size: int, warm_imports: tuple[str, ...]) -> None:
        self._size = size
        self._warm_imports = warm_imports
        self._ready: asyncio.Queue[RunProcess] = asyncio.Queue()
        self._refills: set[asyncio.Task[None]] = set()
        self._retiring: set[asyncio.Task[None]] = set()
        self._closed = False
        self._forkserver: ForkServer | None = None
        self._forkserver_lock = asyncio.Lock()
        self._warming: asyncio.Task[None] | None = None

    def start(self) -> None:
        isolation.sweep_stale_cgroups()
        if isolation.can_drop_privileges():  # a server killed outright left its API ports open to runs
            firewall.prune_api_ports()
        self._warming = asyncio.create_task(self._warm())

    async def _warm(self) -> None:
        await self._running_forkserver()
        self._top_up()

    async def _running_forkserver(self) -> ForkServer:
        """The fork server, started first if it is not running (at start-up, or if it died). Known
        to the pool from the moment its process is asked for, so that `close` ends one still
        starting too; none is started once the pool is closed."""
        async with self._forkserver_lock:
            if self._closed:
                raise RuntimeError("the process pool is closed (the server is shutting down)")
            if self._forkserver is None or not self._forkserver.alive:
                if self._forkserver is not None:
                    await self._forkserver.close()
                self._forkserver = ForkServer(self._warm_imports)
                await self._forkserver.start()
            return self._forkserver

    def _top_up(self) -> None:
        while not self._closed and self._ready.qsize() + len(self._refills) < self._size:
            task = asyncio.create_task(self._add_one())
            self._refills.add(task)
            task.add_done_callback(self._refills.discard)

    async def _add_one(self) -> None:
        process = await self._launch()
        if self._closed:
            self.retire(process, kill=True)
        else:
            self._ready.put_nowait(process)

    async def _launch(self) -> RunProcess:
        return await (await self._running_forkserver()).fork()

    async def acquire(self) -> RunProcess:
        """A ready process if there is one, else a new one at once."""
        try:
            process = self._ready.get_nowait()
        except asyncio.QueueEmpty:
            process = None
        self._top_up()
        return process if process is not None else await self._launch()

    def retire(self, process: RunProcess, kill: bool = False) -> None:
        """Wait for a used process to exit and clean up after it, in the background (its run has
        ended: its exit was reported once the run's tree was dead); `kill` it first if asked."""

        async def retire() -> None:
            if kill:
                await process.kill()
            await process.wait()

        task = asyncio.create_task(retire())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        """Kill every process of the pool and the fork server (one still starting too). Waits for
        the tasks that were starting them, so no process is left behind for anyone to reap."""
        self._closed = True
        starting = [*self._refills, *([self._warming] if self._warming else [])]
        for task in starting:
            task.cancel()
        if self._forkserver is not None:  # kills its run processes; one still starting ends its start
            await self._forkserver.close()
        await asyncio.gather(*starting, return_exceptions=True)
        while not self._ready.empty():
            self.retire(self._ready.get_nowait(), kill=True)
        if self._retiring:
            await asyncio.wait(self._retiring)
        if self._forkserver is not None:
            await self._forkserver.close()
        close_api_ports()


def close_api_ports() -> None:
    """This server no longer serves runs: its API ports are ordinary local ports again, closed to
    runs (left open, a port another program takes later would be reachable from every run)."""
    if _FIREWALLED_PORTS:
        firewall.release_api_ports()
        _FIREWALLED_PORTS.clear()


class ForkServer:
    """Client of sandbox/forkserver.py: one warm process that forks run processes on request and
    reports their exits."""

    def __init__(self, warm_imports: tuple[str, ...]) -> None:
        self._warm_imports = warm_imports
        self._socket: socket.socket | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._buffer = b""
        self._forks: collections.deque[asyncio.Future[int]] = collections.deque()
        self._exits: dict[int, asyncio.Future[int]] = {}

    @property
    def alive(self) -> bool:
        return self._socket is not None and self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        """Start the process and wait until it is ready. Cancelled or failed, the process is killed
        (not left importing for nobody); `close` meanwhile makes the start fail."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        ours.setblocking(False)
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
        try:
            # On the loop, not in a thread: a cancelled wait must not leave a thread blocked in recv.
            ready = await asyncio.get_running_loop().sock_recv(ours, 1)
            if ready != b"R":
                raise RuntimeError("the fork server failed to start")
        except BaseException:
            ours.close()
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            raise
        asyncio.get_running_loop().add_reader(ours, self._on_readable)
        self._socket = ours

    def _on_readable(self) -> None:
        assert self._socket is not None
        try:
            data = self._socket.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._gone()
            return
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            kind, *numbers = line.split()
            if kind == b"P":
                forked = self._forks.popleft()
                if not forked.done():  # (a cancelled request: its process ends on its closed job pipe)
                    forked.set_result(int(numbers[0]))
            elif kind == b"E":
                self._exit_of(int(numbers[0])).set_result(int(numbers[1]))
                del self._exits[int(numbers[0])]

    def _exit_of(self, pid: int) -> asyncio.Future[int]:
        if pid not in self._exits:
            self._exits[pid] = asyncio.get_running_loop().create_future()
        return self._exits[pid]

    def _gone(self) -> None:
        """The fork server died (or we closed it): its run processes died with it (they get
        SIGKILL when it dies), and no fork can be answered any more."""
        if self._socket is not None:
            asyncio.get_running_loop().remove_reader(self._socket)
            self._socket.close()
            self._socket = None
        while self._forks:
            self._forks.popleft().set_exception(RuntimeError("the fork server is gone"))
        for exited in self._exits.values():
            exited.set_result(signal.SIGKILL)  # a wait status: killed by SIGKILL
        self._exits.clear()

    async def fork(self) -> RunProcess:
        """A new run process, confined and ready for its job."""
        if self._socket is None:
            raise RuntimeError("the fork server is gone")
        job_r, job_w = os.pipe()
        events_r, events_w = os.pipe()
        output_r, output_w = os.pipe()
        forked: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        try:
            socket.send_fds(self._socket, [b"F"], [job_r, events_w, output_w])
            self._forks.append(forked)
            pid = await forked
            if pid == 0:
                raise RuntimeError("the fork server refused the request")
            try:
                pidfd = os.pidfd_open(pid)
            except ProcessLookupError:
                raise RuntimeError("the run process died as it started") from None
        except BaseException:
            for fd in (job_w, events_r, output_r):
                os.close(fd)
            raise
        finally:
            for fd in (job_r, events_w, output_w):
                os.close(fd)
        return await RunProcess.connect(pid, pidfd, job_w, events_r, output_r, self._exit_of(pid))

    async def close(self) -> None:
        """Close our end: the fork server kills every run's tree and exits. One still starting
        (importing, not listening yet) is killed: it has no run."""
        starting = self._socket is None
        self._gone()
        if self._process is not None and starting and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
        if self._process is not None:
            try:
                await asyncio.wait_for(self._process.wait(), 5)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
