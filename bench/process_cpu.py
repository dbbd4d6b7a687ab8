"""CPU time a process and everything it started have used, read from /proc: the process's own
(all its threads), and its descendants' (live ones, plus every one already reaped, which the
kernel folds into its parent's "children" times). Sampled before and after a load, the
difference is what the load cost that tree, whatever else the machine was doing."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True)
class TreeCpu:
    own_s: float  #: the process itself, every thread, user + system
    descendants_s: float  #: its children and theirs, live or reaped, user + system

    def __sub__(self, earlier: TreeCpu) -> TreeCpu:
        return TreeCpu(self.own_s - earlier.own_s, self.descendants_s - earlier.descendants_s)


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


def tree_cpu(pid: int) -> TreeCpu:
    own_fields = _stat_fields(pid)
    if own_fields is None:
        raise ProcessLookupError(pid)
    parent_of: dict[int, int] = {}
    fields_of: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            parent_of[int(entry.name)] = int(fields[1])
            fields_of[int(entry.name)] = fields
    own, descendants = _times(own_fields)
    for other, fields in fields_of.items():
        ancestor = parent_of.get(other)
        while ancestor is not None and ancestor != pid:
            ancestor = parent_of.get(ancestor)
        if ancestor == pid:
            other_own, other_reaped = _times(fields)
            descendants += other_own + other_reaped
    return TreeCpu(own, descendants)
