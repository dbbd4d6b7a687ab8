"""A setting browserfn cannot use stops `serve` with one line naming it (exit 2), no traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.live_server import browserfn_command, free_port

CASES = [
    ({"BROWSERFN_ACCOUNT_CONCURRENCY": "many"}, "BROWSERFN_ACCOUNT_CONCURRENCY='many' is not a valid int"),
    ({"BROWSERFN_FILES_RETENTION_S": "0"}, "files_retention_s must be a positive number of seconds, not 0"),
    ({"BROWSERFN_SESSION_CDP_URL": "everyone"}, "session_cdp_url must be one of off, public, any, not 'everyone'"),
]


@pytest.mark.parametrize(("env", "said"), CASES)
def test_a_bad_setting_stops_serve_in_one_line(tmp_path: Path, env: dict[str, str], said: str) -> None:
    command = browserfn_command("serve", "--port", str(free_port()), "--data-dir", str(tmp_path))
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (2, f"browserfn: {said}\n")
