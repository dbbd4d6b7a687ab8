"""The official TypeScript client (`notte-sdk` from npm, installed in tests/node by scripts/setup_test.sh),
driven under Node as a user's program would drive it.

`run_node(script, url=..., key=...)` runs an ES module whose body may use `NotteClient` (already
imported) and `client` (a NotteClient for the server and key); the body reports to the test by
calling `report(value)`, whose JSON is what `run_node` returns. A script that throws fails the call
with Node's output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"
CLIENT_MODULE = NODE_DIR / "node_modules" / "notte-sdk" / "dist" / "index.mjs"
REPORT_PREFIX = "@@browserfn-report "

_PRELUDE = f"""
import {{ NotteClient }} from {json.dumps(CLIENT_MODULE.as_uri())};
const client = new NotteClient({{ apiKey: process.env.NOTTE_API_KEY, baseUrl: process.env.NOTTE_API_URL }});
const report = (value) => console.log({json.dumps(REPORT_PREFIX)} + JSON.stringify(value ?? null));
"""


def node_client_available() -> None:
    """Fail (not skip) when the client is missing: scripts/setup_test.sh installs it."""
    if shutil.which("node") is None or not CLIENT_MODULE.exists():
        pytest.fail("node or the npm notte-sdk is missing: run scripts/setup_test.sh")


def run_node(script: str, *, url: str, key: str, timeout_s: float = 120.0, env: dict[str, str] | None = None) -> Any:
    """Run `script` (an async ES module body) with the TypeScript client; the value it `report`ed."""
    node_client_available()
    done = subprocess.run(
        ["node", "--input-type=module"],
        input=_PRELUDE + script,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=NODE_DIR,
        env={**os.environ, "NOTTE_API_URL": url, "NOTTE_API_KEY": key, **(env or {})},
    )
    reports = [line[len(REPORT_PREFIX) :] for line in done.stdout.splitlines() if line.startswith(REPORT_PREFIX)]
    if done.returncode != 0 or not reports:
        raise AssertionError(f"node exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")
    return json.loads(reports[-1])
