"""A full disk under the data dir: requests answer 503 with the JSON error body (never hang, never
a bare 500), no run is left active, and the server recovers by itself once space returns. The
data dir is on a small tmpfs this test mounts (it needs root)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import browsers_of, wait_until_gone
from tests.conftest import deploy
from tests.live_server import LiveServer

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root"),
    pytest.mark.timeout(300),
]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Fill the filesystem to the last byte (with one file, removed to give the space back)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def is_json_503(response: httpx.Response) -> bool:
    if response.status_code != 503:
        return False
    body = response.json()
    return body["status"] == 503 and ("disk" in body["message"] or "stor" in body["message"])


def active_runs(api: httpx.Client, fid: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = api.get(f"/functions/{fid}/runs", params={"only_active": "true"}).json()["items"]
    return items


def test_full_disk_gives_503s_strands_no_run_and_recovers(small_disk: Path, tmp_path: Path) -> None:
    live = LiveServer(small_disk / "data", warm_processes=1)
    live.log_path = tmp_path / "server.log"  # the log itself must not need the full disk
    live.start()
    try:
        with live.client(timeout=120) as api:
            quick = deploy(api, "def run(n: int = 1):\n    return n * 2\n", name="quick")["function_id"]
            chatty = deploy(
                api,
                """
                import time
                def run():
                    time.sleep(2)
                    for n in range(20000):
                        print("line", n, "x" * 200)
                    return "done"
                """,
                name="chatty",
            )["function_id"]
            # A run that is executing when the disk fills.
            outcome: dict[str, httpx.Response] = {}
            body = {"workflow_id": chatty, "variables": {}, "stream": False}
            thread = threading.Thread(
                target=lambda: outcome.setdefault("chatty", api.post(f"/functions/{chatty}/runs/start", json=body))
            )
            thread.start()
            time.sleep(1)
            filler = fill(small_disk)

            asked = time.monotonic()
            created = api.post(f"/functions/{quick}/runs/create", data={})
            started = api.post(
                f"/functions/{quick}/runs/start", json={"workflow_id": quick, "variables": {}, "stream": False}
            )
            assert time.monotonic() - asked < 60
            for response in (created, started):
                assert response.status_code in (200, 503), response.text
                if response.status_code == 503:
                    assert is_json_503(response), response.text
            assert started.status_code == 503 or started.json()["status"] == "failed", started.text
            thread.join(90)
            assert not thread.is_alive(), "runs/start of the executing run still waits"
            chatty_answer = outcome["chatty"]
            assert chatty_answer.status_code in (200, 503), chatty_answer.text
            if chatty_answer.status_code == 503:
                assert is_json_503(chatty_answer), chatty_answer.text

            filler.unlink()  # space comes back: the server recovers by itself
            if created.status_code == 200:
                # The create found room (SQLite reused a page): its run waits for a start, as a
                # created run should; stopping it is a client's call, not a recovery.
                stopped = api.delete(f"/functions/{quick}/runs/{created.json()['function_run_id']}")
                assert stopped.status_code == 200, stopped.text
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (active_runs(api, quick) or active_runs(api, chatty)):
                time.sleep(0.5)
            assert active_runs(api, quick) == [] and active_runs(api, chatty) == []
            for run in api.get(f"/functions/{chatty}/runs").json()["items"]:
                stored = api.get(f"/functions/{chatty}/runs/{run['function_run_id']}").json()
                assert stored["status"] in ("closed", "failed"), stored
                if stored["status"] == "failed":
                    assert stored["reason"], stored
            again = api.post(
                f"/functions/{quick}/runs/start", json={"workflow_id": quick, "variables": {"n": 21}, "stream": False}
            )
            assert (again.status_code, again.json()["result"]) == (200, 42), again.text
    finally:
        live.stop()
    log = (tmp_path / "server.log").read_text()
    assert "Task exception was never retrieved" not in log


def test_a_session_start_the_full_disk_fails_leaves_no_browser_context_behind(small_disk: Path, tmp_path: Path) -> None:
    """A start that fails after its browser context was made (its record cannot be written) lets
    that context go and removes what it wrote: the account's browser, with no session left, is
    killed once idle, as after any last session (a context left in it kept it alive, and the
    account's next sessions got no spare context). A session closing on the full disk says so in
    the log (its replay is lost), not as an unhandled task error."""
    live = LiveServer(
        small_disk / "data",
        extra_args=("--browser-pool-size", "0"),
        env={"BROWSERFN_BROWSER_ACCOUNT_IDLE_S": "1"},
    )
    live.log_path = tmp_path / "server.log"  # the log itself must not need the full disk
    live.start()
    opened: list[str] = []
    try:
        with live.client(timeout=120) as api:
            first = api.post("/sessions/start", json={})
            assert first.status_code == 200, first.text
            opened.append(first.json()["session_id"])
            assert api.delete(f"/sessions/{opened[0]}/stop").status_code == 200
            for _ in range(5):  # the store may find room in pages it has: fill again
                filler = fill(small_disk)
                failed = api.post("/sessions/start", json={})
                filler.unlink()
                if failed.status_code != 200:
                    break
                opened.append(failed.json()["session_id"])
                assert api.delete(f"/sessions/{opened[-1]}/stop").status_code == 200
            assert is_json_503(failed), failed.text
            assert wait_until_gone(lambda: browsers_of(live.data_dir), timeout_s=20) == []
            again = api.post("/sessions/start", json={})
            assert again.status_code == 200, again.text
            opened.append(again.json()["session_id"])
            assert api.delete(f"/sessions/{opened[-1]}/stop").status_code == 200
        assert sorted(path.name for path in (live.data_dir / "sessions").iterdir()) == sorted(opened)
    finally:
        live.stop()
    assert "Task exception was never retrieved" not in (tmp_path / "server.log").read_text()
