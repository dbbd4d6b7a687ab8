"""A run's key as a hostile script would leak it: a run prints its NOTTE_API_KEY and stays running
(the key dies with the run) while the test uses the key from outside."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

#: Prints its key, then keeps the run (and so the key) alive until stopped.
HOLDER = """
import os, time
def run(seconds: float = 300):
    print("RUNKEY=" + os.environ["NOTTE_API_KEY"], "RUN=" + os.environ["BROWSERFN_RUN_ID"], flush=True)
    time.sleep(seconds)
    return "held"
"""
_KEY = re.compile(r"RUNKEY=(bf[a-z]_[A-Za-z0-9_-]+) RUN=([0-9a-f-]+)")


@dataclass(frozen=True)
class LeakedKey:
    key: str
    function_id: str
    run_id: str


@contextlib.contextmanager
def leaked_run_key(client: httpx.Client, function_id: str) -> Iterator[LeakedKey]:
    """Start a run of `function_id` (a HOLDER) with `client`'s key; yield the run's key while it
    runs; stop the run after."""
    body = {"workflow_id": function_id, "variables": {}, "stream": True}
    run_id = key = None
    with client.stream("POST", f"/functions/{function_id}/runs/start", json=body, timeout=120) as stream:
        assert stream.status_code == 200, stream.read()
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            event = json.loads(line.removeprefix("data:"))
            if event["type"] == "result":
                raise AssertionError(f"the run ended before printing its key: {event}")
            found = _KEY.search(str(event.get("message")))
            if found is not None:
                key, run_id = found.groups()
                break
    assert key is not None and run_id is not None
    try:
        yield LeakedKey(key, function_id, run_id)
    finally:
        client.delete(f"/functions/{function_id}/runs/{run_id}")
