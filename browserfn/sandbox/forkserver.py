"""The fork server: `python -m browserfn.sandbox.forkserver FD`.

It imports once what functions use (notte_sdk alone costs ~2 s), then forks each run's process
on request, in a few milliseconds: every run still gets a new process that dies after it, but
none pays for interpreter start-up or imports. The forked process confines itself and waits for
its job (child.py); the server talks to it through the three pipes it passed along.

The fork server is the child subreaper above every run: a run's leftovers (what its process
started and did not wait for) are re-parented here when that process exits, and it kills them
before saying the run's process has exited. So an exit report means the run's tree is dead.

Protocol on the Unix socket FD, shared with the server, one ASCII line per message:
- it sends `R` (no newline) once warm;
- each request is one byte with three file descriptors attached (the run's job pipe to read,
  its events pipe and its output pipe to write); it answers `P <pid>`, or `P 0` if refused;
- when a run's process has exited and its leftovers are dead: `E <pid> <wait status>`.
When the server closes the socket (it stopped or died), it kills every run's tree and exits.

Imports: stdlib and browserfn.sandbox only.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import selectors
import signal
import socket
import sys
import time
from typing import Any

from browserfn.sandbox import child, hugepages, isolation, proctree

REQUEST_FDS = 3
#: How long leftovers may take to die before the exit is reported anyway.
KILL_DEADLINE_S = 2.0

#: Always imported ahead: what a run's process needs to run a restricted script.
_SANDBOX_MODULES = ["browserfn.sandbox.policy"]


def warm_up() -> None:
    """Import what functions use (BROWSERFN_WARM_IMPORTS) and what the child needs (free when
    already imported), and install the runs' log capture. What they made is then frozen out of
    the garbage collector, so forked processes do not copy the pages a collection would touch,
    and the heap is moved to huge pages, which make each fork and exit cheaper (hugepages.py)."""
    for name in [m for m in os.environ.get("BROWSERFN_WARM_IMPORTS", "").split(",") if m] + _SANDBOX_MODULES:
        with contextlib.suppress(Exception):  # a missing optional module only costs warmth
            importlib.import_module(name)
    _skip_sdk_version_check()
    _share_sdk_tls_context()
    isolation.warm_up()
    child.install_capture()
    child.prepare_rehearsal()
    gc.freeze()
    hugepages.collapse_heap()


def _skip_sdk_version_check() -> None:
    """notte_sdk asks PyPI for its latest version once per process, blocking, in the first
    NotteClient(). A run is a fork of this warm process, so that once is now: runs cannot
    reach PyPI anyway, and the failed lookup cost every run 80-300 ms."""
    base = sys.modules.get("notte_sdk.endpoints.base")
    if base is not None and hasattr(base, "_version_check_performed"):
        setattr(base, "_version_check_performed", True)  # noqa: B010 - a module global, by name


def _share_sdk_tls_context() -> None:
    """notte_sdk builds a TLS context for each client it opens (a run's first session), parsing
    certifi's CA bundle: ~50 ms of every such run, even against a plain-HTTP server. Build the
    default one once, here; a run whose environment names a CA bundle of its own
    (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE: read when the client is made) still gets that one."""
    transport = sys.modules.get("notte_sdk._transport")
    build = getattr(transport, "_ssl_context", None)
    if transport is None or build is None:
        return
    default = build()

    def shared() -> Any:
        if os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"):
            return build()
        return default

    setattr(transport, "_ssl_context", shared)  # noqa: B010 - a module global, by name


class _Runs:
    """The run processes forked here, and what happens when they exit."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.living: set[int] = set()

    def fork(self, fds: list[int], own_fds: tuple[int, ...]) -> int:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the run's process
            try:
                self._sock.close()
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for fd in own_fds:
                    os.close(fd)
                child.main(*fds)
            finally:
                os._exit(70)
        self.living.add(pid)
        return pid

    def _reap(self) -> list[tuple[int, int]]:
        """Collect every exited child; the run processes among them, with their wait status."""
        exited: list[tuple[int, int]] = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return exited
            if pid == 0:
                return exited
            if pid in self.living:
                self.living.discard(pid)
                exited.append((pid, status))

    def kill_leftovers(self, keep: set[int]) -> list[tuple[int, int]]:
        """SIGKILL every child that is not in `keep` (leftovers of ended runs, re-parented here),
        then theirs as they are re-parented in turn, until none is left. Returns the run
        processes reaped meanwhile."""
        exited = self._reap()
        deadline = time.monotonic() + KILL_DEADLINE_S
        while (targets := proctree.children(os.getpid(), skip=keep)) and time.monotonic() < deadline:
            for pid in targets:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.002)
            exited += self._reap()
        return exited

    def report_exits(self) -> None:
        """Say which run processes have exited, once their leftovers are dead."""
        exited = self._reap()
        if not exited:
            return
        exited += self.kill_leftovers(keep=self.living)
        self._sock.sendall(b"".join(f"E {pid} {status}\n".encode() for pid, status in exited))


def serve(sock: socket.socket) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on a dev server is the server's business
    proctree.become_subreaper()
    wakeup_r, wakeup_w = os.pipe()
    os.set_blocking(wakeup_w, False)
    signal.set_wakeup_fd(wakeup_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector through the wakeup fd
    runs = _Runs(sock)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wakeup_r, selectors.EVENT_READ)
    sock.sendall(b"R")
    while True:
        for key, _ in selector.select():
            if key.fileobj == wakeup_r:
                os.read(wakeup_r, 4096)
                continue
            message, fds, _, _ = socket.recv_fds(sock, 1, REQUEST_FDS)
            if not message:  # the server is gone: so are its runs
                runs.kill_leftovers(keep=set())
                return
            pid = runs.fork(fds, (wakeup_r, wakeup_w)) if len(fds) == REQUEST_FDS else 0
            for fd in fds:
                os.close(fd)
            sock.sendall(f"P {pid}\n".encode())
        runs.report_exits()


def main() -> int:
    sock = socket.socket(fileno=int(sys.argv[1]))
    warm_up()
    serve(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
