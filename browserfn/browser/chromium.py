"""One Chromium process per session: launch it with the flags this closed network needs, find its
DevTools endpoint, kill it with every process it started, and clean up what a killed server left.

Every Chromium carries `BROWSERFN_DATA_DIR=<data dir>` and `BROWSERFN_BROWSER_OWNER=<server pid>` in
its environment (inherited by its zygote and renderers), keeps its profile under
`browsers/<server pid>/`, dies with the server thread that launched it (PR_SET_PDEATHSIG), and runs
in a process group of its own. At start-up a server kills what servers that are gone left; several
live servers may share a data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from browserfn.sandbox import firewall, isolation, proctree

MARKER_ENV = "BROWSERFN_DATA_DIR"
OWNER_ENV = "BROWSERFN_BROWSER_OWNER"
#: A browser's TMPDIR, in the shared temp dir: this prefix, then its profile's name.
TEMP_DIR_PREFIX = "browserfn-chromium-"
#: A browser's TMPDIR that no process uses is swept once it is this old (see sweep_orphaned_temp_dirs).
ORPHAN_TEMP_DIR_AGE_S = 60.0
#: Chromium's stderr, in its profile directory; it says where DevTools listens.
STDERR_FILE = "stderr.log"
_DEVTOOLS_LINE = "DevTools listening on "
#: Flags for headless Chromium as root on a network that reaches nothing outside.
DEFAULT_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--metrics-recording-only",
    "--mute-audio",
    # A page restored from the back-forward cache fires no load event: history actions would hang.
    # The omnibox popups are browser UI, never shown headless, yet each launch loaded them in a
    # renderer of their own (a fifth of the time to a usable browser).
    "--disable-features=BackForwardCache,WebUIOmniboxPopup,WebUIOmniboxAimPopup",
    "--password-store=basic",
    "--use-mock-keychain",
)


def session_flags(options: Mapping[str, Any]) -> tuple[str, ...]:
    """Flags a session's start options need at launch. `--user-agent` is the one way Chromium
    sends a user agent from every page, including those a CDP client opens, and from workers."""
    user_agent = options.get("user_agent")
    return (f"--user-agent={user_agent}",) if user_agent else ()


class ChromiumProcess:
    """A running Chromium with its own profile directory and DevTools WebSocket."""

    def __init__(self, process: asyncio.subprocess.Process, profile_dir: Path, port: int, ws_url: str) -> None:
        self.process = process
        self.profile_dir = profile_dir
        #: Its DevTools port on 127.0.0.1, which only the server's uid may reach (firewall.py).
        self.port = port
        #: The browser-level CDP endpoint, on loopback; only the server connects to it.
        self.ws_url = ws_url
        self.browser_id = profile_dir.name
        self.idle = False  #: launched at SCHED_IDLE, in the background (see `foreground`)

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def launch(
        cls,
        executable: str,
        browsers_dir: Path,
        timeout_s: float,
        extra_flags: tuple[str, ...] = (),
        background: Callable[[], bool] = lambda: False,
        spawned_idle: Callable[[ChromiumProcess], None] = lambda _: None,
    ) -> ChromiumProcess:
        """Start Chromium and wait until its DevTools endpoint is up. Its port is chosen and
        guarded first, so it is never open to other local users, not even for a moment.
        `background()`, asked right before the start: whether nobody waits for this launch, which
        then runs at the lowest CPU priority (see `foreground`); `spawned_idle` is told of such a
        process as soon as it exists, before it is up."""
        profile_dir = browsers_dir / uuid.uuid4().hex[:16]
        profile_dir.mkdir(parents=True)
        _temp_dir_of(profile_dir).mkdir(mode=0o700)
        port = free_port()
        await asyncio.to_thread(firewall.guard_devtools_port, port)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(profile_dir),
            # Not the profile: Chromium's singleton socket path must stay under 108 bytes.
            "TMPDIR": str(_temp_dir_of(profile_dir)),
            MARKER_ENV: str(browsers_dir.parent.parent.resolve()),
            OWNER_ENV: browsers_dir.name,
        }
        # setpriv (util-linux) sets the parent-death signal, then execs Chromium in its place.
        setpriv = shutil.which("setpriv")
        log_path = profile_dir / STDERR_FILE
        idle = _background_prefix(background())
        with open(log_path, "wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *idle,
                *((setpriv, "--pdeathsig", "KILL", "--") if setpriv else ()),
                executable,
                *DEFAULT_FLAGS,
                "--remote-debugging-address=127.0.0.1",
                f"--remote-debugging-port={port}",
                *extra_flags,
                f"--user-data-dir={profile_dir}",
                "about:blank",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
                env=env,
                start_new_session=True,
                # Without setpriv, the same in the child before exec. (A `preexec_fn` makes Python fork
                # the whole server, ~15 ms on the event loop.)
                preexec_fn=None if setpriv else isolation.die_with_parent,
            )
        (profile_dir / "pid").write_text(str(process.pid))
        (profile_dir / "port").write_text(str(port))  # for kill_owned, should this server be killed
        launched = cls(process, profile_dir, port, "")
        if idle:
            launched.idle = True
            spawned_idle(launched)
        try:
            launched.ws_url = await _devtools_url(log_path, process, timeout_s)
        except BaseException:
            await launched.kill()
            raise
        return launched

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def foreground(self) -> None:
        """Back to the normal scheduling policy, for every thread of every process of a browser
        launched in the background: it takes a session, its work is the session's now. Twice
        over: a thread started meanwhile by one not yet changed would be left idle. Nothing to do
        for a browser launched at the normal policy."""
        if not self.idle:
            return
        normal = os.sched_param(0)
        for _ in range(2):
            for pid in [self.pid, *proctree.descendants(self.pid)]:
                with contextlib.suppress(OSError):
                    for thread in os.listdir(f"/proc/{pid}/task"):
                        with contextlib.suppress(OSError):
                            os.sched_setscheduler(int(thread), os.SCHED_OTHER, normal)  # Linux: one thread

    async def kill(self) -> None:
        """Kill the browser and every process it started, reap it, and delete its profile."""
        # In a thread: it waits for the tree to die, which would hold up every other request.
        await asyncio.to_thread(kill_tree, self.process.pid)
        with contextlib.suppress(ProcessLookupError):
            await asyncio.wait_for(self.process.wait(), 5.0)
        await asyncio.to_thread(firewall.release_devtools_port, self.port)
        # The profile goes in the background: nothing runs in it any more.
        threading.Thread(target=_remove_profile, args=(self.profile_dir,), daemon=True).start()


def _temp_dir_of(profile_dir: Path) -> Path:
    """A browser's own temporary directory (its TMPDIR), short enough for Chromium's singleton
    socket path, and removed with its profile: a killed Chromium leaves its socket directory
    behind (in the shared /tmp, one per launch, for ever)."""
    return Path(tempfile.gettempdir()) / f"{TEMP_DIR_PREFIX}{profile_dir.name}"


def _remove_profile(profile_dir: Path) -> None:
    """The temporary directory first: while the profile is there, `kill_owned` finds both (a
    server that stops may end the thread doing this half-way)."""
    shutil.rmtree(_temp_dir_of(profile_dir), ignore_errors=True)
    shutil.rmtree(profile_dir, ignore_errors=True)


def _background_prefix(background: bool) -> tuple[str, ...]:
    """For a launch ahead of demand, `chrt --idle` (util-linux) before the command, where the
    policy can be changed back later (that takes root). SCHED_IDLE threads run only on CPU that
    nothing else wants: a launch (~0.5 s of CPU) beside a session's page load slowed it by half.
    (Not `nice`: Chromium sets its threads' nice values itself.)"""
    chrt = shutil.which("chrt")
    if not background or chrt is None or os.geteuid() != 0:
        return ()
    return (chrt, "--idle", "0")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that no one listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _devtools_url(log_path: Path, process: asyncio.subprocess.Process, timeout_s: float) -> str:
    """The browser's DevTools WebSocket URL, from the line Chromium writes to its stderr (here a
    file in its profile) once it listens. Reading a small file every few milliseconds costs next
    to nothing; asking `/json/version` over HTTP until it answered cost ~100 ms of the server's
    CPU per launch (a client, its TLS context, a connection per try)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            for line in log_path.read_text(errors="replace").splitlines():
                if line.startswith(_DEVTOOLS_LINE):
                    return line.removeprefix(_DEVTOOLS_LINE).strip()
        if process.returncode is not None:
            raise RuntimeError(f"Chromium exited with code {process.returncode} at launch")
        await asyncio.sleep(0.005)
    raise TimeoutError(f"Chromium did not open its DevTools endpoint within {timeout_s:g} s")


def kill_tree(pid: int) -> None:
    """SIGKILL a browser's descendants (even ones that left its group), then its whole group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGSTOP)  # freeze it so it forks no more while we collect
    proctree.kill_descendants(pid, deadline_s=2.0, reap_children=False)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _living_environs() -> Iterator[tuple[int, list[bytes]]]:
    """(pid, environment entries) of every living (not zombie) process this one may read."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue  # exited meanwhile
        if state != b"Z":
            yield int(pid), environ


def processes_with_env(entry: str) -> list[int]:
    """Pids of living (not zombie) processes whose environment holds `NAME=value`."""
    needle = entry.encode()
    return [pid for pid, environ in _living_environs() if needle in environ]


def sweep_orphaned_temp_dirs(min_age_s: float = ORPHAN_TEMP_DIR_AGE_S) -> int:
    """Remove browsers' temporary directories (their TMPDIRs, in the shared temp dir) that no
    living process has as its TMPDIR: left by the browsers of a server that was SIGKILLed, when
    no server opens its data dir again (`kill_leftovers` covers those that do). Only directories
    older than `min_age_s`: a server makes one just before it starts that Chromium. Returns how
    many were removed."""
    in_use = {
        entry.removeprefix(b"TMPDIR=").decode(errors="replace")
        for _, environ in _living_environs()
        for entry in environ
        if entry.startswith(b"TMPDIR=")
    }
    cutoff = time.time() - min_age_s
    removed = 0
    for path in Path(tempfile.gettempdir()).glob(f"{TEMP_DIR_PREFIX}*"):
        with contextlib.suppress(OSError):
            if str(path) not in in_use and path.lstat().st_mtime < cutoff:
                shutil.rmtree(path)
                removed += 1
    return removed


def processes_marked(data_dir: Path) -> list[int]:
    """Pids of every process whose environment says it is a browser of this data dir."""
    return processes_with_env(f"{MARKER_ENV}={data_dir.resolve()}")


def browsers_of(root: Path, owner_pid: int) -> Path:
    """Where the server with this pid keeps its browsers' profiles."""
    return root / str(owner_pid)


def kill_owned(root: Path, owner_pid: int) -> int:
    """Kill the browsers one server launched and delete their profiles; how many were killed."""
    marker = f"{MARKER_ENV}={root.parent.resolve()}".encode()
    pids = [pid for pid in processes_with_env(f"{OWNER_ENV}={owner_pid}") if marker in _environ(pid)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    profiles = browsers_of(root, owner_pid)
    for port_file in profiles.glob("*/port"):
        with contextlib.suppress(OSError, ValueError):
            firewall.release_devtools_port(int(port_file.read_text()))
    for profile in profiles.glob("*"):
        _remove_profile(profile)
    shutil.rmtree(profiles, ignore_errors=True)
    return len(pids)


def kill_leftovers(root: Path) -> int:
    """Kill the browsers that servers no longer alive left under `root` (they were killed)."""
    killed = 0
    for entry in root.iterdir() if root.is_dir() else ():
        if entry.name.isdigit() and not _alive(int(entry.name)):
            killed += kill_owned(root, int(entry.name))
    return killed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _environ(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []
