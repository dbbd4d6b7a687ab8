"""The real `browserfn` command (a subprocess) against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import LiveServer

BROWSERFN = str(Path(sys.executable).parent / "browserfn")
GREETER = """\
from loguru import logger

def run(name: str, times: int = 1):
    for i in range(times):
        print(f"hello {name} #{i}")
    logger.warning("careful")
    if name == "boom":
        raise ValueError("no booms")
    return {"greeted": name, "times": times}
"""


def cli(
    server: LiveServer, *args: str, key: str | None = None, timeout_s: float = 60
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NOTTE_API_URL": server.url, "NOTTE_API_KEY": key if key is not None else server.key}
    env.pop("FORCE_COLOR", None)
    return subprocess.run([BROWSERFN, *args], capture_output=True, text=True, env=env, timeout=timeout_s)


@pytest.fixture
def greeter(server: LiveServer, tmp_path: Path) -> dict[str, Any]:
    script = tmp_path / "greeter.py"
    script.write_text(GREETER)
    done = cli(server, "deploy", str(script), "--name", "greeter", "--json")
    assert done.returncode == 0, done.stderr
    function: dict[str, Any] = json.loads(done.stdout)
    return function


def test_deploy_list_and_update(server: LiveServer, greeter: dict[str, Any], tmp_path: Path) -> None:
    assert greeter["name"] == "greeter"
    assert [v["name"] for v in greeter["variables"]] == ["name", "times"]
    listed = cli(server, "functions")
    assert listed.returncode == 0
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "LATEST", "VERSIONS", "VARIABLES", "UPDATED"]
    row = next(r for r in rows if r.startswith(greeter["function_id"]))
    assert row.split()[1:4] == ["greeter", greeter["latest_version"], "1"]

    newer = tmp_path / "v2.py"
    newer.write_text("def run(name: str):\n    return name.upper()\n")
    updated = cli(server, "deploy", str(newer), "--function", greeter["function_id"])
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.startswith(f"updated {greeter['function_id']}")
    assert "variables: name: str" in updated.stdout
    as_json = json.loads(cli(server, "functions", "--json").stdout)
    mine = next(f for f in as_json["items"] if f["function_id"] == greeter["function_id"])
    assert len(mine["versions"]) == 2


def test_run_streams_logs_and_exits_by_status(server: LiveServer, greeter: dict[str, Any]) -> None:
    fid = greeter["function_id"]
    ok = cli(server, "run", fid, "--var", "name=ada", "--var", "times=2")
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    messages = [line.split(" | ", 3)[3] for line in lines if line.count(" | ") >= 3]
    assert messages == ["hello ada #0", "hello ada #1", "careful"]
    assert "\033[" not in ok.stdout  # not a terminal: no colours
    run_line = next(line for line in lines if line.startswith("run "))
    run_id = run_line.split()[1]
    assert run_line.endswith("closed (succeeded)")
    assert json.loads("\n".join(lines[lines.index(run_line) + 1 :])) == {"greeted": "ada", "times": 2}

    failed = cli(server, "run", fid, "--var", "name=boom", "--json")
    assert failed.returncode == 1
    result = json.loads(failed.stdout)
    assert (result["status"], result["state"]) == ("failed", "failed")
    assert "no booms" in json.dumps(result["result"])
    assert "hello boom #0" in failed.stderr  # with --json, logs go to stderr

    table = cli(server, "runs", fid)
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["RUN", "STATUS", "STATE", "ORIGIN", "STARTED", "DURATION"]
    by_id = {r.split()[0]: r.split() for r in rows}
    assert by_id[run_id][1:4] == ["closed", "succeeded", "start"]
    assert by_id[run_id][-1].endswith("s")
    only_failed = json.loads(cli(server, "runs", fid, "--status", "failed", "--json").stdout)["items"]
    assert [r["function_run_id"] for r in only_failed] == [result["function_run_id"]]

    logs = cli(server, "logs", fid, run_id)
    assert [line.split(" | ", 3)[3] for line in logs.stdout.splitlines()] == messages
    followed = cli(server, "logs", fid, run_id, "-f")
    assert followed.returncode == 0
    assert followed.stdout.splitlines()[:3] == logs.stdout.splitlines()


def test_stop_a_running_run(server: LiveServer, tmp_path: Path) -> None:
    script = tmp_path / "sleeper.py"
    script.write_text("import time\n\ndef run():\n    print('sleeping', flush=True)\n    time.sleep(60)\n")
    fid = json.loads(cli(server, "deploy", str(script), "--json").stdout)["function_id"]
    env = {**os.environ, "NOTTE_API_URL": server.url, "NOTTE_API_KEY": server.key}
    with subprocess.Popen([BROWSERFN, "run", fid], stdout=subprocess.PIPE, text=True, env=env) as running:
        assert running.stdout is not None
        assert "sleeping" in running.stdout.readline()  # logs arrive while the run is going
        active = json.loads(cli(server, "runs", fid, "--status", "active", "--json").stdout)["items"]
        (run,) = active
        stopped = cli(server, "stop", fid, run["function_run_id"])
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.startswith(f"stopped {run['function_run_id']}")
        rest = running.stdout.read()
        assert running.wait(30) == 1
    assert "failed (stopped)" in rest


def test_schedules_through_the_cli(server: LiveServer, greeter: dict[str, Any]) -> None:
    fid = greeter["function_id"]
    put = cli(server, "schedules", "set", fid, "* * * * * */2", "--var", "name=cron", "--json")
    assert put.returncode == 0, put.stderr
    assert json.loads(put.stdout)["schedule"]["variables"] == {"name": "cron"}
    listed = cli(server, "schedules", "list")
    assert any(line.startswith(fid) and "*/2" in line for line in listed.stdout.splitlines())
    deadline = time.monotonic() + 15
    ticks: list[dict[str, Any]] = []
    # A tick is listed from its claim on ("claimed"), then says how its run's start went: the
    # first one (listed last, newest first) is awaited until it has.
    while time.monotonic() < deadline and not (ticks and ticks[-1]["outcome"] != "claimed"):
        ticks = json.loads(cli(server, "schedules", "ticks", fid, "--json").stdout)["items"]
        time.sleep(0.5)
    assert cli(server, "schedules", "delete", fid).returncode == 0
    assert ticks and ticks[-1]["outcome"] == "started", ticks
    gone = cli(server, "schedules", "delete", fid)
    assert gone.returncode == 3
    assert "has no schedule" in gone.stderr


def test_keys_and_secrets(server: LiveServer, greeter: dict[str, Any]) -> None:
    made = cli(server, "keys", "new", "ci", "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    listed = json.loads(cli(server, "keys", "list", "--json").stdout)["items"]
    assert key["key_id"] in [k["key_id"] for k in listed]
    assert cli(server, "functions", key=key["key"]).returncode == 0
    assert cli(server, "keys", "revoke", key["key_id"]).returncode == 0
    refused = cli(server, "functions", key=key["key"])
    assert refused.returncode == 3
    assert "401" in refused.stderr

    fid = greeter["function_id"]
    assert cli(server, "secrets", "set", "TOKEN", "s3cret", "--function", fid).returncode == 0
    names = cli(server, "secrets", "list", "--function", fid)
    assert names.stdout.split() == ["TOKEN"]
    assert "s3cret" not in names.stdout
    assert cli(server, "secrets", "delete", "TOKEN", "--function", fid).returncode == 0
    assert cli(server, "secrets", "list", "--function", fid).stdout.split() == []


def test_errors_are_one_line_and_exit_3(server: LiveServer) -> None:
    no_key = cli(server, "functions", key="")
    assert (no_key.returncode, no_key.stderr.strip()) == (3, "error: no API key: pass --api-key or set NOTTE_API_KEY")
    bad_key = cli(server, "functions", key="bfn_nope")
    assert bad_key.returncode == 3
    assert bad_key.stderr.startswith("error: GET /functions/: 401")
    flags = subprocess.run(
        [BROWSERFN, "functions", "--server-url", "http://127.0.0.1:9", "--api-key", "k"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert flags.returncode == 3
    assert "cannot reach the server" in flags.stderr


def test_functions_named_instead_of_their_ids(server: LiveServer, tmp_path: Path) -> None:
    name = f"named-{uuid.uuid4().hex[:8]}"
    script = tmp_path / "named.py"
    script.write_text(GREETER)
    first = json.loads(cli(server, "deploy", str(script), "--name", name, "--json").stdout)
    ran = cli(server, "run", name, "--var", "name=ada", "--json")
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(ran.stdout)["function_run_id"]
    listed = json.loads(cli(server, "runs", name, "--json").stdout)["items"]
    assert [r["function_run_id"] for r in listed] == [run_id]
    assert [
        r["status"] for r in json.loads(cli(server, "runs", name, "--status", "closed", "--json").stdout)["items"]
    ] == ["closed"]
    assert "hello ada #0" in cli(server, "logs", name, run_id).stdout
    stopped = cli(server, "stop", name, run_id)  # already ended: the API says so, for the right function
    assert "hello" not in stopped.stderr and run_id in stopped.stdout + stopped.stderr
    updated = json.loads(cli(server, "deploy", str(script), "--function", name, "--json").stdout)
    assert (updated["function_id"], len(updated["versions"])) == (first["function_id"], 2)

    cli(server, "deploy", str(script), "--name", name, "--json")  # a second function of that name
    ambiguous = cli(server, "run", name)
    assert ambiguous.returncode == 3
    assert ambiguous.stderr.startswith(f"error: 2 functions are named '{name}'")
    assert first["function_id"] in ambiguous.stderr
    assert cli(server, "runs", first["function_id"]).returncode == 0  # the id still works
    missing = cli(server, "logs", "no-such-function", run_id)
    assert (missing.returncode, missing.stderr.strip()) == (
        3,
        "error: no function 'no-such-function': neither one of your function ids nor a function's name",
    )


def test_a_closed_pipe_ends_the_command_quietly(server: LiveServer) -> None:
    env = {**os.environ, "NOTTE_API_URL": server.url, "NOTTE_API_KEY": server.key}
    # the reader goes away before the command writes (as `| head` does once it has its lines)
    with subprocess.Popen(
        [BROWSERFN, "functions", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as command:
        assert command.stdout is not None and command.stderr is not None
        command.stdout.close()
        errors = command.stderr.read().decode()
        assert command.wait(60) == 141
    assert errors == ""
    shell = subprocess.run(
        f"{BROWSERFN} functions --json | head -c 1", shell=True, capture_output=True, text=True, env=env, timeout=60
    )
    assert (shell.returncode, shell.stdout, shell.stderr) == (0, "{", "")
