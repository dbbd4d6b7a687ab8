"""/dev/shm is a run's own: a tmpfs in its mount namespace, invisible to other runs, counted in its
memory cgroup, and gone with the run (nothing left in the machine's /dev/shm)."""

from __future__ import annotations

import os
import threading
import time
import uuid

import httpx
import pytest

from tests.live_server import LiveServer
from tests.security.helpers import deploy, run

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="run isolation needs a server running as root")

WRITER = """
import os, time
def run(name: str, hold_s: float):
    path = os.path.join("/dev/shm", name)
    with open(path, "wb") as f:
        f.write(b"secret" * 1000)
    os.chmod(path, 0o644)
    time.sleep(hold_s)
    return sorted(os.listdir("/dev/shm"))
"""

READER = """
import os
def run(name: str):
    try:
        open(os.path.join("/dev/shm", name), "rb").read()
        found = "read"
    except OSError as exc:
        found = type(exc).__name__
    return {"listing": sorted(os.listdir("/dev/shm")), "file": found}
"""

# Bytes charged to the run's memory cgroup before and after 64 MiB written to /dev/shm.
CHARGED = """
import os
def usage():
    for line in open("/proc/self/cgroup").read().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in ("memory.usage_in_bytes", "memory.current"):
            for root in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
                candidate = root + path + "/" + name
                if ("memory" in controllers.split(",") or controllers == "") and os.path.exists(candidate):
                    return int(open(candidate).read())
    return None
def run():
    before = usage()
    with open("/dev/shm/block", "wb") as f:
        f.write(b"x" * (64 * 2**20))
    return {"before": before, "after": usage()}
"""


def test_dev_shm_is_private_to_a_run_and_emptied_with_it(server: LiveServer) -> None:
    name = f"bfn-shm-test-{uuid.uuid4().hex}"
    victim_key = server.create_key("shm-victim")
    outcome: dict[str, dict[str, object]] = {}
    with server.client(victim_key, timeout=180) as victim, server.client(timeout=180) as attacker:
        writer = deploy(victim, WRITER, name="shmwriter")
        thread = threading.Thread(target=lambda: outcome.setdefault("writer", run(victim, writer, name=name, hold_s=6)))
        thread.start()
        reader = deploy(attacker, READER, name="shmreader")
        time.sleep(3)  # the writer's file exists by now
        outcome["reader"] = run(attacker, reader, name=name)
        thread.join()
    assert outcome["writer"]["state"] == "succeeded", outcome["writer"]
    assert httpx.Response(200, content=outcome["writer"]["result"]).json() == [name]  # its /dev/shm: its file only
    assert outcome["reader"]["state"] == "succeeded", outcome["reader"]
    assert httpx.Response(200, content=outcome["reader"]["result"]).json() == {
        "listing": [],
        "file": "FileNotFoundError",
    }
    assert not os.path.exists(os.path.join("/dev/shm", name))  # nothing left behind on the machine


def test_dev_shm_counts_against_the_runs_memory(server: LiveServer) -> None:
    with server.client(timeout=180) as api:
        record = run(api, deploy(api, CHARGED, name="shmcharge"))
    assert record["state"] == "succeeded", record
    usage = httpx.Response(200, content=record["result"]).json()
    if usage["before"] is None:
        pytest.skip("no memory cgroup readable by the run")
    assert usage["after"] - usage["before"] >= 60 * 2**20, usage
