"""Hostile functions against a real server: each is contained with a clear message, the server
stays healthy, and other runs finish normally. Scripts run with restricted=False (plain Python):
the OS isolation is the boundary, not the restricted policy."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from browserfn.sandbox.isolation import RUN_UID_BASE, RUN_UID_RANGE
from tests.live_server import LiveServer
from tests.security.helpers import deploy, run

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="run isolation needs a server running as root")

NORMAL = """
def run(n: int = 1):
    return {"doubled": n * 2}
"""


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(timeout=180) as client:
        yield client


def assert_healthy(server: LiveServer, api: httpx.Client) -> None:
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
    function_id = deploy(api, NORMAL)
    record = run(api, function_id, n=21)
    assert (record["state"], record["result"]) == ("succeeded", '{"doubled": 42}')


def test_run_has_its_own_uid_home_and_environment(server: LiveServer, api: httpx.Client) -> None:
    function_id = deploy(
        api,
        """
        import os, stat
        def run():
            cwd = os.getcwd()
            mode = stat.S_IMODE(os.stat(cwd).st_mode)
            mounts = [line.split() for line in open("/proc/self/mountinfo")]
            tmp_types = [fields[fields.index("-") + 1] for fields in mounts if fields[4] == "/tmp"]
            return {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "cwd_owner": os.stat(cwd).st_uid,
                    "mode": oct(mode), "home_is_cwd": os.environ["HOME"] == cwd, "env": sorted(os.environ),
                    "cwd": cwd, "tmp_types": tmp_types}
        """,
    )
    record = run(api, function_id)
    assert record["state"] == "succeeded", record
    result = httpx.Response(200, content=record["result"]).json()
    assert RUN_UID_BASE <= result["uid"] < RUN_UID_BASE + RUN_UID_RANGE
    assert result["gid"] == result["uid"] == result["cwd_owner"]
    assert result["groups"] in ([], [result["gid"]])
    assert (result["mode"], result["home_is_cwd"]) == ("0o700", True)
    # Its working directory is in a /tmp of its own (a tmpfs in its mount namespace), which the
    # server's /tmp never held.
    assert result["cwd"].startswith("/tmp/browserfn-run-") and result["tmp_types"][-1] == "tmpfs"
    assert not os.path.exists(result["cwd"])
    # Only what the run needs: no server variable (the test server inherits pytest's environment).
    assert set(result["env"]) <= {
        "PATH", "LANG", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "DISABLE_TELEMETRY", "HOME", "TMPDIR",
        "PYTHONUNBUFFERED", "NOTTE_API_URL", "NOTTE_API_KEY", "BROWSERFN_RUN_ID", "BROWSERFN_FUNCTION_ID",
        "BROWSERFN_CHROMIUM",
    }  # fmt: skip
    assert "PYTEST_CURRENT_TEST" not in result["env"]


def test_reading_the_database_key_material_and_server_environment_is_refused(
    server: LiveServer, api: httpx.Client
) -> None:
    assert server.process is not None
    targets = [
        str(server.data_dir / "browserfn.sqlite3"),
        str(server.data_dir / "secrets.key"),
        str(server.data_dir / "secrets.sqlite3"),
        f"/proc/{server.process.pid}/environ",
        f"/proc/{server.process.pid}/mem",
        "/root/.ssh",
    ]
    function_id = deploy(
        api,
        """
        import os
        def run(paths: list):
            outcome = {}
            for path in paths:
                try:
                    if os.path.isdir(path):
                        os.listdir(path)
                    else:
                        with open(path, "rb") as f:
                            f.read(16)
                    outcome[path] = "read"
                except OSError as exc:
                    outcome[path] = type(exc).__name__
            return outcome
        """,
    )
    record = run(api, function_id, paths=targets)
    assert record["state"] == "succeeded", record
    outcome = httpx.Response(200, content=record["result"]).json()
    # A data dir under /tmp (the tests') is not even there: a run's /tmp is a tmpfs of its own.
    hidden = "FileNotFoundError" if server.data_dir.resolve().is_relative_to("/tmp") else "PermissionError"
    assert outcome == {
        **{path: hidden for path in targets[:3]},
        **{path: "PermissionError" for path in targets[3:5]},
        "/root/.ssh": "FileNotFoundError",  # root's home is an empty tmpfs in the run's mount namespace
    }
    assert os.stat(server.data_dir).st_mode & 0o777 == 0o700
    assert_healthy(server, api)


def test_another_accounts_run_is_out_of_reach_through_the_api_and_the_files(
    server: LiveServer, api: httpx.Client
) -> None:
    victim_key = server.create_key("victim-account")
    with server.client(victim_key, timeout=180) as victim:
        victim_fn = deploy(
            victim,
            """
            import os, time
            def run():
                with open("private.txt", "w") as f:
                    f.write("victim data")
                time.sleep(6)
                return os.getcwd()
            """,
        )
        victim_start = victim.post(
            f"/functions/{victim_fn}/runs/start", json={"workflow_id": victim_fn, "variables": {}, "stream": False}
        )
        results: dict[str, httpx.Response] = {}
        thread = threading.Thread(target=lambda: results.setdefault("victim", victim_start))
        thread.start()
        thread.join()
        assert victim_start.status_code == 200
        victim_run = victim_start.json()["function_run_id"]

    # The victim's run has ended; start a second one that is running while the attacker looks.
    with server.client(victim_key, timeout=180) as victim:
        pending = threading.Thread(
            target=lambda: results.setdefault(
                "second",
                victim.post(
                    f"/functions/{victim_fn}/runs/start",
                    json={"workflow_id": victim_fn, "variables": {}, "stream": False},
                ),
            )
        )
        pending.start()
        time.sleep(2)
        attacker_fn = deploy(
            api,
            """
            import glob, os, requests
            def run(victim_fn: str, victim_run: str, victim_dir: str):
                headers = {"x-notte-api-key": os.environ["NOTTE_API_KEY"]}
                url = os.environ["NOTTE_API_URL"]
                api = {
                    "run": requests.get(f"{url}/functions/{victim_fn}/runs/{victim_run}", headers=headers).status_code,
                    "runs": requests.get(f"{url}/functions/{victim_fn}/runs", headers=headers).status_code,
                    "function": requests.get(f"{url}/functions/{victim_fn}", headers=headers).status_code,
                }
                others = [path for path in glob.glob("/tmp/browserfn-run-*") if path != os.getcwd()]
                try:
                    open(os.path.join(victim_dir, "private.txt")).read()
                    victim_file = "read"
                except OSError as exc:
                    victim_file = type(exc).__name__
                return {"api": api, "others": others, "victim_file": victim_file}
            """,
        )
        victim_dir = victim_start.json()["result"]  # the start answer holds the value itself
        assert victim_dir.startswith("/tmp/browserfn-run-"), victim_dir
        record = run(api, attacker_fn, victim_fn=victim_fn, victim_run=victim_run, victim_dir=victim_dir)
        pending.join()
    assert record["state"] == "succeeded", record
    outcome = httpx.Response(200, content=record["result"]).json()
    # Each run's /tmp is a tmpfs of its own: the other run's directory is not even visible. A run's
    # key may not read another run, nor list runs (403); another account's function does not exist.
    assert outcome == {
        "api": {"run": 403, "runs": 403, "function": 404},
        "others": [],
        "victim_file": "FileNotFoundError",
    }
    assert results["second"].json()["state"] == "succeeded"


FORK_BOMB = """
import json
import os
import subprocess
def run():
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""


