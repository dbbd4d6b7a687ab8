"""One run's supervisor: `python -m browserfn.sandbox.supervisor`.

It warms up (imports what functions use), forks the child that will run the script (which
confines itself and waits), says `ready`, reads its job (one JSON line) from stdin, hands it to
the child, and forwards the child's events to stdout. It is a child
subreaper, so every process the script starts stays its descendant even after leaving the
process group or session. When the child ends, when stdin says `stop`, or when stdin closes
(the server died), it kills every descendant, reports `exit`, and exits itself.

Imports: stdlib and browserfn.sandbox only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import json
import os
import selectors
import signal
import sys
import tempfile
from typing import Any

from browserfn.sandbox import isolation, proctree, protocol

WAIT_TICK_S = 0.05
_RESULT_PREFIX = b'{"type": "result"'


def _write_to(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _write_raw(data: bytes) -> None:
    _write_to(1, data)


def _write(message: dict[str, object]) -> None:
    _write_raw(protocol.encode(message))


def _warm(modules: list[str]) -> None:
    for name in modules:
        with contextlib.suppress(Exception):  # a missing optional module only costs warmth
            importlib.import_module(name)


class _LineSplitter:
    """Turns raw bytes from the child's fd 1/2 (subprocesses, C code) into log lines."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines]

    def rest(self) -> list[str]:
        rest, self._buffer = self._buffer, b""
        return [rest.decode("utf-8", "replace")] if rest else []


def _memory_cgroup() -> isolation.MemoryCgroup | None:
    """The run's memory cgroup, made and joined while warming (joining is the slow part): the
    supervisor is in it too, shielded from the OOM killer, so the script's tree is what gets killed."""
    cgroup = isolation.MemoryCgroup.create(f"browserfn-run-{os.getpid()}", isolation.DEFAULT_LIMITS["memory_bytes"])
    if cgroup is not None:
        try:
            isolation.join_cgroup(str(cgroup.path), os.getpid())
        except OSError:
            cgroup.remove()
            return None
        isolation.set_oom_score_adj(-1000)
    return cgroup


def _run_uid() -> int | None:
    """The uid the run gets (one per supervisor); None when not root."""
    return isolation.run_uid(os.getpid()) if isolation.can_drop_privileges() else None


def _workdir(uid: int | None) -> str:
    """The run's private working directory (its HOME and TMPDIR), owned by the run's uid."""
    path = tempfile.mkdtemp(prefix="browserfn-run-")
    if uid is not None:
        isolation.prepare_workdir(path, uid)
    return path


def _confine(job: dict[str, Any], cgroup: isolation.MemoryCgroup | None) -> None:
    """Give the cgroup the job's memory limit, and tell the child whether it holds."""
    options: dict[str, Any] = job.setdefault("isolation", {})
    limits: dict[str, int] = options.setdefault("limits", dict(isolation.DEFAULT_LIMITS))
    options["memory_by_cgroup"] = False
    if cgroup is not None:
        with contextlib.suppress(OSError):
            cgroup.set_limit(limits["memory_bytes"])
            options["memory_by_cgroup"] = True


@dataclasses.dataclass(frozen=True)
class _Child:
    """The child forked ahead of its job, and our ends of its pipes."""

    pid: int
    job_w: int
    events_r: int
    output_r: int

    @classmethod
    def fork(cls, uid: int | None, workdir: str) -> _Child:
        job_r, job_w = os.pipe()
        events_r, events_w = os.pipe()
        output_r, output_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the forked child
            for fd in (job_w, events_r, output_r):
                os.close(fd)
            from browserfn.sandbox import child as child_module

            child_module.main(job_r, events_w, output_w, uid, workdir)
            os._exit(70)
        for fd in (job_r, events_w, output_w):
            os.close(fd)
        return cls(pid, job_w, events_r, output_r)

    def give(self, job: dict[str, Any]) -> None:
        """Hand the job over (the child reads it to the end) and close the pipe."""
        with contextlib.suppress(BrokenPipeError):  # it died confining itself: its result says why
            _write_to(self.job_w, json.dumps(job).encode())
        os.close(self.job_w)


def _limit_message(status: int, oom_kills: int, over_output: bool, limits: dict[str, int]) -> str | None:
    """Why the child died without a result, when a limit killed it."""
    if oom_kills:
        return f"MemoryError: the run exceeded its memory limit of {limits['memory_bytes'] // 2**20} MiB and was killed"
    if over_output:
        return f"the run printed more than {limits['output_bytes'] // 2**20} MiB of output and was killed"
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        return f"the run used its CPU time limit of {limits['cpu_s']} s and was killed"
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXFSZ:
        return f"the run wrote a file over the file size limit of {limits['file_bytes'] // 2**20} MiB and was killed"
    return None


