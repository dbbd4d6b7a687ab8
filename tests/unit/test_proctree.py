"""proctree's view of a process's own tree, with real processes, in a fresh process (the test
runner has children of its own): what a run's process asks at its end (kill whatever the script
left running) answers without reading all of /proc when it has no child, and still finds
children and grandchildren, living or dead and unreaped."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, os, signal, subprocess, sys, time
from browserfn.sandbox import proctree

me = os.getpid()
seen = {"alone": proctree.descendants(me), "killed_alone": proctree.kill_descendants(me)}
spawner = "import subprocess, time; subprocess.Popen(['sleep', '30']); time.sleep(30)"
parent = subprocess.Popen([sys.executable, "-c", spawner])
deadline = time.monotonic() + 10
while len(found := proctree.descendants(me)) < 2 and time.monotonic() < deadline:
    time.sleep(0.02)
seen["tree"] = [pid == parent.pid for pid in found]
grandchild = found[1]
os.kill(parent.pid, signal.SIGKILL)
while proctree.descendants(me) and time.monotonic() < deadline:
    time.sleep(0.02)
seen["after_kill"] = proctree.descendants(me)  # the child is dead, its child went to init
seen["zombie"] = proctree.descendants(me, include_zombies=True) == [parent.pid]
os.kill(grandchild, signal.SIGKILL)
parent.wait()
seen["reaped"] = proctree.descendants(me, include_zombies=True)
print(json.dumps(seen))
"""


def test_a_process_sees_its_own_tree() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(done.stdout)
    assert seen == {
        "alone": [],
        "killed_alone": 0,
        "tree": [True, False],  # parents before children
        "after_kill": [],
        "zombie": True,
        "reaped": [],
    }
