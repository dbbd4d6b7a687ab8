"""CPU time a process and everything it started have used, read from /proc: the process's own
(all its threads), and its descendants' (live ones, plus every one already reaped, which the
kernel folds into its parent's "children" times). Sampled before and after a load, the
difference is what the load cost that tree, whatever else the machine was doing."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from browserfn.sandbox import proctree

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True)
class TreeCpu:
    own_s: float  #: the process itself, every thread, user + system
    descendants_s: float  #: its children and theirs, live or reaped, user + system

    def __sub__(self, earlier: TreeCpu) -> TreeCpu:
        return TreeCpu(self.own_s - earlier.own_s, self.descendants_s - earlier.descendants_s)

    def __add__(self, other: TreeCpu) -> TreeCpu:
        return TreeCpu(self.own_s + other.own_s, self.descendants_s + other.descendants_s)


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces), or None if
    the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def _times(fields: list[str]) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of one process."""
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime) * _TICK_S, (cutime + cstime) * _TICK_S


def own_cpu_s(pids: list[int]) -> float:
    """CPU seconds the processes still alive of `pids` have used themselves."""
    return sum(_times(fields)[0] for pid in pids if (fields := _stat_fields(pid)) is not None)


def tree_cpu(pid: int) -> TreeCpu:
    own_fields = _stat_fields(pid)
    if own_fields is None:
        raise ProcessLookupError(pid)
    own, descendants = _times(own_fields)
    for descendant in proctree.descendants(pid, include_zombies=True):
        if (fields := _stat_fields(descendant)) is not None:
            descendant_own, descendant_reaped = _times(fields)
            descendants += descendant_own + descendant_reaped
    return TreeCpu(own, descendants)


def tree_cpu_by_kind(pid: int, kind: Callable[[int], str], leave_out: int | None = None) -> dict[str, float]:
    """CPU seconds `pid` and its descendants have used so far, summed by `kind(pid)` (e.g. by
    command), but for the live tree of `leave_out` (another child's). A process counts under its
    own kind while it lives and, once reaped, under its parent's (the kernel folds it there): a
    difference of two readings is exact by kind when the processes that ended in between were
    of their parent's kind."""
    left_out = set() if leave_out is None else {leave_out, *proctree.descendants(leave_out, include_zombies=True)}
    found: dict[str, float] = {}
    for each in [pid, *proctree.descendants(pid, include_zombies=True)]:
        if each not in left_out and (fields := _stat_fields(each)) is not None:
            name = kind(each)
            found[name] = found.get(name, 0.0) + sum(_times(fields))
    return found


def difference(later: dict[str, float], earlier: dict[str, float]) -> dict[str, float]:
    """`later - earlier`, kind by kind."""
    return {name: later[name] - earlier.get(name, 0.0) for name in later}
