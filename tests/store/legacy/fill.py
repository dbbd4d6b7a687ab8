"""Databases made by browserfn's store before Alembic, for the upgrade test (test_upgrade.py).

`fill` writes, through the Store interface, one of everything the store keeps: accounts, keys
(one revoked), a function with two versions, runs in every life stage with their events and
values with unicode, secrets of both scopes, browser sessions and a host heartbeat, a schedule
with ticks, webhooks, a callback, deliveries with attempts. `snapshot` reads all of it back
through the Store interface, as JSON data.

The dumps beside this file were made by main's own code (commit 7b585af, the last store before
Alembic), from a worktree of that commit, with:

    git worktree add --detach /tmp/bfn-7b585af 7b585af
    PYTHONPATH=/tmp/bfn-7b585af .venv/bin/python -m tests.store.legacy.fill

which fills a SQLite file and a PostgreSQL database with that code and dumps them
(`sqlite3` .dump; `pg_dump` of browserfn's tables) with the snapshot that code read back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SQLITE_DUMP = HERE / "main-7b585af.sqlite.sql"
POSTGRES_DUMP = HERE / "main-7b585af.postgres.sql"
SNAPSHOT = HERE / "main-7b585af.snapshot.json"
T0 = dt.datetime(2026, 12, 1, 9, 30, 0, 123456, tzinfo=dt.UTC)
#: Browserfn's tables in the schema before Alembic (what the PostgreSQL dump holds).
TABLES = [
    "browserfn_schema",
    "accounts",
    "api_keys",
    "server_secrets",
    "functions",
    "function_versions",
    "runs",
    "run_events",
    "run_counters",
    "schedules",
    "schedule_ticks",
    "webhooks",
    "account_webhook_secrets",
    "run_callbacks",
    "webhook_deliveries",
    "secrets",
    "sessions",
    "session_hosts",
]


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


async def fill(store: Any) -> None:
    from browserfn.automation import DeliveryAttempt, DeliveryStatus, Schedule, TickOutcome, Webhook, WebhookDelivery
    from browserfn.models import EventType, Function, FunctionVersion, NewEvent, Parameter, Run, RunState, SessionRecord

    acme = await store.ensure_account("acme")
    other = await store.ensure_account("other")
    key = await store.create_api_key(acme.account_id, "ci", "hash-ci", "bfn_ci")
    revoked = await store.create_api_key(acme.account_id, "old", "hash-old", "bfn_ol")
    await store.revoke_api_key(acme.account_id, revoked.key_id)
    await store.create_api_key(other.account_id, "theirs", "hash-theirs", "bfn_th")
    await store.server_secret()

    params = (Parameter("name", "str", None), Parameter("n", "int", "2"))
    fn = Function("fn-1", acme.account_id, "greet ☃", "says hi", True, "1", ("1",), params, at(0), at(0))
    await store.create_function(fn, FunctionVersion("fn-1", "1", "def run(name, n=2): ...", params, True, at(0)))
    await store.put_function_version(FunctionVersion("fn-1", "2", "def run(name): ...", params[:1], False, at(1)), True)
    await store.update_function("fn-1", {"description": "says hi twice", "timeout_s": 30.0})
    gone = Function("fn-gone", acme.account_id, "gone", None, False, "1", ("1",), (), at(2), at(2))
    await store.create_function(gone, FunctionVersion("fn-gone", "1", "def run(): ...", (), True, at(2)))
    await store.delete_function("fn-gone")

    def run(run_id: str, state: Any, seconds: float, **fields: Any) -> Any:
        return Run(
            run_id,
            "fn-1",
            "2",
            acme.account_id,
            key.key_id,
            state,
            {"name": "é", "n": [1, 2]},
            at(seconds),
            at(seconds),
            **fields,
        )

    for i in range(1, 6):
        await store.create_run(run(f"run-{i}", RunState.QUEUED, 10 + i, timeout_s=60.0, origin="start"))
        await store.transition_run(
            f"run-{i}", [RunState.QUEUED], RunState.RUNNING, {"started_at": at(20 + i), "token_hash": f"token-{i}"}
        )
        await store.append_events(f"run-{i}", [NewEvent(EventType.LOG, f"line {j} of run {i} ✓") for j in range(3)])
        if i <= 3:
            ok = i != 2
            await store.finish_run(
                f"run-{i}",
                RunState.SUCCEEDED if ok else RunState.FAILED,
                result_json=json.dumps({"answer": i}) if ok else None,
                reason=None if ok else "it broke",
                result_message=lambda r: json.dumps({"run": r.run_id, "state": r.state.value}),
                extra_events=[NewEvent(EventType.LOG, "bye")],
            )
    await store.create_run(run("run-created", RunState.CREATED, 30, local=True, origin="create"))
    await store.set_run_session("run-4", "sess-1")

    await store.put_secret(acme.account_id, "", "API_TOKEN", b"\x00ciphertext-1")
    await store.put_secret(acme.account_id, "fn-1", "PASSWORD", b"ciphertext-2\xff")
    await store.put_secret(other.account_id, "", "THEIRS", b"ciphertext-3")

    await store.create_session(
        SessionRecord(
            "sess-1",
            acme.account_id,
            "run-4",
            "http://127.0.0.1:9001",
            {"headless": True, "viewport": {"width": 1280}},
            5,
            30,
            at(40),
            at(41),
        )
    )
    await store.create_session(
        SessionRecord("sess-2", acme.account_id, None, "http://127.0.0.1:9001", {}, 3, 20, at(42), at(42))
    )
    await store.record_session_activity("sess-2", at(43), 7)
    await store.finish_session(
        SessionRecord(
            "sess-2",
            acme.account_id,
            None,
            "http://127.0.0.1:9001",
            {},
            3,
            20,
            at(42),
            at(44),
            "closed",
            "manual",
            "a stop call",
            at(44),
            7,
        )
    )
    await store.session_host_alive("http://127.0.0.1:9001")

    schedule = Schedule(
        "sched-1",
        "fn-1",
        acme.account_id,
        key.key_id,
        "*/5 * * * *",
        "Europe/Paris",
        {"name": "cron"},
        False,
        at(50),
        at(50),
    )
    await store.put_schedule(schedule)
    await store.claim_schedule_tick(schedule, at(300), "server-a", 60.0)
    await store.settle_schedule_tick("sched-1", at(300), TickOutcome.STARTED, "run-5", None)
    await store.claim_schedule_tick(schedule, at(600), "server-a", 60.0)

    hook = Webhook("hook-1", "fn-1", acme.account_id, "https://example.com/hook", "whsec-1", at(60))
    await store.create_webhook(hook)
    await store.account_webhook_secret(acme.account_id, "acct-secret")
    await store.set_run_callback("run-1", "https://example.com/callback")
    deliveries = [
        WebhookDelivery(
            f"del-{target}",
            "run-1",
            "fn-1",
            acme.account_id,
            target,
            url,
            "whsec-1",
            json.dumps({"run": "run-1"}),
            DeliveryStatus.PENDING,
            (),
            at(70),
            at(70),
            at(70),
        )
        for target, url in (("hook-1", hook.url), ("callback", "https://example.com/callback"))
    ]
    await store.enqueue_deliveries(deliveries)
    await store.record_delivery_attempt(
        "del-hook-1", DeliveryAttempt(at(71), 500, "server error"), DeliveryStatus.PENDING, at(90)
    )
    await store.record_delivery_attempt(
        "del-callback", DeliveryAttempt(at(72), 200, None), DeliveryStatus.DELIVERED, None
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


async def snapshot(store: Any) -> dict[str, Any]:
    """Everything `fill` wrote, as the Store reads it back."""
    from browserfn.models import RunState

    acme = await store.ensure_account("acme")
    other = await store.ensure_account("other")
    runs = await store.list_runs("fn-1", account_id=None, key_id=None, only_active=False, offset=0, limit=100)
    return _plain(
        {
            "accounts": [acme, other],
            "keys": await store.list_api_keys(acme.account_id),
            "principal": await store.find_principal("hash-ci"),
            "run_principal": await store.find_principal("token-4"),
            "function": await store.get_function("fn-1"),
            "versions": [await store.get_function_version("fn-1", v) for v in ("1", "2")],
            "deleted": await store.get_function("fn-gone"),
            "functions": await store.list_functions(acme.account_id, 0, 10),
            "runs": runs,
            "page": await store.list_runs(
                "fn-1", account_id=acme.account_id, key_id=None, only_active=False, offset=1, limit=2
            ),
            "active": await store.runs_in_states([RunState.RUNNING, RunState.CREATED]),
            "events": {r.run_id: await store.list_events(r.run_id) for r in runs},
            "secrets": sorted(await store.run_secrets(acme.account_id, "fn-1")),
            "secret_names": await store.secret_names(acme.account_id, ""),
            "sessions": await store.list_sessions(acme.account_id, False, 0, 10),
            "schedule": await store.get_schedule("fn-1"),
            "ticks": await store.list_schedule_ticks("fn-1", 10),
            "webhooks": await store.list_webhooks("fn-1"),
            "receivers": await store.run_receivers("fn-1", "run-1"),
            "account_webhook_secret": await store.account_webhook_secret(acme.account_id, "not-this-one"),
            "deliveries": await store.list_deliveries("fn-1", 10),
        }
    )


async def _make(admin_dsn: str) -> None:  # pragma: no cover - run by hand with main's code
    import psycopg

    from browserfn.store.postgres import PostgresStore
    from browserfn.store.postgres_dispatch import Dispatcher
    from browserfn.store.sqlite import SQLiteStore

    with tempfile.TemporaryDirectory() as tmp:
        sqlite_store = SQLiteStore(Path(tmp) / "old.sqlite3")
        await sqlite_store.open()
        await fill(sqlite_store)
        from_sqlite = await snapshot(sqlite_store)
        await sqlite_store.close()
        with sqlite3.connect(Path(tmp) / "old.sqlite3") as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            SQLITE_DUMP.write_text(f"PRAGMA user_version = {version};\n" + "\n".join(conn.iterdump()) + "\n")
    name = "bfn_legacy_dump"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    pg_store = PostgresStore(dsn, Dispatcher(account_concurrency=2))
    await pg_store.open()
    await fill(pg_store)
    from_postgres = await snapshot(pg_store)
    await pg_store.close()
    tables = [arg for table in TABLES for arg in ("--table", table)]
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", *tables, dsn], check=True, capture_output=True, text=True
    ).stdout
    POSTGRES_DUMP.write_text(dump)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
    SNAPSHOT.write_text(json.dumps({"sqlite": from_sqlite, "postgres": from_postgres}, indent=1, sort_keys=True))


if __name__ == "__main__":  # pragma: no cover
    asyncio.run(_make(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres"))
