"""The Store contract, one suite for every backend (see store/base.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import json

from browserfn.models import (
    EventType,
    Function,
    FunctionVersion,
    NewEvent,
    Parameter,
    Principal,
    Run,
    RunState,
    utcnow,
)
from browserfn.store.base import Store
from browserfn.tokens import hash_secret, new_id


def _function(account_id: str) -> tuple[Function, FunctionVersion]:
    now = utcnow()
    fid = new_id()
    params = (Parameter("name", "str", None), Parameter("n", "int", "2"))
    version = FunctionVersion(fid, "1", "def run(name, n=2): ...", params, True, now)
    function = Function(fid, account_id, "greet", "says hi", False, "1", ("1",), params, now, now)
    return function, version


def _run(function: Function, key_id: str, state: RunState = RunState.QUEUED) -> Run:
    now = utcnow()
    return Run(new_id(), function.function_id, "1", function.account_id, key_id, state, {"name": "a"}, now, now)


def _message(run: Run) -> str:
    return json.dumps({"run": run.run_id, "status": run.state.wire_status})


async def _setup(store: Store) -> tuple[str, str, Function]:
    account = await store.ensure_account("acme")
    key = await store.create_api_key(account.account_id, "ci", hash_secret("secret-1"), "secret-1"[:4])
    function, version = _function(account.account_id)
    await store.create_function(function, version)
    return account.account_id, key.key_id, function


async def test_accounts_and_keys(store: Store) -> None:
    account = await store.ensure_account("acme")
    assert await store.ensure_account("acme") == account
    key = await store.create_api_key(account.account_id, "ci", hash_secret("s3cret"), "s3cr")
    assert await store.find_principal(hash_secret("s3cret")) == Principal(account.account_id, key.key_id)
    assert await store.find_principal(hash_secret("other")) is None
    assert [k.key_id for k in await store.list_api_keys(account.account_id)] == [key.key_id]
    assert await store.revoke_api_key(account.account_id, key.key_id) is True
    assert await store.revoke_api_key(account.account_id, key.key_id) is False
    assert await store.find_principal(hash_secret("s3cret")) is None
    assert await store.server_secret() == await store.server_secret()


async def test_functions_versions_and_delete(store: Store) -> None:
    account_id, _, function = await _setup(store)
    assert await store.get_function(function.function_id) == function
    v2 = FunctionVersion(function.function_id, "2", "def run(): ...", (), False, utcnow())
    updated = await store.put_function_version(v2, make_latest=True)
    assert (updated.latest_version, updated.versions, updated.parameters) == ("2", ("1", "2"), ())
    original = await store.get_function_version(function.function_id, "1")
    assert original is not None
    overwrite = dataclasses.replace(v2, version="1", code="def run(x): ...", parameters=(Parameter("x", None, None),))
    kept = await store.put_function_version(overwrite, make_latest=False)
    assert (kept.latest_version, kept.versions) == ("2", ("1", "2"))
    # Overwriting a version changes its code, not when it was made.
    assert await store.get_function_version(function.function_id, "1") == dataclasses.replace(
        overwrite, created_at=original.created_at
    )
    renamed = await store.update_function(function.function_id, {"name": "hello", "shared": True, "timeout_s": 5.0})
    assert (renamed.name, renamed.shared, renamed.timeout_s) == ("hello", True, 5.0)
    assert [f.function_id for f in await store.list_functions(account_id, 0, 10)] == [function.function_id]
    assert await store.delete_function(function.function_id) is True
    assert await store.get_function(function.function_id) is None
    assert await store.get_function_version(function.function_id, "1") is None
    assert await store.list_functions(account_id, 0, 10) == []


async def test_run_lifecycle_and_event_log(store: Store) -> None:
    _, key_id, function = await _setup(store)
    run = await store.create_run(_run(function, key_id))
    assert run.seq > 0 and await store.get_run(run.run_id) == run
    fields = {"started_at": utcnow(), "token_hash": hash_secret("run-token")}
    started = await store.transition_run(run.run_id, [RunState.QUEUED], RunState.RUNNING, fields)
    assert started is not None and started.state is RunState.RUNNING
    assert await store.transition_run(run.run_id, [RunState.QUEUED], RunState.RUNNING, {}) is None
    assert await store.find_principal(hash_secret("run-token")) == Principal(run.account_id, key_id, run.run_id)
    logs = await store.append_events(run.run_id, [NewEvent(EventType.LOG, "a"), NewEvent(EventType.LOG, "b")])
    assert [(e.seq, e.message) for e in logs] == [(1, "a"), (2, "b")]
    await store.set_run_session(run.run_id, "session-1")
    ended = await store.finish_run(
        run.run_id,
        RunState.SUCCEEDED,
        result_json='{"ok": true}',
        reason=None,
        result_message=_message,
        extra_events=[NewEvent(EventType.LOG, "c")],
    )
    assert ended is not None
    assert (ended.state, ended.result_json, ended.session_id) == (RunState.SUCCEEDED, '{"ok": true}', "session-1")
    assert ended.ended_at is not None
    # The token dies with the run; nothing is appended to or revives an ended run.
    assert await store.find_principal(hash_secret("run-token")) is None
    again = await store.finish_run(run.run_id, RunState.FAILED, result_json=None, reason="x", result_message=_message)
    assert again is None
    assert await store.append_events(run.run_id, [NewEvent(EventType.LOG, "late")]) == []
    events = await store.list_events(run.run_id)
    assert [(e.seq, e.type, e.message) for e in events] == [
        (1, EventType.LOG, "a"),
        (2, EventType.LOG, "b"),
        (3, EventType.LOG, "c"),
        (4, EventType.RESULT, _message(ended)),
    ]
    assert [e.seq for e in await store.list_events(run.run_id, after_seq=2)] == [3, 4]


async def test_listing_is_newest_first_with_filters(store: Store) -> None:
    account_id, key_id, function = await _setup(store)
    other_key = await store.create_api_key(account_id, "other", hash_secret("secret-2"), "secr")
    runs = [await store.create_run(_run(function, key_id if i % 2 else other_key.key_id)) for i in range(5)]
    await store.finish_run(runs[0].run_id, RunState.FAILED, result_json=None, reason="x", result_message=_message)

    async def ids(**kw: object) -> list[str]:
        args: dict[str, object] = {"account_id": account_id, "key_id": None, "only_active": False, "offset": 0}
        args.update(kw)
        args.setdefault("limit", 10)
        return [r.run_id for r in await store.list_runs(function.function_id, **args)]  # type: ignore[arg-type]

    newest_first = [r.run_id for r in reversed(runs)]
    assert await ids() == newest_first
    assert await ids(only_active=True) == newest_first[:4]
    assert await ids(key_id=key_id) == [r.run_id for r in reversed(runs) if r.key_id == key_id]
    assert await ids(offset=2) == newest_first[2:]
    assert await ids(before_seq=runs[2].seq) == newest_first[2:]
    assert await ids(account_id="someone-else") == []
    assert await ids(states={RunState.FAILED, RunState.STOPPED}) == [runs[0].run_id]
    assert await ids(states={RunState.QUEUED}, offset=1, limit=2) == newest_first[1:3]
    assert await ids(states=set()) == []
    assert await store.count_runs(account_id, [RunState.QUEUED]) == 4
    assert [r.run_id for r in await store.runs_in_states([RunState.FAILED])] == [runs[0].run_id]


async def test_delete_refused_while_runs_are_active(store: Store) -> None:
    _, key_id, function = await _setup(store)
    run = await store.create_run(_run(function, key_id))
    assert await store.delete_function(function.function_id) is False
    await store.finish_run(run.run_id, RunState.STOPPED, result_json=None, reason="stop", result_message=_message)
    assert await store.delete_function(function.function_id) is True


async def test_concurrent_appends_never_share_a_sequence_number(store: Store) -> None:
    _, key_id, function = await _setup(store)
    run = await store.create_run(_run(function, key_id))
    batches = [[NewEvent(EventType.LOG, f"{b}-{i}") for i in range(5)] for b in range(10)]
    await asyncio.gather(*(store.append_events(run.run_id, batch) for batch in batches))
    events = await store.list_events(run.run_id)
    assert [e.seq for e in events] == list(range(1, 51))
    assert sorted(e.message for e in events) == sorted(e.message for batch in batches for e in batch)
