"""The README's browser examples against the site the repository ships (examples/browser/site),
served as the README says (python -m http.server), through the CLI as written there."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import LiveServer, free_port
from tests.operator.test_cli import cli

SITE = Path(__file__).resolve().parents[2] / "examples" / "browser" / "site"
EXAMPLES = SITE.parent


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(SITE)]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as served:
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            served.terminate()


def test_scraper_reads_the_shipped_shop(browser_server: LiveServer, site_url: str) -> None:
    assert cli(browser_server, "deploy", str(EXAMPLES / "scraper.py"), "--name", "scraper").returncode == 0
    done = cli(browser_server, "run", "scraper", "--var", f"url={site_url}/", "--json", timeout_s=180)
    assert done.returncode == 0, done.stdout + done.stderr
    page = json.loads(done.stdout)["result"]
    assert "# Welcome to the example shop" in page and "**red apples**" in page


def test_form_submission_fills_the_shipped_form(browser_server: LiveServer, site_url: str) -> None:
    assert cli(browser_server, "deploy", str(EXAMPLES / "form_submission.py"), "--name", "contact").returncode == 0
    done = cli(
        browser_server,
        "run",
        "contact",
        "--var",
        f"url={site_url}/form.html",
        "--var",
        "name=Ada",
        "--var",
        "email=ada@example.org",
        "--json",
        timeout_s=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)["result"]
    assert result["status"] == "submitted"
    assert "name: Ada" in result["page"] and "email: ada@example.org" in result["page"]
