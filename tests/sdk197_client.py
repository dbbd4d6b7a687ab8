"""The Python client as its 1.9.x users have it (`notte-sdk==1.9.7`, the last with agents), in its
own virtualenv `.venv-sdk197` (scripts/setup_test.sh makes it): it cannot share the main one, which
pins 1.10.0.

`run_sdk197(script, url=..., key=...)` runs a Python body in which `client` (a NotteClient for the
server and key) and `report(value)` are defined, as a user's program would; `report`'s JSON is
what `run_sdk197` returns. A script that raises fails the call with its output."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

PYTHON = Path(__file__).resolve().parents[1] / ".venv-sdk197" / "bin" / "python"
REPORT_PREFIX = "@@browserfn-report "

_PRELUDE = f"""
import json, os
from notte_sdk import NotteClient
client = NotteClient(api_key=os.environ["NOTTE_API_KEY"], server_url=os.environ["NOTTE_API_URL"])
def report(value):
    print({REPORT_PREFIX!r} + json.dumps(value), flush=True)
"""


def run_sdk197(script: str, *, url: str, key: str, timeout_s: float = 300.0) -> Any:
    """Run `script` under notte-sdk 1.9.7; the value it `report`ed."""
    if not PYTHON.exists():
        pytest.fail(f"{PYTHON} is missing: run scripts/setup_test.sh")
    env = {**os.environ, "NOTTE_API_URL": url, "NOTTE_API_KEY": key, "DISABLE_TELEMETRY": "true"}
    done = subprocess.run(
        [str(PYTHON), "-c", _PRELUDE + textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
    )
    reports = [line[len(REPORT_PREFIX) :] for line in done.stdout.splitlines() if line.startswith(REPORT_PREFIX)]
    if done.returncode != 0 or not reports:
        raise AssertionError(f"python exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    return json.loads(reports[-1])
