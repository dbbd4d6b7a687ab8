"""What a run does: its output becomes log lines in order, its value or error becomes its result,
variables are checked against `run`'s signature, timeouts and stops end it (and its whole tree)."""

from __future__ import annotations

import json
import os
import textwrap
from typing import Any

import httpx

from tests.api.helpers import get_run, logs_of, run_to_end, sse_events, wait_for
from tests.conftest import deploy

CHATTY = """\
import logging
import sys
import warnings

from loguru import logger


def run():
    print("from print")
    logging.getLogger().warning("from logging root")
    logging.getLogger("mylib").error("from a named logger")
    logger.info("from loguru")
    logger.debug("loguru debug")
    sys.stderr.write("from stderr\\n")
    warnings.warn("from warnings")
    print("two", "lines\\nat once")
    sys.stdout.write("no newline at the end")
    return [1, "two", {"three": 3.5}, None, True]
"""


def test_every_kind_of_output_becomes_a_log_line_in_order(api: httpx.Client) -> None:
    fid = deploy(api, CHATTY, "chatty", restricted=False)["function_id"]
    response = run_to_end(api, fid)
    assert (response["status"], response["result"]) == ("closed", [1, "two", {"three": 3.5}, None, True])
    run = get_run(api, fid, response["function_run_id"])
    assert run["result"] == '[1, "two", {"three": 3.5}, null, true]'
    lines = logs_of(run["logs"])
    warning = lines[6]
    assert warning[:2] == ("WARNING", "warnings") and warning[2].endswith(": UserWarning: from warnings"), warning
    assert lines[:6] + lines[7:] == [
        ("INFO", "user_script", "from print"),
        ("WARNING", "user_script", "from logging root"),
        ("ERROR", "mylib", "from a named logger"),
        ("INFO", "user_script", "from loguru"),
        ("DEBUG", "user_script", "loguru debug"),
        ("WARNING", "user_script", "from stderr"),
        ("INFO", "user_script", "two lines"),
        ("INFO", "user_script", "at once"),
        ("INFO", "user_script", "no newline at the end"),
    ]


def test_the_sdks_notice_of_a_custom_server_url_is_not_in_the_runs_log(api: httpx.Client) -> None:
    """A run's NOTTE_API_URL is always this server: notte-sdk's WARNING saying so at every
    client's creation is left out of the run's log (a run on Notte's cloud has none). The same
    words logged by the script are kept."""
    code = """\
from loguru import logger
from notte_sdk import NotteClient


def run():
    client = NotteClient()
    logger.warning("NOTTE_API_URL is set to: the script's own words")
    return client.sessions.server_url
"""
    fid = deploy(api, code, "client-only", restricted=False)["function_id"]
    response = run_to_end(api, fid)
    assert response["status"] == "closed", response
    run = get_run(api, fid, response["function_run_id"])
    assert logs_of(run["logs"]) == [("WARNING", "user_script", "NOTTE_API_URL is set to: the script's own words")]


def test_a_job_larger_than_a_pipe_buffer_reaches_the_run_whole(api: httpx.Client) -> None:
    """The job (script + variables) is handed over without waiting while it fits the pipe's
    buffer (64 KiB), and the rest as the run's process reads it."""
    padding = "# " + "x" * 100 + "\n"
    code = padding * 3000 + "def run(blob: str):\n    return [len(blob), blob[:3], blob[-3:]]\n"  # ~300 KB
    fid = deploy(api, code, "big", restricted=False)["function_id"]
    blob = "abc" + "y" * 500_000 + "xyz"
    response = run_to_end(api, fid, {"blob": blob})
    assert (response["status"], response["result"]) == ("closed", [len(blob), "abc", "xyz"]), response


def test_subprocess_output_is_logged_too(api: httpx.Client) -> None:
    code = """\
    import subprocess


    def run():
        subprocess.run(["echo", "from a subprocess"], check=True)
        return "done"
    """
    fid = deploy(api, code, "sub", restricted=False)["function_id"]
    response = run_to_end(api, fid)
    assert response["result"] == "done"
    assert logs_of(get_run(api, fid, response["function_run_id"])["logs"]) == [("INFO", "output", "from a subprocess")]


