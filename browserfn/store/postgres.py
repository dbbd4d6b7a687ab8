"""PostgresStore: the scale-out backend. Several API servers and workers share it.

Beyond the Store contract it does two things in the same transactions as the writes they follow:
- it wakes readers in every process: `pg_notify('browserfn_events', run_id)` whenever a run's
  events change (delivered at commit);
- with `dispatch` set, it is the queue: a run gets its Procrastinate job exactly when it takes
  one of its account's concurrency slots (see postgres_dispatch.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar, cast

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from browserfn.bus_postgres import EVENTS_CHANNEL
from browserfn.errors import BrowserfnError
from browserfn.models import (
    ACTIVE_STATES,
    Account,
    ApiKey,
    Event,
    EventType,
    Function,
    FunctionVersion,
    NewEvent,
    Principal,
    Run,
    RunState,
    utcnow,
)
from browserfn.store import rows
from browserfn.store.postgres_automation import PostgresAutomation
from browserfn.store.postgres_db import PostgresDatabase
from browserfn.store.postgres_dispatch import Dispatcher
from browserfn.store.sql_store import SQLStore
from browserfn.tokens import new_id

log = logging.getLogger(__name__)
T = TypeVar("T")
Conn = psycopg.AsyncConnection[dict[str, Any]]
#: How long a call keeps retrying while the database is unreachable (a restart, a failover).
RECONNECT_BUDGET_S = 30.0


class DatabaseUnavailable(BrowserfnError):
    status_code = 503


class PostgresStore(PostgresAutomation, SQLStore):
    def __init__(self, dsn: str, dispatch: Dispatcher | None = None, pool_size: int = 10) -> None:
        self.dsn = dsn
        self._dispatch = dispatch
        self.db = PostgresDatabase(dsn, pool_size, dispatch.install_schema if dispatch is not None else None)
        self._pool = AsyncConnectionPool(
            dsn,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"row_factory": dict_row, "autocommit": False},
            check=AsyncConnectionPool.check_connection,
            reconnect_timeout=RECONNECT_BUDGET_S,
        )

    # -- plumbing ---------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Conn]:
        async with self._pool.connection() as conn, conn.transaction():
            yield cast(Conn, conn)  # rows are dicts: the pool is made with row_factory=dict_row

    async def _call(self, op: Callable[[Conn], Awaitable[T]]) -> T:
        """Run `op` in one transaction, retrying while the database is unreachable."""
        delay = 0.1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECONNECT_BUDGET_S
        while True:
            try:
                async with self._transaction() as conn:
                    return await op(conn)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                if loop.time() > deadline:
                    raise DatabaseUnavailable(f"database unavailable: {exc}") from exc
                log.warning("database unreachable (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def open(self) -> None:
        await self.db.open()
        await self._pool.open(wait=True, timeout=RECONNECT_BUDGET_S)

    async def close(self) -> None:
        await self._pool.close()
        await self.db.close()

    @staticmethod
    async def _one(conn: Conn, sql: str, params: Iterable[Any] = ()) -> dict[str, Any] | None:
        return await (await conn.execute(sql, tuple(params))).fetchone()

    @staticmethod
    async def _all(conn: Conn, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return await (await conn.execute(sql, tuple(params))).fetchall()

    # -- accounts and keys ------------------------------------------------------------------------
    async def ensure_account(self, name: str) -> Account:
        async def op(c: Conn) -> Account:
            await c.execute(
                "INSERT INTO accounts(account_id, name, created_at) VALUES (%s, %s, %s) ON CONFLICT (name) DO NOTHING",
                (new_id(), name, utcnow()),
            )
            row = await self._one(c, "SELECT * FROM accounts WHERE name = %s", (name,))
            assert row is not None
            return Account(row["account_id"], row["name"], row["created_at"])

        return await self._call(op)

    async def create_api_key(self, account_id: str, name: str, secret_hash: str, prefix: str) -> ApiKey:
        key = ApiKey(new_id(), account_id, name, prefix, utcnow())

        async def op(c: Conn) -> None:
            await c.execute(
                "INSERT INTO api_keys(key_id, account_id, name, prefix, secret_hash, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (key.key_id, account_id, name, prefix, secret_hash, key.created_at),
            )

        await self._call(op)
        return key

    async def list_api_keys(self, account_id: str) -> list[ApiKey]:
        async def op(c: Conn) -> list[ApiKey]:
            found = await self._all(
                c, "SELECT * FROM api_keys WHERE account_id = %s ORDER BY created_at", (account_id,)
            )
            return [rows.api_key(r) for r in found]

        return await self._call(op)

    async def revoke_api_key(self, account_id: str, key_id: str) -> bool:
        async def op(c: Conn) -> bool:
            cur = await c.execute(
                "UPDATE api_keys SET revoked_at = %s WHERE key_id = %s AND account_id = %s AND revoked_at IS NULL",
                (utcnow(), key_id, account_id),
            )
            return cur.rowcount == 1

        return await self._call(op)

    async def find_principal(self, secret_hash: str) -> Principal | None:
        async def op(c: Conn) -> Principal | None:
            row = await self._one(
                c,
                "SELECT account_id, key_id FROM api_keys WHERE secret_hash = %s AND revoked_at IS NULL",
                (secret_hash,),
            )
            if row is not None:
                return Principal(row["account_id"], row["key_id"])
            row = await self._one(
                c,
                "SELECT account_id, key_id, run_id FROM runs WHERE token_hash = %s AND state = %s",
                (secret_hash, RunState.RUNNING.value),
            )
            return Principal(row["account_id"], row["key_id"], row["run_id"]) if row is not None else None

        return await self._call(op)

    async def server_secret(self) -> bytes:
        async def op(c: Conn) -> bytes:
            await c.execute(
                "INSERT INTO server_secrets(name, value) VALUES ('links', %s) ON CONFLICT (name) DO NOTHING",
                (secrets.token_bytes(32),),
            )
            row = await self._one(c, "SELECT value FROM server_secrets WHERE name = 'links'")
            assert row is not None
            return bytes(row["value"])

        return await self._call(op)

    # -- functions --------------------------------------------------------------------------------
    async def create_function(self, function: Function, version: FunctionVersion) -> Function:
        async def op(c: Conn) -> Function:
            await c.execute(
                "INSERT INTO functions(function_id, account_id, name, description, shared, latest_version,"
                " reference_function_id, timeout_s, default_runtime, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    function.function_id,
                    function.account_id,
                    function.name,
                    function.description,
                    function.shared,
                    version.version,
                    function.reference_function_id,
                    function.timeout_s,
                    function.default_runtime,
                    function.created_at,
                    function.updated_at,
                ),
            )
            await self._insert_version(c, version)
            return await self._function(c, function.function_id)

        return await self._call(op)

    async def _insert_version(self, c: Conn, v: FunctionVersion) -> None:
        await c.execute(
            "INSERT INTO function_versions(function_id, version, ordinal, code, parameters, restricted, created_at)"
            " VALUES (%s, %s, (SELECT COALESCE(MAX(ordinal), 0) + 1 FROM function_versions WHERE function_id = %s),"
            " %s, %s, %s, %s) ON CONFLICT (function_id, version) DO UPDATE SET"
            " code = excluded.code, parameters = excluded.parameters, restricted = excluded.restricted",
            (
                v.function_id,
                v.version,
                v.function_id,
                v.code,
                Jsonb([dataclasses.asdict(p) for p in v.parameters]),
                v.restricted,
                v.created_at,
            ),
        )

    async def _function(self, c: Conn, function_id: str) -> Function:
        function = await self._function_or_none(c, function_id)
        assert function is not None
        return function

    async def _function_or_none(self, c: Conn, function_id: str) -> Function | None:
        row = await self._one(
            c, "SELECT * FROM functions WHERE function_id = %s AND deleted_at IS NULL", (function_id,)
        )
        if row is None:
            return None
        versions = await self._all(
            c,
            "SELECT version, parameters FROM function_versions WHERE function_id = %s ORDER BY ordinal",
            (function_id,),
        )
        return rows.function(row, versions)

    async def get_function(self, function_id: str) -> Function | None:
        return await self._call(lambda c: self._function_or_none(c, function_id))

    async def list_functions(self, account_id: str, offset: int, limit: int) -> list[Function]:
        async def op(c: Conn) -> list[Function]:
            ids = await self._all(
                c,
                "SELECT function_id FROM functions WHERE account_id = %s AND deleted_at IS NULL"
                " ORDER BY seq DESC LIMIT %s OFFSET %s",
                (account_id, limit, offset),
            )
            return [await self._function(c, r["function_id"]) for r in ids]

        return await self._call(op)

    async def get_function_version(self, function_id: str, version: str) -> FunctionVersion | None:
        async def op(c: Conn) -> FunctionVersion | None:
            row = await self._one(
                c,
                "SELECT v.* FROM function_versions v JOIN functions f USING (function_id)"
                " WHERE v.function_id = %s AND v.version = %s AND f.deleted_at IS NULL",
                (function_id, version),
            )
            return rows.function_version(row) if row is not None else None

        return await self._call(op)

    async def put_function_version(self, version: FunctionVersion, make_latest: bool) -> Function:
        async def op(c: Conn) -> Function:
            await self._insert_version(c, version)
            await c.execute(
                "UPDATE functions SET latest_version = CASE WHEN %s THEN %s ELSE latest_version END,"
                " updated_at = %s WHERE function_id = %s",
                (make_latest, version.version, utcnow(), version.function_id),
            )
            return await self._function(c, version.function_id)

        return await self._call(op)

    async def update_function(self, function_id: str, fields: dict[str, Any]) -> Function:
        rows.check_fields(fields, rows.FUNCTION_FIELDS, "function")

        async def op(c: Conn) -> Function:
            sets = "".join(f"{name} = %s, " for name in fields)
            await c.execute(
                f"UPDATE functions SET {sets}updated_at = %s WHERE function_id = %s",
                (*fields.values(), utcnow(), function_id),
            )
            return await self._function(c, function_id)

        return await self._call(op)

    async def delete_function(self, function_id: str) -> bool:
        async def op(c: Conn) -> bool:
            if await self._one(c, "SELECT 1 FROM runs WHERE function_id = %s AND active LIMIT 1", (function_id,)):
                return False
            await c.execute("UPDATE functions SET deleted_at = %s WHERE function_id = %s", (utcnow(), function_id))
            return True

        return await self._call(op)

    # -- runs -------------------------------------------------------------------------------------
    async def create_run(self, run: Run) -> Run:
        async def op(c: Conn) -> Run:
            row = await self._one(
                c,
                "WITH counter AS (INSERT INTO run_counters AS rc(function_id, account_id, last_ordinal)"
                " VALUES (%s, %s, 1) ON CONFLICT (function_id, account_id) DO UPDATE SET"
                " last_ordinal = rc.last_ordinal + 1 RETURNING last_ordinal)"
                " INSERT INTO runs(run_id, function_id, function_version, account_id, key_id, state, active,"
                " variables, timeout_s, session_id, result_json, reason, local, origin, created_at, updated_at,"
                " ordinal) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " (SELECT last_ordinal FROM counter)) RETURNING seq",
                (
                    run.function_id,
                    run.account_id,
                    run.run_id,
                    run.function_id,
                    run.function_version,
                    run.account_id,
                    run.key_id,
                    run.state.value,
                    run.state.is_active,
                    Jsonb(run.variables),
                    run.timeout_s,
                    run.session_id,
                    run.result_json,
                    run.reason,
                    run.local,
                    run.origin,
                    run.created_at,
                    run.updated_at,
                ),
            )
            assert row is not None
            if run.state is RunState.QUEUED:
                await self._dispatch_account(c, run.account_id)
            return dataclasses.replace(run, seq=row["seq"])

        return await self._call(op)

    async def _dispatch_account(self, c: Conn, account_id: str) -> None:
        if self._dispatch is not None:
            await self._dispatch.fill_slots(c, account_id)

    async def _run_or_none(self, c: Conn, run_id: str) -> Run | None:
        row = await self._one(c, "SELECT * FROM runs WHERE run_id = %s", (run_id,))
        return rows.run(row) if row is not None else None

    async def get_run(self, run_id: str) -> Run | None:
        return await self._call(lambda c: self._run_or_none(c, run_id))

    async def list_runs(
        self,
        function_id: str,
        *,
        account_id: str | None,
        key_id: str | None,
        only_active: bool,
        offset: int,
        limit: int,
        before_seq: int | None = None,
        states: Iterable[RunState] | None = None,
    ) -> list[Run]:
        where, params = rows.run_filter(function_id, account_id, key_id, only_active, before_seq, "active", states)
        sql = f"SELECT * FROM runs WHERE {where.replace('?', '%s')} ORDER BY seq DESC LIMIT %s OFFSET %s"

        async def op(c: Conn) -> list[Run]:
            if not rows.ordinal_window(account_id, key_id, only_active, before_seq, states):
                return [rows.run(r) for r in await self._all(c, sql, (*params, limit, offset))]
            last = await self._one(
                c,
                "SELECT last_ordinal FROM run_counters WHERE function_id = %s AND account_id = %s",
                (function_id, account_id),
            )
            window = rows.ordinal_range(last["last_ordinal"], offset, limit) if last else None
            if window is None:
                return []
            found = await self._all(
                c,
                "SELECT * FROM runs WHERE function_id = %s AND account_id = %s AND ordinal BETWEEN %s AND %s"
                " ORDER BY ordinal DESC",
                (function_id, account_id, *window),
            )
            return [rows.run(r) for r in found]

        return await self._call(op)

    async def count_runs(self, account_id: str, states: Iterable[RunState]) -> int:
        wanted = [s.value for s in states]

        async def op(c: Conn) -> int:
            row = await self._one(
                c,
                "SELECT COUNT(*) AS n FROM runs WHERE account_id = %s AND active AND state = ANY(%s)",
                (account_id, wanted),
            )
            return int(row["n"]) if row is not None else 0

        return await self._call(op)

    async def runs_in_states(self, states: Iterable[RunState]) -> list[Run]:
        wanted = [s.value for s in states]

        async def op(c: Conn) -> list[Run]:
            return [
                rows.run(r)
                for r in await self._all(c, "SELECT * FROM runs WHERE state = ANY(%s) ORDER BY seq", (wanted,))
            ]

        return await self._call(op)

    async def transition_run(
        self, run_id: str, from_states: Iterable[RunState], to_state: RunState, fields: dict[str, Any]
    ) -> Run | None:
        if not to_state.is_active:
            raise ValueError("use finish_run to end a run")
        wanted = list(from_states)

        async def op(c: Conn) -> Run | None:
            run = await self._update_run(c, run_id, wanted, to_state, fields)
            if run is not None and to_state is RunState.QUEUED:
                await self._dispatch_account(c, run.account_id)
            return run

        return await self._call(op)

    async def _update_run(
        self, c: Conn, run_id: str, from_states: list[RunState], to_state: RunState, fields: dict[str, Any]
    ) -> Run | None:
        rows.check_fields(fields, rows.RUN_FIELDS, "run")
        values = {name: Jsonb(v) if name == "variables" else v for name, v in fields.items()}
        now = utcnow()
        ending: dict[str, Any] = {} if to_state.is_active else {"ended_at": now, "token_hash": None}
        sets = {**values, **ending, "state": to_state.value, "active": to_state.is_active, "updated_at": now}
        row = await self._one(
            c,
            f"UPDATE runs SET {', '.join(f'{k} = %s' for k in sets)} WHERE run_id = %s AND state = ANY(%s) RETURNING *",
            (*sets.values(), run_id, [s.value for s in from_states]),
        )
        return rows.run(row) if row is not None else None

    async def finish_run(
        self,
        run_id: str,
        to_state: RunState,
        *,
        result_json: str | None,
        reason: str | None,
        result_message: Callable[[Run], str],
        extra_events: Iterable[NewEvent] = (),
    ) -> Run | None:
        if to_state.is_active:
            raise ValueError("finish_run needs a final state")
        extra = list(extra_events)

        async def op(c: Conn) -> Run | None:
            fields = {"result_json": result_json, "reason": reason}
            run = await self._update_run(c, run_id, list(ACTIVE_STATES), to_state, fields)
            if run is not None:
                await self._append(c, run_id, [*extra, NewEvent(EventType.RESULT, result_message(run))])
                await self._dispatch_account(c, run.account_id)
            return run

        return await self._call(op)

    async def set_run_session(self, run_id: str, session_id: str) -> None:
        async def op(c: Conn) -> None:
            await c.execute(
                "UPDATE runs SET session_id = %s, updated_at = %s WHERE run_id = %s", (session_id, utcnow(), run_id)
            )

        await self._call(op)

    # -- secrets ----------------------------------------------------------------------------------
    async def put_secret(self, account_id: str, scope: str, name: str, ciphertext: bytes) -> None:
        async def op(c: Conn) -> None:
            await c.execute(
                "INSERT INTO secrets(account_id, scope, name, ciphertext) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (account_id, scope, name) DO UPDATE SET ciphertext = excluded.ciphertext",
                (account_id, scope, name, ciphertext),
            )

        await self._call(op)

    async def secret_names(self, account_id: str, scope: str) -> list[str]:
        async def op(c: Conn) -> list[str]:
            found = await self._all(
                c, "SELECT name FROM secrets WHERE account_id = %s AND scope = %s ORDER BY name", (account_id, scope)
            )
            return [r["name"] for r in found]

        return await self._call(op)

    async def delete_secret(self, account_id: str, scope: str, name: str) -> bool:
        async def op(c: Conn) -> bool:
            cur = await c.execute(
                "DELETE FROM secrets WHERE account_id = %s AND scope = %s AND name = %s", (account_id, scope, name)
            )
            return cur.rowcount == 1

        return await self._call(op)

    async def run_secrets(self, account_id: str, function_id: str) -> list[tuple[str, str, bytes]]:
        async def op(c: Conn) -> list[tuple[str, str, bytes]]:
            found = await self._all(
                c,
                "SELECT scope, name, ciphertext FROM secrets WHERE account_id = %s AND scope IN ('', %s)",
                (account_id, function_id),
            )
            return [(r["scope"], r["name"], bytes(r["ciphertext"])) for r in found]

        return await self._call(op)

    # -- events -----------------------------------------------------------------------------------
    async def _append(self, c: Conn, run_id: str, events: list[NewEvent]) -> list[Event]:
        row = await self._one(
            c,
            "UPDATE runs SET last_event_seq = last_event_seq + %s WHERE run_id = %s RETURNING last_event_seq",
            (len(events), run_id),
        )
        if row is None:
            return []
        first = row["last_event_seq"] - len(events) + 1
        now = utcnow()
        stored = [Event(run_id, first + i, e.type, e.message, now) for i, e in enumerate(events)]
        async with c.cursor() as cur:
            await cur.executemany(
                "INSERT INTO run_events(run_id, seq, type, message, created_at) VALUES (%s, %s, %s, %s, %s)",
                [(e.run_id, e.seq, e.type.value, e.message, now) for e in stored],
            )
        await c.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, run_id))
        return stored

    async def append_events(self, run_id: str, events: list[NewEvent]) -> list[Event]:
        if not events:
            return []

        async def op(c: Conn) -> list[Event]:
            active = await self._one(c, "SELECT active FROM runs WHERE run_id = %s FOR UPDATE", (run_id,))
            if active is None or not active["active"]:
                return []
            return await self._append(c, run_id, events)

        return await self._call(op)

    async def list_events(self, run_id: str, after_seq: int = 0, limit: int = 1000) -> list[Event]:
        async def op(c: Conn) -> list[Event]:
            found = await self._all(
                c,
                "SELECT * FROM run_events WHERE run_id = %s AND seq > %s ORDER BY seq LIMIT %s",
                (run_id, after_seq, limit),
            )
            return [rows.event(r) for r in found]

        return await self._call(op)

    # -- distributed execution (PostgreSQL only) --------------------------------------------------
    async def job_of(self, run_id: str) -> int | None:
        """The Procrastinate job executing this run, if it has one."""

        async def op(c: Conn) -> int | None:
            row = await self._one(c, "SELECT job_id FROM runs WHERE run_id = %s", (run_id,))
            return row["job_id"] if row is not None else None

        return await self._call(op)

    async def runs_of_jobs(self, job_ids: list[int]) -> list[Run]:
        async def op(c: Conn) -> list[Run]:
            found = await self._all(c, "SELECT * FROM runs WHERE job_id = ANY(%s) AND active", (job_ids,))
            return [rows.run(r) for r in found]

        return await self._call(op)
