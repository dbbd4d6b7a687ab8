"""The fork server's heap on transparent huge pages (browserfn/sandbox/hugepages.py), in a real
process: the pages are huge afterwards, and a forked child still sees and writes its own copy."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")
KERNEL = tuple(int(part) for part in platform.release().split(".")[:2] if part.isdigit())

pytestmark = pytest.mark.skipif(
    not THP_MODE.exists() or "[never]" in THP_MODE.read_text() or KERNEL < (6, 1),
    reason="needs transparent huge pages and MADV_COLLAPSE (Linux >= 6.1)",
)

PROBE = """
import json, os
from browserfn.sandbox import hugepages

def anon_huge_kb():
    for line in open("/proc/self/smaps_rollup"):
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])

heap = [str(n) * 20 for n in range(300_000)]  # ~30 MB of small objects, like a warm import
before = anon_huge_kb()
collapsed = hugepages.collapse_heap()
after = anon_huge_kb()
r, w = os.pipe()
if os.fork() == 0:
    heap[12345] = "written by the child"
    os.write(w, json.dumps([heap[12345], heap[54321]]).encode())
    os._exit(0)
os.wait()
child_saw = json.loads(os.read(r, 4096))
print(json.dumps({"before": before, "collapsed": collapsed, "after": after, "child_saw": child_saw,
                  "parent_keeps": heap[12345]}))
"""


def test_collapse_moves_the_heap_to_huge_pages_and_forks_still_copy_on_write() -> None:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env)
    outcome = json.loads(done.stdout)
    assert outcome["collapsed"] >= 8, outcome  # at least 16 MB of the ~30 MB heap
    # In kB, 2048 per huge page; at least half stay huge (the probe's own writes may split some).
    assert outcome["after"] - outcome["before"] >= outcome["collapsed"] * 1024, outcome
    assert outcome["child_saw"] == ["written by the child", "54321" * 20]
    assert outcome["parent_keeps"] == "12345" * 20