def test_a_returned_string_and_odd_values(api: httpx.Client) -> None:
    code = """\
    import datetime


    def run(kind: str):
        if kind == "str":
            return "plain text"
        if kind == "none":
            return None
        return {"when": datetime.date(2024, 1, 2)}
    """
    fid = deploy(api, code, "values")["function_id"]
    text = run_to_end(api, fid, {"kind": "str"})
    assert (text["result"], get_run(api, fid, text["function_run_id"])["result"]) == ("plain text", "plain text")
    nothing = run_to_end(api, fid, {"kind": "none"})
    assert (nothing["status"], nothing["result"], get_run(api, fid, nothing["function_run_id"])["result"]) == (
        "closed",
        None,
        None,
    )
    # Not JSON-serialisable: stored as str(value), as Notte's runner does.
    odd = run_to_end(api, fid, {"kind": "date"})
    text_form = "{'when': datetime.date(2024, 1, 2)}"
    assert (odd["status"], odd["result"]) == ("closed", text_form)
    assert get_run(api, fid, odd["function_run_id"])["result"] == text_form


def test_an_exception_fails_the_run_with_its_traceback(api: httpx.Client) -> None:
    code = """\
    def helper(n):
        raise ValueError(f"bad n: {n}")


    def run(n: int = 3):
        print("before")
        helper(n)
    """
    fid = deploy(api, code, "boom")["function_id"]
    response = run_to_end(api, fid)
    assert (response["status"], response["state"]) == ("failed", "failed")
    result = response["result"]
    assert result.startswith("Traceback (most recent call last):\n"), result
    assert result.rstrip().endswith("ValueError: bad n: 3"), result
    assert "in helper" in result and "in run" in result
    assert 'raise ValueError(f"bad n: {n}")' in result  # the script's own lines are shown
    run = get_run(api, fid, response["function_run_id"])
    assert (run["status"], run["state"], run["result"], run["reason"]) == (
        "failed",
        "failed",
        result,
        "ValueError: bad n: 3",
    )
    assert logs_of(run["logs"])[0] == ("INFO", "user_script", "before")


def test_the_script_knows_its_source_and_file(api: httpx.Client) -> None:
    """The code a run executes was compiled once in the server; it still names the script's file
    in tracebacks, finds its own source, and has a __file__ in its working directory."""
    code = """\
    import inspect
    import os


    def run():
        return {"source": inspect.getsource(run), "file": __file__, "cwd": os.getcwd()}
    """
    fid = deploy(api, code, "introspective", restricted=False)["function_id"]
    for _ in range(2):  # the second run takes the code compiled for the first
        result = run_to_end(api, fid)["result"]
        assert (
            result["source"]
            == 'def run():\n    return {"source": inspect.getsource(run), "file": __file__, "cwd": os.getcwd()}\n'
        )
        assert result["file"] == os.path.join(result["cwd"], "function.py")
    failing = deploy(api, "def run():\n    return 1 / 0\n", "zero")["function_id"]
    result = run_to_end(api, failing)["result"]
    assert 'File "function.py", line 2, in run\n    return 1 / 0' in result, result


def test_variables_are_checked_against_the_signature(api: httpx.Client) -> None:
    code = """\
    def run(name: str, count: int = 1, ratio: float = 1.0, flag: bool = False, tags: list[str] | None = None):
        return [name, count, ratio, flag, tags]
    """
    fid = deploy(api, code, "typed")["function_id"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "Missing required parameters for run function: ['name']"),
        (
            {"name": "a", "colour": "red"},
            "Unexpected variable names for run function: ['colour'] "
            "(expected variable names: ['name', 'count', 'ratio', 'flag', 'tags'])",
        ),
        (
            {"name": 5},
            "Variables do not fit the run function's annotations: name: expected str, got integer 5",
        ),
        (
            {"name": "a", "count": "3", "flag": 1},
            "Variables do not fit the run function's annotations: count: expected int, got string '3'; "
            "flag: expected bool, got integer 1",
        ),
        (
            {"name": "a", "count": True},
            "Variables do not fit the run function's annotations: count: expected int, got boolean True",
        ),
        (
            {"name": "a", "tags": "x"},
            "Variables do not fit the run function's annotations: tags: expected list[str] | None, got string 'x'",
        ),
    ]
    for variables, message in cases:
        response = run_to_end(api, fid, variables)
        assert (response["status"], response["state"], response["result"]) == ("failed", "failed", message)
        run = get_run(api, fid, response["function_run_id"])
        assert (run["result"], run["reason"], run["variables"]) == (message, message, variables)
    fine = run_to_end(api, fid, {"name": "a", "count": 2, "ratio": 3, "flag": True, "tags": None})
    assert (fine["status"], fine["result"]) == ("closed", ["a", 2, 3, True, None])


