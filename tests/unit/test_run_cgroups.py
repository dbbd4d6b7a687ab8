"""A run's memory cgroup is new for every run process, even one that gets a recycled pid: the
cgroup of a run that ended lives until the server removes it, and that removal kills what is in
it (a run process that had joined it by name would be killed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from browserfn.sandbox import isolation

NO_CGROUP = 77


def test_one_pid_makes_a_new_cgroup_each_time() -> None:
    child = os.fork()
    if child == 0:  # a cgroup is joined by the process that makes it: do it in a child
        code = 1
        try:
            first = isolation.join_new_memory_cgroup(2**30)
            second = isolation.join_new_memory_cgroup(2**30)
            if first is None or second is None:
                code = NO_CGROUP
            elif first != second and Path(second, "cgroup.procs").read_text().split() == [str(os.getpid())]:
                code = 0 if not Path(first, "cgroup.procs").read_text().split() else 2
            for path in (first, second):
                if path is not None:
                    Path(os.path.dirname(path), "cgroup.procs").write_text(str(os.getpid()))
                    os.rmdir(path)
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) == NO_CGROUP:
        pytest.skip("no writable memory cgroup here")
    assert os.waitstatus_to_exitcode(status) == 0
