"""A browser's TMPDIR outlives it when its server is SIGKILLed and its data dir is never opened
again; any server's start sweeps those (browserfn/browser/chromium.py). Real processes stand for
the browsers: a directory a living process has as its TMPDIR stays, and so does a new one."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from browserfn.browser import chromium


def _temp_dir(age_s: float) -> Path:
    path = Path(tempfile.gettempdir()) / f"{chromium.TEMP_DIR_PREFIX}test-{uuid.uuid4().hex}"
    (path / "org.chromium.Chromium.x").mkdir(parents=True)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_only_old_directories_that_no_process_uses_are_swept() -> None:
    orphan = _temp_dir(age_s=600)
    in_use = _temp_dir(age_s=600)
    new = _temp_dir(age_s=0)
    browser = subprocess.Popen(["sleep", "30"], env={**os.environ, "TMPDIR": str(in_use)})
    try:
        deadline = time.monotonic() + 10
        while not chromium.processes_with_env(f"TMPDIR={in_use}") and time.monotonic() < deadline:
            time.sleep(0.01)  # until the child has exec'd with its environment
        assert chromium.sweep_orphaned_temp_dirs() >= 1
        assert (orphan.exists(), in_use.exists(), new.exists()) == (False, True, True)
    finally:
        browser.kill()
        browser.wait()
        for path in (orphan, in_use, new):
            subprocess.run(["rm", "-rf", str(path)], check=True)