def test_timeout_per_function_and_per_start(api: httpx.Client) -> None:
    code = """\
    import time


    def run(seconds: float = 60):
        print("waiting")
        time.sleep(seconds)
        return "woke"
    """
    per_function = deploy(api, code, "slow", timeout="1")
    assert per_function["timeout_s"] == 1.0
    fid = per_function["function_id"]
    response = httpx.post(
        f"{api.base_url}/functions/{fid}/runs/start",
        json={"workflow_id": fid, "variables": {}},
        headers=api.headers,
        timeout=60,
    )
    events = sse_events(response.content)
    assert [e["type"] for _, e in events] == ["log", "log", "result"]
    assert logs_of([str(e["message"]) for _, e in events[:2]]) == [
        ("INFO", "user_script", "waiting"),
        ("ERROR", "browserfn", "Run timed out after 1 s"),
    ]
    result = json.loads(str(events[2][1]["message"]))
    assert (result["status"], result["state"], result["result"]) == ("failed", "timed_out", "Run timed out after 1 s")

    other = deploy(api, code, "slow")["function_id"]
    ended = run_to_end(api, other, timeout=1.5)
    assert (ended["status"], ended["state"], ended["result"]) == ("failed", "timed_out", "Run timed out after 1.5 s")
    run = get_run(api, other, ended["function_run_id"])
    assert (run["state"], run["timeout_s"], run["reason"]) == ("timed_out", 1.5, "Run timed out after 1.5 s")
    # A start's timeout overrides the function's.
    longer = run_to_end(api, fid, {"seconds": 0.1}, timeout=30)
    assert (longer["status"], longer["result"]) == ("closed", "woke")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_stop_kills_the_whole_tree_even_a_process_in_its_own_session(api: httpx.Client) -> None:
    code = textwrap.dedent(
        """\
        import subprocess
        import time


        def run():
            child = subprocess.Popen(["sleep", "1000"], start_new_session=True)
            print(f"child {child.pid}")
            time.sleep(1000)
        """
    )
    fid = deploy(api, code, "tree", restricted=False)["function_id"]
    with api.stream("POST", f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {}}) as r:
        assert r.status_code == 200
    run_id = wait_for(lambda: api.get(f"/functions/{fid}/runs").json()["items"], what="run")[0]["function_run_id"]
    logs = wait_for(lambda: get_run(api, fid, run_id)["logs"], what="child pid logged")
    pid = int(logs_of(logs)[0][2].split()[1])
    assert _alive(pid)
    sid = os.getsid(pid)
    stopped = api.delete(f"/functions/{fid}/runs/{run_id}")
    assert stopped.status_code == 200
    assert {k: stopped.json()[k] for k in ("function_run_id", "status", "state")} == {
        "function_run_id": run_id,
        "status": "stopped",
        "state": "stopped",
    }
    assert not _alive(pid)
    assert sid == pid  # it had a session of its own, and still died
    run = get_run(api, fid, run_id)
    assert (run["status"], run["state"], run["result"]) == ("failed", "stopped", "Run stopped on request")
    # Its stream ends with a result event too.
    events = sse_events(api.get(f"/functions/{fid}/runs/{run_id}/stream").content)
    assert events[-1][1]["type"] == "result"
    assert json.loads(str(events[-1][1]["message"]))["status"] == "failed"
    # Stopping again is harmless.
    again = api.delete(f"/functions/{fid}/runs/{run_id}")
    assert (again.status_code, again.json()["state"]) == (200, "stopped")


def test_start_selects_an_older_version(api: httpx.Client) -> None:
    fid = deploy(api, "def run():\n    return 'one'\n", "versions")["function_id"]
    updated = api.post(f"/functions/{fid}", files={"file": ("v2.py", b"def run():\n    return 'two'\n")})
    assert (updated.json()["latest_version"], updated.json()["versions"]) == ("2", ["1", "2"])
    assert run_to_end(api, fid)["result"] == "two"
    response = api.post(
        f"/functions/{fid}/runs/start",
        params={"version": "1"},
        json={"workflow_id": fid, "variables": {}, "stream": False},
    )
    assert response.json()["result"] == "one"
    assert get_run(api, fid, response.json()["function_run_id"])["function_version"] == "1"


def test_a_timeout_kills_the_whole_tree_too(api: httpx.Client) -> None:
    code = """\
    import subprocess
    import time


    def run():
        child = subprocess.Popen(["sleep", "1000"], start_new_session=True)
        print(f"child {child.pid}")
        time.sleep(1000)
    """
    fid = deploy(api, code, "tree", restricted=False)["function_id"]
    ended = run_to_end(api, fid, timeout=1)
    assert (ended["status"], ended["state"], ended["result"]) == ("failed", "timed_out", "Run timed out after 1 s")
    run = get_run(api, fid, ended["function_run_id"])
    pid = int(logs_of(run["logs"])[0][2].split()[1])
    assert not _alive(pid)
