"""One run's supervisor: `python -m browserfn.sandbox.supervisor`.

It warms up (imports what functions use), says `ready`, reads its job (one JSON line) from stdin,
forks the child that runs the script, and forwards the child's events to stdout. It is a child
subreaper, so every process the script starts stays its descendant even after leaving the
process group or session. When the child ends, when stdin says `stop`, or when stdin closes
(the server died), it kills every descendant, reports `exit`, and exits itself.

Imports: stdlib and browserfn.sandbox only.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import selectors
import signal
import sys
from typing import Any

from browserfn.sandbox import isolation, proctree, protocol

WAIT_TICK_S = 0.05
_RESULT_PREFIX = b'{"type": "result"'


def _write_raw(data: bytes) -> None:
    while data:
        data = data[os.write(1, data) :]


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


def _confine(job: dict[str, Any], cgroup: isolation.MemoryCgroup | None) -> None:
    """Give the job its uid, working directory and memory limit."""
    options: dict[str, Any] = job.setdefault("isolation", {})
    limits: dict[str, int] = options.setdefault("limits", dict(isolation.DEFAULT_LIMITS))
    if isolation.can_drop_privileges():
        options["uid"] = isolation.run_uid(os.getpid())
        isolation.prepare_workdir(str(job["cwd"]), options["uid"])
    options["memory_by_cgroup"] = False
    if cgroup is not None:
        with contextlib.suppress(OSError):
            cgroup.set_limit(limits["memory_bytes"])
            options["memory_by_cgroup"] = True


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


def supervise(job: dict[str, Any], cgroup: isolation.MemoryCgroup | None = None) -> int:
    _confine(job, cgroup)
    limits: dict[str, int] = job["isolation"]["limits"]
    events_r, events_w = os.pipe()
    output_r, output_w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        os.close(events_r)
        os.close(output_r)
        from browserfn.sandbox import child as child_module

        child_module.main(job, events_w, output_w)
        os._exit(70)
    os.close(events_w)
    os.close(output_w)

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


def warm_up() -> None:
    """Import what functions use (BROWSERFN_WARM_IMPORTS); free when already imported."""
    _warm([m for m in os.environ.get("BROWSERFN_WARM_IMPORTS", "").split(",") if m])


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on a dev server is the server's business
    warm_up()
    proctree.become_subreaper()
    cgroup = _memory_cgroup()
    _write(protocol.ready(str(cgroup.path) if cgroup else None))
    line = sys.stdin.buffer.readline()
    if not line:
        return 0  # the pool was shut down before this process was used
    return supervise(json.loads(line), cgroup)


if __name__ == "__main__":
    sys.exit(main())