def test_fork_bomb_is_contained_and_other_runs_finish(server: LiveServer, api: httpx.Client) -> None:
    bomb = deploy(api, FORK_BOMB)
    normal = deploy(api, NORMAL)
    outcome: dict[str, dict[str, object]] = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("bomb", run(api, bomb, timeout_s=8)))
    thread.start()
    time.sleep(2)
    with server.client(timeout=180) as other:
        outcome["normal"] = run(other, normal, n=2)
    thread.join()
    # Contained either way, with a message that says how: the wall clock ends it, or (when the
    # copies touch enough memory before that) the run's memory cgroup does.
    bomb_end = (outcome["bomb"]["state"], outcome["bomb"]["result"])
    assert bomb_end in (
        ("timed_out", "Run timed out after 8 s"),
        ("failed", "MemoryError: the run exceeded its memory limit of 2048 MiB and was killed"),
        ("failed", "The run's process was killed by signal 9 before returning a result"),
    ), outcome["bomb"]
    assert (outcome["normal"]["state"], outcome["normal"]["result"]) == ("succeeded", '{"doubled": 4}')
    assert_healthy(server, api)


def test_allocating_10_gb_is_killed_by_the_memory_limit(server: LiveServer, api: httpx.Client) -> None:
    function_id = deploy(
        api,
        """
        def run():
            block = b"x" * (10 * 1024**3)
            return len(block)
        """,
    )
    record = run(api, function_id, timeout_s=120)
    assert record["state"] == "failed"
    assert "memory limit of 2048 MiB" in record["result"] or "MemoryError" in record["result"], record["result"]
    assert_healthy(server, api)


def test_files_in_the_runs_tmp_count_against_its_memory_limit(server: LiveServer, api: httpx.Client) -> None:
    function_id = deploy(
        api,
        """
        import os
        def run():
            chunk = b"x" * 2**20
            for n in range(3):  # 3 GiB in files of 1 GiB (RLIMIT_FSIZE), over the 2 GiB limit
                with open(os.path.join(os.environ["TMPDIR"], f"big{n}"), "wb") as f:
                    for _ in range(1024):
                        f.write(chunk)
            return "written"
        """,
    )
    record = run(api, function_id, timeout_s=120)
    assert record["state"] == "failed", record
    assert record["result"] == "MemoryError: the run exceeded its memory limit of 2048 MiB and was killed", record
    assert_healthy(server, api)


def test_endless_loop_is_ended_by_the_wall_clock_limit(server: LiveServer, api: httpx.Client) -> None:
    function_id = deploy(api, "def run():\n    while True:\n        pass\n")
    began = time.monotonic()
    record = run(api, function_id, timeout_s=2)
    assert time.monotonic() - began < 15
    assert (record["state"], record["result"]) == ("timed_out", "Run timed out after 2 s")
    assert_healthy(server, api)