def supervise(job: dict[str, Any], forked: _Child, cgroup: isolation.MemoryCgroup | None = None) -> int:
    _confine(job, cgroup)
    limits: dict[str, int] = job["isolation"]["limits"]
    forked.give(job)
    child, events_r, output_r = forked.pid, forked.events_r, forked.output_r

    selector = selectors.DefaultSelector()
    selector.register(events_r, selectors.EVENT_READ, "events")
    selector.register(output_r, selectors.EVENT_READ, "output")
    selector.register(0, selectors.EVENT_READ, "control")
    # The child's exit wakes the loop at once (a pidfd turns readable), instead of on a tick.
    child_exited = os.pidfd_open(child)
    selector.register(child_exited, selectors.EVENT_READ, "exit")
    pending_events = b""
    output = _LineSplitter()
    status: int | None = None
    got_result = False
    output_bytes = 0
    over_output = False

    def pump(key: selectors.SelectorKey) -> None:
        nonlocal pending_events, got_result, output_bytes, over_output
        data = os.read(key.fd, 65536)
        if not data:
            selector.unregister(key.fd)
            return
        output_bytes += len(data)
        if output_bytes > limits["output_bytes"]:
            if not over_output:  # a flood: stop reading it, and end the run
                over_output = True
                proctree.kill_descendants(os.getpid(), reap_children=False)  # the loop below reaps
            return
        if key.data == "events":
            pending_events += data
            *complete, pending_events = pending_events.split(b"\n")
            for message in complete:
                if message.startswith(_RESULT_PREFIX):
                    if got_result:
                        continue  # a forked copy of the script also ended: the first result counts
                    got_result = True
                _write_raw(message + b"\n")
        else:
            for text in output.feed(data):
                _write(protocol.log("INFO", "output", text))

    while status is None:
        for key, _ in selector.select(WAIT_TICK_S):
            if key.data == "control":
                if not os.read(0, 4096):  # stop asked, or the server is gone
                    selector.unregister(0)
                    proctree.kill_descendants(os.getpid(), reap_children=False)
            elif key.data == "exit":
                selector.unregister(child_exited)
                os.close(child_exited)
            else:
                pump(key)
        try:
            done, raw = os.waitpid(child, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: it was killed
            done, raw = child, signal.SIGKILL
        if done:
            status = raw

    # The child is gone: whatever it left running (a browser it forgot) goes too, then drain.
    proctree.kill_descendants(os.getpid())
    for fd in (0, child_exited):
        if fd in selector.get_map():
            selector.unregister(fd)
            if fd == child_exited:
                os.close(fd)
    while selector.get_map():
        for key, _ in selector.select(WAIT_TICK_S):
            pump(key)
    for line in output.rest():
        _write(protocol.log("INFO", "output", line))
    oom_kills = cgroup.oom_kills() if cgroup else 0  # the server removes the cgroup once we exit
    limit = _limit_message(status, oom_kills, over_output, limits)
    if limit is not None and (not got_result or over_output):
        _write(protocol.log("ERROR", "browserfn", limit))
        if not got_result:
            _write(protocol.result_error(limit))
    _write(
        protocol.exited(
            os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        )
    )
    return 0


#: Always imported ahead: what the child itself needs to run a script, restricted or not.
_SANDBOX_MODULES = ["browserfn.sandbox.child", "browserfn.sandbox.policy"]


def warm_up() -> None:
    """Import what functions use (BROWSERFN_WARM_IMPORTS) and what the child needs; free when
    already imported. What they made is then frozen out of the garbage collector, so forked
    processes do not copy the pages a collection would touch."""
    _warm([m for m in os.environ.get("BROWSERFN_WARM_IMPORTS", "").split(",") if m] + _SANDBOX_MODULES)
    _skip_sdk_version_check()
    gc.freeze()


def _skip_sdk_version_check() -> None:
    """notte_sdk asks PyPI for its latest version once per process, blocking, in the first
    NotteClient(). A run is a fork of this warm process, so that once is now: runs cannot
    reach PyPI anyway, and the failed lookup cost every run 80-300 ms."""
    base = sys.modules.get("notte_sdk.endpoints.base")
    if base is not None and hasattr(base, "_version_check_performed"):
        setattr(base, "_version_check_performed", True)  # noqa: B010 - a module global, by name


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on a dev server is the server's business
    warm_up()
    proctree.become_subreaper()
    cgroup = _memory_cgroup()
    uid = _run_uid()
    workdir = _workdir(uid)
    forked = _Child.fork(uid, workdir)
    _write(protocol.ready(workdir, str(cgroup.path) if cgroup else None))
    line = sys.stdin.buffer.readline()
    if not line:  # the pool was shut down before this process was used
        proctree.kill_descendants(os.getpid())
        return 0
    return supervise(json.loads(line), forked, cgroup)


if __name__ == "__main__":
    sys.exit(main())
