"""OS isolation of one run, applied by the run's process (forked by the root fork server) to
itself before the user's code runs, and by the server around it. Stdlib only: the child imports it.

What a run gets (README "Isolation" has the whole picture and the fallbacks):
- its own uid, `RUN_UID_BASE + the run process's pid`: unique among living runs, so runs cannot signal,
  ptrace or read each other, RLIMIT_NPROC counts this run only, and the firewall (firewall.py)
  recognises run traffic by uid range. Only when the server runs as root; otherwise runs keep the
  server's uid (a development setup) and the server logs a warning.
- a mount namespace in which the temporary directory and /dev/shm (POSIX shared memory) are each a
  tmpfs of the run's own (other runs' files are not even visible, and the run's go with it), and
  directories the uid could not traverse anyway (root's home, where the interpreter may live) are
  replaced by an empty tmpfs with only what Python needs bound back;
- a private working directory (its HOME and TMPDIR) in that temporary directory, owned by that
  uid, mode 0700;
- resource limits: memory through a cgroup (v1 or v2, whichever is writable; RLIMIT_AS is not
  used: it breaks Chromium), falling back to RLIMIT_DATA; CPU seconds, processes, open files and
  file size through rlimits; no_new_privs, so setuid programs cannot raise privileges.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from browserfn.sandbox import proctree

#: Run uids are this plus the run process's pid (pid_max is at most 2**22).
RUN_UID_BASE = 2_000_000_000
RUN_UID_RANGE = 1 << 22
#: Limits of a run when the job names none (the server passes its settings; see process.py).
DEFAULT_LIMITS: dict[str, int] = {
    "memory_bytes": 2 * 2**30,
    "cpu_s": 3600,
    "processes": 512,
    "open_files": 4096,
    "file_bytes": 2**30,
    "output_bytes": 64 * 2**20,
}
_CLONE_NEWNS = 0x00020000
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18
_MS_BIND = 0x1000
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1
_CGROUP_ROOT = Path("/sys/fs/cgroup")
#: A run's memory cgroup and working directory are named this, its process's pid, "-" and a
#: random part (see _run_name).
RUN_NAME_PREFIX = "browserfn-run-"


def _run_name() -> str:
    """A name for this run process's cgroup or directory. The pid says whose it is (the sweep of
    stale cgroups reads it); the random part keeps it new, since a cgroup or directory outlives
    its process until the server removes it, and a new process may get the same pid meanwhile."""
    return f"{RUN_NAME_PREFIX}{os.getpid()}-{os.urandom(4).hex()}"


def run_uid(pid: int) -> int:
    return RUN_UID_BASE + pid


def can_drop_privileges() -> bool:
    return os.geteuid() == 0


def _libc() -> Any:
    return proctree.libc()


def warm_up() -> None:
    """Work out once, in the fork server, what every run's process would otherwise redo."""
    _libc()
    _mount_covers()
    _memory_parent()


# -- memory cgroup (created and joined by the run's process, limited and removed by the server) ---
def _own_cgroup(controller: str) -> tuple[Path, str] | None:
    """(directory of this process's cgroup for `controller`, "v1" | "v2") if one is writable."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controller in controllers.split(","):
                found = _CGROUP_ROOT / controller / path.lstrip("/")
                if os.access(found, os.W_OK):
                    return found, "v1"
            if controllers == "":
                for root in (_CGROUP_ROOT, _CGROUP_ROOT / "unified"):
                    found = root / path.lstrip("/")
                    if controller in _read(found / "cgroup.subtree_control").split() and os.access(found, os.W_OK):
                        return found, "v2"
    return None


@functools.cache
def _memory_parent() -> tuple[str, str] | None:
    """(this process's memory cgroup directory, "v1" | "v2") if it is writable. Worked out once:
    the fork server's is the parent of every run's."""
    found = _own_cgroup("memory")
    return (str(found[0]), found[1]) if found is not None else None


_V1_LIMIT_FILES = ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class MemoryCgroup:
    """One run's memory cgroup: limit, membership, OOM count, removal."""

    def __init__(self, path: Path, version: str) -> None:
        self.path = path
        self.version = version

    @classmethod
    def at(cls, path: str) -> MemoryCgroup:
        """The cgroup a run's process made, from its path."""
        return cls(Path(path), "v1" if Path(path).is_relative_to(_CGROUP_ROOT / "memory") else "v2")

    def set_limit(self, limit_bytes: int) -> None:
        if self.version == "v2":
            (self.path / "memory.max").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):
                (self.path / "memory.swap.max").write_text("0")
        else:
            # memsw (memory + swap) must stay >= the memory limit: order the writes accordingly.
            files = [self.path / name for name in _V1_LIMIT_FILES]
            current = int(_read(files[0]).strip() or 0)
            memsw = files[1]
            for file in files if limit_bytes <= current else reversed(files):
                with contextlib.suppress(OSError) if file == memsw else contextlib.nullcontext():
                    file.write_text(str(limit_bytes))

    def oom_kills(self) -> int:
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        for line in _read(self.path / name).splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def remove(self) -> None:
        """Kill what is still in the cgroup (nothing, once its run's tree is dead), then remove it."""
        deadline = time.monotonic() + 2.0
        while (members := _read(self.path / "cgroup.procs").split()) and time.monotonic() < deadline:
            for pid in members:
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)
            time.sleep(0.005)
        with contextlib.suppress(OSError):
            self.path.rmdir()


def sweep_stale_cgroups() -> int:
    """Remove the cgroups of run processes that died without their server removing them (a
    killed server). Returns how many were removed."""
    parent = _memory_parent()
    removed = 0
    if parent is None:
        return 0
    for path in Path(parent[0]).glob(f"{RUN_NAME_PREFIX}*"):
        pid = path.name.removeprefix(RUN_NAME_PREFIX).split("-")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            with contextlib.suppress(OSError):
                path.rmdir()
                removed += 1
    return removed