def test_printing_1_gb_is_cut_at_the_output_limit(server: LiveServer, api: httpx.Client) -> None:
    function_id = deploy(
        api,
        """
        def run():
            line = "y" * (1024 * 1024 - 1)
            for _ in range(1024):
                print(line)
            return "printed 1 GB"
        """,
    )
    record = run(api, function_id, timeout_s=120)
    assert record["state"] == "failed"
    assert record["result"] == "the run printed more than 64 MiB of output and was killed"
    stored = sum(len(line) for line in record["logs"])
    assert stored <= 16 * 1024 * 1024 + 4096
    assert_healthy(server, api)


def test_a_process_that_tries_to_outlive_the_run_is_killed(server: LiveServer, api: httpx.Client) -> None:
    function_id = deploy(
        api,
        """
        import os, subprocess
        def run():
            child = subprocess.Popen(["sleep", "300.5"], start_new_session=True)
            if os.fork() == 0:  # a double fork, detached from everything
                os.setsid()
                subprocess.Popen(["sleep", "301.5"])
                os._exit(0)
            return child.pid
        """,
    )
    record = run(api, function_id)
    assert record["state"] == "succeeded", record
    pid = int(record["result"])
    time.sleep(0.5)
    assert not os.path.exists(f"/proc/{pid}")
    leftovers = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if f.read() in (b"sleep\x00300.5\x00", b"sleep\x00301.5\x00"):
                        leftovers.append(int(entry))
            except OSError:
                pass
    assert leftovers == []


def test_sockets_to_local_ports_other_than_the_api_are_refused(server: LiveServer, api: httpx.Client) -> None:
    internal = socket.socket()
    internal.bind(("127.0.0.1", 0))
    internal.listen()
    port = internal.getsockname()[1]
    function_id = deploy(
        api,
        """
        import os, socket
        from urllib.parse import urlsplit
        def run(port: int):
            outcome = {}
            api = urlsplit(os.environ["NOTTE_API_URL"])
            for name, (host, p) in {"internal": ("127.0.0.1", port), "api": (api.hostname, api.port)}.items():
                try:
                    socket.create_connection((host, p), timeout=3).close()
                    outcome[name] = "connected"
                except OSError as exc:
                    outcome[name] = type(exc).__name__
            return outcome
        """,
    )
    try:
        record = run(api, function_id, port=port)
    finally:
        internal.close()
    assert record["state"] == "succeeded", record
    assert httpx.Response(200, content=record["result"]).json() == {
        "internal": "ConnectionRefusedError",
        "api": "connected",
    }


def test_chromium_runs_with_its_own_sandbox_as_the_run_user(server: LiveServer, api: httpx.Client) -> None:
    function_id = deploy(
        api,
        """
        import os
        from playwright.sync_api import sync_playwright
        def run():
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", chromium_sandbox=True)
                page = browser.new_page()
                page.set_content("<h1>sandboxed</h1>")
                text = page.inner_text("h1")
                browser.close()
            return {"text": text, "uid": os.getuid()}
        """,
    )
    record = run(api, function_id, timeout_s=120)
    assert record["state"] == "succeeded", record
    result = httpx.Response(200, content=record["result"]).json()
    assert result["text"] == "sandboxed"
    assert result["uid"] >= RUN_UID_BASE


def _ports_runs_may_reach() -> set[int]:
    listed = subprocess.run(
        ["nft", "-j", "list", "set", "inet", "browserfn", "api_ports"], capture_output=True, text=True, check=True
    )
    elements = json.loads(listed.stdout)["nftables"][1]["set"].get("elem", [])
    return {int(e) for e in elements}


def test_a_stopped_servers_api_port_is_closed_to_runs_again(fresh_server: LiveServer) -> None:
    """Left open, the port would be reachable from every run once another program listens there."""
    with fresh_server.client() as api:
        function_id = deploy(api, "def run():\n    return 1\n")
        assert run(api, function_id)["state"] == "succeeded"
    assert fresh_server.port in _ports_runs_may_reach()
    fresh_server.stop()
    assert fresh_server.port not in _ports_runs_may_reach()


def test_a_killed_servers_api_port_is_closed_to_runs_by_the_next_server(tmp_path: Path) -> None:
    """A server killed outright cannot take its ports out of the set: the next one to start does."""
    killed = LiveServer(tmp_path / "killed", warm_processes=0).start()
    try:
        with killed.client() as api:
            assert run(api, deploy(api, "def run():\n    return 1\n"))["state"] == "succeeded"
        assert killed.port in _ports_runs_may_reach()
    finally:
        killed.kill()
    assert killed.port in _ports_runs_may_reach()  # nobody took it out
    following = LiveServer(tmp_path / "following", warm_processes=0).start()
    try:
        with following.client() as api:  # its own port is open to its runs
            assert run(api, deploy(api, "def run():\n    return 1\n"))["state"] == "succeeded"
        assert killed.port not in _ports_runs_may_reach()
        assert following.port in _ports_runs_may_reach()
    finally:
        following.stop()
