"""The official notte-sdk 1.10.0, unchanged, drives every functions call against a live server."""

from __future__ import annotations

import textwrap
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from notte_sdk import NotteClient
from notte_sdk.endpoints.functions import FailedToRunCloudFunctionError
from notte_sdk.errors import NotteAPIError

from tests.api.helpers import wait_for
from tests.live_server import LiveServer

GREET = """\
from loguru import logger


def run(name: str, greeting: str = "Hello"):
    print("about to greet", name)
    logger.info("greeting {}", name)
    return {"message": f"{greeting}, {name}!"}
"""

SLOW = """\
import time


def run(seconds: float = 600):
    print("sleeping")
    time.sleep(seconds)
    return "woke up"
"""


def write(tmp_path: Path, name: str, code: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return str(path)


def messages(logs: list[str]) -> list[tuple[str, str, str]]:
    """(LEVEL, source, message) of each `time | LEVEL | source | message` line."""
    parts = [line.split(" | ", 3) for line in logs]
    assert all(len(p) == 4 for p in parts), logs
    return [(p[1].strip(), p[2], p[3]) for p in parts]


def test_create_list_get_and_download(notte: NotteClient, tmp_path: Path) -> None:
    fn = notte.Function(path=write(tmp_path, "greet.py", GREET), name="greet", description="says hello")
    created = fn.response
    assert created.function_id == fn.function_id
    assert (created.name, created.description, created.shared) == ("greet", "says hello", False)
    assert (created.latest_version, created.versions, created.status) == ("1", ["1"], "active")
    assert [v.model_dump() for v in created.variables or []] == [
        {"name": "name", "type": "str", "default": None},
        {"name": "greeting", "type": "str", "default": "'Hello'"},
    ]

    listed = notte.functions.list(page_size=100)
    assert fn.function_id in [f.function_id for f in listed.items]
    assert (listed.page, listed.page_size, listed.has_previous) == (1, 100, False)

    again = notte.Function(fn.function_id)
    assert again.response.function_id == fn.function_id
    assert again.response.name == "greet"
    assert again.download() == GREET
    saved = tmp_path / "downloaded.py"
    again.download(path=str(saved))
    assert saved.read_text() == GREET
    # The link works with no credentials at all (the SDK sends none either).
    link = notte.functions.download_url(fn.function_id).url
    assert httpx.get(link).text == GREET


def test_run_streamed_and_not_then_get_run(notte: NotteClient, tmp_path: Path) -> None:
    fn = notte.Function(path=write(tmp_path, "greet.py", GREET), name="greet")

    streamed = fn.run(name="ada")
    assert streamed.model_dump(include={"status", "result", "session_id"}) == {
        "status": "closed",
        "result": {"message": "Hello, ada!"},
        "session_id": None,
    }
    plain = fn.run(stream=False, name="bob", greeting="Hi")
    assert (plain.status, plain.result) == ("closed", {"message": "Hi, bob!"})
    assert plain.function_run_id != streamed.function_run_id

    run = fn.get_run(plain.function_run_id)
    assert (run.function_id, run.function_run_id, run.status) == (fn.function_id, plain.function_run_id, "closed")
    assert run.result == '{"message": "Hi, bob!"}'
    assert run.variables == {"name": "bob", "greeting": "Hi"}
    assert messages(run.logs) == [
        ("INFO", "user_script", "about to greet bob"),
        ("INFO", "user_script", "greeting bob"),
    ]


def test_list_runs_pages_and_only_active(notte: NotteClient, tmp_path: Path) -> None:
    fn = notte.Function(path=write(tmp_path, "greet.py", GREET), name="greet")
    ids = [fn.run(stream=False, name=str(i)).function_run_id for i in range(3)]
    newest_first = ids[::-1]

    first = notte.functions.list_runs(fn.function_id, only_active=False, page_size=2)
    second = notte.functions.list_runs(fn.function_id, only_active=False, page_size=2, page=2)
    assert [r.function_run_id for r in first.items] == newest_first[:2]
    assert (first.page, first.page_size, first.has_next, first.has_previous) == (1, 2, True, False)
    assert [r.function_run_id for r in second.items] == newest_first[2:]
    assert (second.page, second.has_next, second.has_previous) == (2, False, True)
    assert {r.status for r in [*first.items, *second.items]} == {"closed"}

    # only_active (the SDK's default): none until a run is still going.
    assert notte.functions.list_runs(fn.function_id).items == []
    slow = notte.Function(path=write(tmp_path, "slow.py", SLOW), name="slow")
    created = slow.create_run()
    worker = threading.Thread(
        target=slow.run, kwargs={"function_run_id": created.function_run_id, "raise_on_failure": False}
    )
    worker.start()
    active = wait_for(lambda: notte.functions.list_runs(slow.function_id).items)
    assert [(r.function_run_id, r.status) for r in active] == [(created.function_run_id, "active")]
    slow.stop_run(created.function_run_id)
    worker.join(10)
    assert notte.functions.list_runs(slow.function_id).items == []


def test_update_makes_a_new_version_and_get_selects_an_older_one(notte: NotteClient, tmp_path: Path) -> None:
    v1 = "def run():\n    return 'one'\n"
    v2 = "def run(suffix: str = '!'):\n    return 'two' + suffix\n"
    fn = notte.Function(path=write(tmp_path, "v1.py", v1), name="versions")
    fn.update(path=write(tmp_path, "v2.py", v2))
    assert (fn.response.latest_version, fn.response.versions) == ("2", ["1", "2"])
    assert [v.name for v in fn.response.variables or []] == ["suffix"]

    assert fn.download() == v2
    older = notte.functions.download_url(fn.function_id, version="1")
    assert (older.latest_version, older.versions) == ("2", ["1", "2"])
    assert httpx.get(older.url).text == v1
    assert fn.download(version="1") == v1
    assert fn.run().result == "two!"
    # (the SDK refuses run(version=...); `?version=` on start is covered in tests/api)


def test_fork_keeps_a_reference_to_its_source(notte: NotteClient, tmp_path: Path) -> None:
    fn = notte.Function(path=write(tmp_path, "greet.py", GREET), name="greet", description="d")
    forked = fn.fork()
    assert forked.function_id != fn.function_id
    assert forked.response.reference_workflow_id == fn.function_id
    assert (forked.response.name, forked.response.description) == ("greet", "d")
    assert forked.download() == GREET
    assert forked.run(name="fork").result == {"message": "Hello, fork!"}


def test_stop_a_long_running_run(notte: NotteClient, tmp_path: Path) -> None:
    fn = notte.Function(path=write(tmp_path, "slow.py", SLOW), name="slow")
    created = fn.create_run()
    assert created.status == "created"
    outcome: dict[str, Any] = {}

    def start() -> None:
        outcome["response"] = fn.run(function_run_id=created.function_run_id, raise_on_failure=False)

    worker = threading.Thread(target=start)
    worker.start()
    wait_for(lambda: fn.get_run(created.function_run_id).logs)  # it printed: it is running
    stopped = fn.stop_run(created.function_run_id)
    assert (stopped.function_run_id, stopped.status) == (created.function_run_id, "stopped")
    worker.join(10)
    assert not worker.is_alive()
    response = outcome["response"]
    assert (response.function_run_id, response.status, response.result) == (
        created.function_run_id,
        "failed",
        "Run stopped on request",
    )
    run = fn.get_run(created.function_run_id)
    assert (run.status, run.result) == ("failed", "Run stopped on request")
    assert messages(run.logs) == [
        ("INFO", "user_script", "sleeping"),
        ("ERROR", "browserfn", "Run stopped on request"),
    ]


def test_delete_then_it_is_gone(notte: NotteClient, tmp_path: Path) -> None:
    fn = notte.Function(path=write(tmp_path, "greet.py", GREET), name="greet")
    function_id = fn.function_id
    fn.delete()
    with pytest.raises(NotteAPIError) as raised:
        notte.functions.download_url(function_id)
    assert raised.value.status_code == 404
    assert raised.value.error == {"status": 404, "message": f"function {function_id} not found"}
    assert function_id not in [f.function_id for f in notte.functions.list(page_size=100).items]


def test_run_with_a_missing_variable_fails_with_the_exact_message(notte: NotteClient, tmp_path: Path) -> None:
    fn = notte.Function(path=write(tmp_path, "greet.py", GREET), name="greet")
    expected = "Missing required parameters for run function: ['name']"
    with pytest.raises(FailedToRunCloudFunctionError) as raised:
        fn.run()
    assert raised.value.response.status == "failed"
    assert raised.value.response.result == expected
    run = fn.get_run(raised.value.function_run_id)
    assert (run.status, run.result) == ("failed", expected)
    with pytest.raises(FailedToRunCloudFunctionError):
        fn.run(stream=False, greeting="Hi")


def test_the_scripts_own_client_reaches_this_server(notte: NotteClient, server: LiveServer, tmp_path: Path) -> None:
    code = """\
    from notte_sdk import NotteClient


    def run(function_id: str):
        client = NotteClient()
        return {"url": client.functions.server_url, "name": client.functions.download_url(function_id).name}
    """
    fn = notte.Function(path=write(tmp_path, "inner.py", code), name="inner")
    response = fn.run(function_id=fn.function_id)
    assert response.result == {"url": server.url, "name": "inner"}