# -- the child's side -----------------------------------------------------------------------------
def join_new_memory_cgroup(limit_bytes: int) -> str | None:
    """Make a new memory cgroup under this process's, limited to `limit_bytes`, and move this
    process into it; its path, or None where no memory cgroup is writable (RLIMIT_DATA is used
    then). Plain os calls: every run's process does this, and touching less of the fork server's
    memory copies fewer pages."""
    parent = _memory_parent()
    if parent is None:
        return None
    directory, version = parent
    path = os.path.join(directory, _run_name())
    # A new cgroup has no limit: memory first, then memory + swap (which must stay >= memory).
    limit, swap = ("memory.max", "memory.swap.max") if version == "v2" else _V1_LIMIT_FILES
    try:
        os.mkdir(path)
        _write(os.path.join(path, limit), limit_bytes)
        with contextlib.suppress(OSError):  # no swap accounting on this machine
            _write(os.path.join(path, swap), 0 if version == "v2" else limit_bytes)
        _write(os.path.join(path, "cgroup.procs"), os.getpid())
    except OSError:
        with contextlib.suppress(OSError):
            os.rmdir(path)
        return None
    return path


def _write(path: str, value: int) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def set_limits(limits: dict[str, int], memory_by_cgroup: bool) -> None:
    """Apply rlimits (soft = hard, so the script cannot raise them back)."""

    def cap(kind: int, value: int) -> None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(kind, (value, value))

    cap(resource.RLIMIT_CPU, limits["cpu_s"])
    cap(resource.RLIMIT_NOFILE, limits["open_files"])
    cap(resource.RLIMIT_FSIZE, limits["file_bytes"])
    cap(resource.RLIMIT_CORE, 0)
    if not memory_by_cgroup:
        cap(resource.RLIMIT_DATA, limits["memory_bytes"])
    # Per real uid: the run has a uid of its own, so this counts the run's processes (and threads).
    cap(resource.RLIMIT_NPROC, limits["processes"])


def _needed_paths() -> list[str]:
    """What the run's Python must still reach: the interpreter, the venv, browserfn itself."""
    package_root = str(Path(__file__).resolve().parents[2])
    return sorted({sys.base_prefix, sys.prefix, package_root, os.path.dirname(os.path.realpath(sys.executable))})


def _closed_ancestor(path: str) -> str | None:
    """The topmost directory on `path` that others may not traverse."""
    current = "/"
    for part in Path(path).parts[1:]:
        current = os.path.join(current, part)
        with contextlib.suppress(OSError):
            if not os.stat(current).st_mode & 0o001:
                return current
    return None


@functools.cache
def _temp_dir() -> str:
    return os.path.realpath(tempfile.gettempdir())


#: Shared memory (shm_open, multiprocessing, Chromium's): world-writable on the machine, a run's own here.
SHARED_MEMORY_DIR = "/dev/shm"


@functools.cache
def _private_tmpfs() -> tuple[str, ...]:
    """The world-writable directories every run gets an empty tmpfs of its own for."""
    return (_temp_dir(), *([SHARED_MEMORY_DIR] if os.path.isdir(SHARED_MEMORY_DIR) else []))


@functools.cache
def _mount_covers() -> dict[str, list[str]]:
    """{directory to cover with an empty tmpfs: the needed paths below it, bound back}: the
    temporary directory and /dev/shm, and the closed directories on the needed paths elsewhere."""
    temp = _temp_dir()
    covers: dict[str, list[str]] = {path: [] for path in _private_tmpfs()}
    for path in _needed_paths():
        if os.path.commonpath([path, temp]) == temp:
            covers[temp].append(path)
        elif (closed := _closed_ancestor(path)) is not None:
            covers.setdefault(closed, []).append(path)
    return covers


def private_mounts() -> bool:
    """A mount namespace where the temporary directory and /dev/shm are each a tmpfs of this run's
    own (their files are memory, counted in its memory cgroup, and go with its process), and where closed
    directories on the interpreter's path (say /root) become an empty tmpfs; the needed paths
    below either are bound back. False where namespaces are refused."""
    libc = _libc()
    covers = _mount_covers()
    if libc.unshare(_CLONE_NEWNS) != 0:
        return False
    if libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return False
    handles = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for paths in covers.values() for p in paths}
    try:
        for cover, paths in covers.items():
            private = cover in _private_tmpfs()
            options = f"mode=1777,size={DEFAULT_LIMITS['memory_bytes']}" if private else "mode=0755,size=1m"
            if libc.mount(b"tmpfs", cover.encode(), b"tmpfs", 0, options.encode()) != 0:
                return False
            for path in paths:
                os.makedirs(path, exist_ok=True)
                source = f"/proc/self/fd/{handles[path]}".encode()
                if libc.mount(source, path.encode(), None, _MS_BIND | _MS_REC, None) != 0:
                    return False
    finally:
        for fd in handles.values():
            os.close(fd)
    return True


def drop_privileges(uid: int) -> None:
    """Become `uid` for good (real, effective and saved ids; no supplementary groups)."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def forbid_new_privileges() -> None:
    _libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def die_with_parent() -> None:
    """SIGKILL this process when the thread that forked it dies (the fork server, for a run's
    process; the server's launching thread, for a Chromium without setpriv). A uid change
    clears it."""
    _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def make_workdir(uid: int | None) -> str:
    """The run's private working directory (its HOME and TMPDIR), mode 0700, owned by `uid`."""
    path = os.path.join(_temp_dir(), _run_name())
    os.mkdir(path, 0o700)
    if uid is not None:
        os.chown(path, uid, uid)
    return path
