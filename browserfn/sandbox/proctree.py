"""Find and kill a process's whole tree, including descendants that left its process group or
session (Playwright starts Chromium in a session of its own). Linux /proc; stdlib only."""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import time
from collections.abc import Container


def _parents(include_zombies: bool = False) -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # exited meanwhile
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if include_zombies or fields[0] != b"Z":  # a zombie is already dead; its parent reaps it
            parents[int(entry)] = int(fields[1])
    return parents


def _children(pid: int) -> list[int] | None:
    """Direct children of `pid` from the kernel's per-task lists; None if the kernel lacks them."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []
    found: list[int] = []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found += [int(child) for child in f.read().split()]
        except FileNotFoundError:
            if os.path.exists(f"/proc/{pid}/task/{tid}"):
                return None  # a kernel without CONFIG_PROC_CHILDREN
    return found


def children(pid: int, skip: Container[int] = ()) -> list[int]:
    """Living direct children of `pid`, except those in `skip` (not even looked at)."""
    found = _children(pid)
    if found is None:
        found = [child for child, parent in _parents().items() if parent == pid]
    return [child for child in found if child not in skip and _is_zombie(child) is False]


def _is_zombie(pid: int) -> bool | None:
    """None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2 :].startswith(b"Z")


def _has_children() -> bool:
    """Whether this process has any child, living or dead and unreaped (none reaped here)."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def descendants(root: int, include_zombies: bool = False) -> list[int]:
    """Living descendants of `root` (and dead unreaped ones if asked), parents before children.
    Walks only the tree below `root`, so it costs the same whatever else runs on the machine,
    where the kernel lists each task's children; elsewhere it reads every process's parent, so
    a process asking about its own tree first asks the kernel whether it has any child at all
    (a run's process, at its end, usually has none)."""
    if root == os.getpid() and not _has_children():
        return []
    found: list[int] = []
    frontier = [root]
    while frontier:
        children = _children(frontier.pop())
        if children is None:
            return _descendants_by_scan(root, include_zombies)
        for child in children:
            zombie = _is_zombie(child)
            if zombie is None:
                continue
            if include_zombies or not zombie:
                found.append(child)
            frontier.append(child)
    return found


def _descendants_by_scan(root: int, include_zombies: bool) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents(include_zombies).items():
        children.setdefault(ppid, []).append(pid)
    found: list[int] = []
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child in children.get(pid, ()):
            found.append(child)
            frontier.append(child)
    return found


def kill_descendants(root: int, deadline_s: float = 2.0, reap_children: bool = True) -> int:
    """SIGKILL every descendant of `root` until none is left (new forks included). Returns how
    many were killed. A parent of its own (a child subreaper) reaps as it goes; the server, whose
    other children belong to asyncio, passes `reap_children=False`."""
    killed: set[int] = set()
    end = time.monotonic() + deadline_s
    while True:
        # A subreaper also waits for the zombies it must reap: once it exits, they would go to
        # pid 1, which in a container may never reap them.
        pids = descendants(root, include_zombies=reap_children)
        if not pids or time.monotonic() > end:
            return len(killed)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        if reap_children:
            reap()
        time.sleep(0.005)


def reap() -> None:
    """Collect every exited child without blocking."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def become_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process instead of init (Linux prctl)."""
    pr_set_child_subreaper = 36
    return _prctl(pr_set_child_subreaper, 1) == 0


@functools.cache
def libc() -> ctypes.CDLL | None:
    """The C library, loaded once (forked processes inherit it loaded); None if it cannot be."""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _prctl(option: int, value: int) -> int:
    c = libc()
    return -1 if c is None else int(c.prctl(option, value, 0, 0, 0))
