"""SQLiteStore: the embedded default. One thread owns the connection, so every store call is one
transaction run whole on that thread, in the order the calls were made."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from browserfn.models import (
    ACTIVE_STATES,
    Account,
    ApiKey,
    Event,
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
from browserfn.store import rows
from browserfn.store.sql_store import SQLStore
from browserfn.store.sqlite_automation import SQLiteAutomation
from browserfn.store.sqlite_db import SQLiteDatabase
from browserfn.tokens import new_id

T = TypeVar("T")


def _ts(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parameters_json(parameters: tuple[Parameter, ...]) -> str:
    return json.dumps([dataclasses.asdict(p) for p in parameters])


class SQLiteStore(SQLiteAutomation, SQLStore):
    def __init__(self, path: Path) -> None:
        self._path = path
        self.db = self._db = SQLiteDatabase(path)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._db.legacy_call(fn, *args)

    async def open(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    # -- accounts and keys ------------------------------------------------------------------------
    async def ensure_account(self, name: str) -> Account:
        def op(c: sqlite3.Connection) -> Account:
            c.execute(
                "INSERT INTO accounts(account_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING",
                (new_id(), name, _ts(utcnow())),
            )
            row = c.execute("SELECT * FROM accounts WHERE name = ?", (name,)).fetchone()
            return Account(row["account_id"], row["name"], dt.datetime.fromisoformat(row["created_at"]))

        return await self._call(op)

    async def create_api_key(self, account_id: str, name: str, secret_hash: str, prefix: str) -> ApiKey:
        key = ApiKey(new_id(), account_id, name, prefix, utcnow())

        def op(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO api_keys(key_id, account_id, name, prefix, secret_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key.key_id, account_id, name, prefix, secret_hash, _ts(key.created_at)),
            )

        await self._call(op)
        return key

    async def list_api_keys(self, account_id: str) -> list[ApiKey]:
        def op(c: sqlite3.Connection) -> list[ApiKey]:
            found = c.execute(
                "SELECT * FROM api_keys WHERE account_id = ? ORDER BY created_at", (account_id,)
            ).fetchall()
            return [rows.api_key(r) for r in found]

        return await self._call(op)

    async def revoke_api_key(self, account_id: str, key_id: str) -> bool:
        def op(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND account_id = ? AND revoked_at IS NULL",
                (_ts(utcnow()), key_id, account_id),
            )
            return cur.rowcount == 1

        return await self._call(op)

    async def find_principal(self, secret_hash: str) -> Principal | None:
        def op(c: sqlite3.Connection) -> Principal | None:
            row = c.execute(
                "SELECT account_id, key_id FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL",
                (secret_hash,),
            ).fetchone()
            if row is not None:
                return Principal(row["account_id"], row["key_id"])
            row = c.execute(
                "SELECT account_id, key_id, run_id FROM runs WHERE token_hash = ? AND state = ?",
                (secret_hash, RunState.RUNNING.value),
            ).fetchone()
            return Principal(row["account_id"], row["key_id"], row["run_id"]) if row is not None else None

        return await self._call(op)

    async def server_secret(self) -> bytes:
        def op(c: sqlite3.Connection) -> bytes:
            c.execute(
                "INSERT INTO server_secrets(name, value) VALUES ('links', ?) ON CONFLICT(name) DO NOTHING",
                (secrets.token_bytes(32),),
            )
            return bytes(c.execute("SELECT value FROM server_secrets WHERE name = 'links'").fetchone()[0])

        return await self._call(op)

    # -- functions --------------------------------------------------------------------------------
    async def create_function(self, function: Function, version: FunctionVersion) -> Function:
        def op(c: sqlite3.Connection) -> Function:
            c.execute(
                "INSERT INTO functions(function_id, account_id, name, description, shared, latest_version,"
                " reference_function_id, timeout_s, default_runtime, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    function.function_id,
                    function.account_id,
                    function.name,
                    function.description,
                    int(function.shared),
                    version.version,
                    function.reference_function_id,
                    function.timeout_s,
                    function.default_runtime,
                    _ts(function.created_at),
                    _ts(function.updated_at),
                ),
            )
            self._insert_version(c, version)
            return self._function(c, function.function_id)

        return await self._call(op)

    def _insert_version(self, c: sqlite3.Connection, v: FunctionVersion) -> None:
        ordinal = c.execute(
            "SELECT COALESCE(MAX(ordinal), 0) + 1 FROM function_versions WHERE function_id = ?",
            (v.function_id,),
        ).fetchone()[0]
        c.execute(
            "INSERT INTO function_versions(function_id, version, ordinal, code, parameters, restricted, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(function_id, version) DO UPDATE SET"
            " code = excluded.code, parameters = excluded.parameters, restricted = excluded.restricted",
            (
                v.function_id,
                v.version,
                ordinal,
                v.code,
                _parameters_json(v.parameters),
                int(v.restricted),
                _ts(v.created_at),
            ),
        )

    def _function(self, c: sqlite3.Connection, function_id: str) -> Function:
        function = self._function_or_none(c, function_id)
        assert function is not None
        return function

    def _function_or_none(self, c: sqlite3.Connection, function_id: str) -> Function | None:
        row = c.execute(
            "SELECT * FROM functions WHERE function_id = ? AND deleted_at IS NULL", (function_id,)
        ).fetchone()
        if row is None:
            return None
        versions = c.execute(
            "SELECT version, parameters FROM function_versions WHERE function_id = ? ORDER BY ordinal",
            (function_id,),
        ).fetchall()
        return rows.function(row, versions)

    async def get_function(self, function_id: str) -> Function | None:
        return await self._call(self._function_or_none, function_id)

    async def list_functions(self, account_id: str, offset: int, limit: int) -> list[Function]:
        def op(c: sqlite3.Connection) -> list[Function]:
            ids = c.execute(
                "SELECT function_id FROM functions WHERE account_id = ? AND deleted_at IS NULL"
                " ORDER BY seq DESC LIMIT ? OFFSET ?",
                (account_id, limit, offset),
            ).fetchall()
            return [self._function(c, r[0]) for r in ids]

        return await self._call(op)

    async def get_function_version(self, function_id: str, version: str) -> FunctionVersion | None:
        def op(c: sqlite3.Connection) -> FunctionVersion | None:
            row = c.execute(
                "SELECT v.* FROM function_versions v JOIN functions f USING (function_id)"
                " WHERE v.function_id = ? AND v.version = ? AND f.deleted_at IS NULL",
                (function_id, version),
            ).fetchone()
            if row is None:
                return None
            return rows.function_version(row)

        return await self._call(op)

    async def put_function_version(self, version: FunctionVersion, make_latest: bool) -> Function:
        def op(c: sqlite3.Connection) -> Function:
            self._insert_version(c, version)
            latest = "latest_version = ?," if make_latest else ""
            params: tuple[Any, ...] = (version.version,) if make_latest else ()
            c.execute(
                f"UPDATE functions SET {latest} updated_at = ? WHERE function_id = ?",
                (*params, _ts(utcnow()), version.function_id),
            )
            return self._function(c, version.function_id)

        return await self._call(op)

    async def update_function(self, function_id: str, fields: dict[str, Any]) -> Function:
        rows.check_fields(fields, rows.FUNCTION_FIELDS, "function")

        def op(c: sqlite3.Connection) -> Function:
            if fields:
                sets = ", ".join(f"{name} = ?" for name in fields)
                c.execute(
                    f"UPDATE functions SET {sets}, updated_at = ? WHERE function_id = ?",
                    (*fields.values(), _ts(utcnow()), function_id),
                )
            return self._function(c, function_id)

        return await self._call(op)

    async def delete_function(self, function_id: str) -> bool:
        def op(c: sqlite3.Connection) -> bool:
            if c.execute("SELECT 1 FROM runs WHERE function_id = ? AND active = 1 LIMIT 1", (function_id,)).fetchone():
                return False
            c.execute("UPDATE functions SET deleted_at = ? WHERE function_id = ?", (_ts(utcnow()), function_id))
            return True

        return await self._call(op)

    # -- runs -------------------------------------------------------------------------------------
    async def create_run(self, run: Run) -> Run:
        def op(c: sqlite3.Connection) -> Run:
            ordinal = c.execute(
                "INSERT INTO run_counters(function_id, account_id, last_ordinal) VALUES (?, ?, 1)"
                " ON CONFLICT(function_id, account_id) DO UPDATE SET last_ordinal = last_ordinal + 1"
                " RETURNING last_ordinal",
                (run.function_id, run.account_id),
            ).fetchone()[0]
            cur = c.execute(
                "INSERT INTO runs(run_id, function_id, function_version, account_id, key_id, state, active,"
                " variables, timeout_s, session_id, result_json, reason, local, origin, created_at, updated_at,"
                " ordinal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.run_id,
                    run.function_id,
                    run.function_version,
                    run.account_id,
                    run.key_id,
                    run.state.value,
                    int(run.state.is_active),
                    json.dumps(run.variables),
                    run.timeout_s,
                    run.session_id,
                    run.result_json,
                    run.reason,
                    int(run.local),
                    run.origin,
                    _ts(run.created_at),
                    _ts(run.updated_at),
                    ordinal,
                ),
            )
            return dataclasses.replace(run, seq=cur.lastrowid or 0)

        return await self._call(op)

    def _run_or_none(self, c: sqlite3.Connection, run_id: str) -> Run | None:
        row = c.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return rows.run(row) if row is not None else None

    async def get_run(self, run_id: str) -> Run | None:
        return await self._call(self._run_or_none, run_id)

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
        where, params = rows.run_filter(function_id, account_id, key_id, only_active, before_seq, "active = 1", states)
        sql = f"SELECT * FROM runs WHERE {where} ORDER BY seq DESC LIMIT ? OFFSET ?"

        def op(c: sqlite3.Connection) -> list[Run]:
            if not rows.ordinal_window(account_id, key_id, only_active, before_seq, states):
                return [rows.run(r) for r in c.execute(sql, (*params, limit, offset)).fetchall()]
            last = c.execute(
                "SELECT last_ordinal FROM run_counters WHERE function_id = ? AND account_id = ?",
                (function_id, account_id),
            ).fetchone()
            window = rows.ordinal_range(last[0], offset, limit) if last else None
            if window is None:
                return []
            found = c.execute(
                "SELECT * FROM runs WHERE function_id = ? AND account_id = ? AND ordinal BETWEEN ? AND ?"
                " ORDER BY ordinal DESC",
                (function_id, account_id, *window),
            )
            return [rows.run(r) for r in found.fetchall()]

        return await self._call(op)

    async def count_runs(self, account_id: str, states: Iterable[RunState]) -> int:
        wanted = [s.value for s in states]

        def op(c: sqlite3.Connection) -> int:
            marks = ", ".join("?" * len(wanted))
            return int(
                c.execute(
                    f"SELECT COUNT(*) FROM runs WHERE account_id = ? AND active = 1 AND state IN ({marks})",
                    (account_id, *wanted),
                ).fetchone()[0]
            )

        return await self._call(op)

    async def runs_in_states(self, states: Iterable[RunState]) -> list[Run]:
        wanted = [s.value for s in states]

        def op(c: sqlite3.Connection) -> list[Run]:
            marks = ", ".join("?" * len(wanted))
            found = c.execute(f"SELECT * FROM runs WHERE state IN ({marks}) ORDER BY seq", wanted).fetchall()
            return [rows.run(r) for r in found]

        return await self._call(op)

    async def transition_run(
        self, run_id: str, from_states: Iterable[RunState], to_state: RunState, fields: dict[str, Any]
    ) -> Run | None:
        if not to_state.is_active:
            raise ValueError("use finish_run to end a run")
        return await self._call(self._update_run, run_id, list(from_states), to_state, fields)

    def _update_run(
        self,
        c: sqlite3.Connection,
        run_id: str,
        from_states: list[RunState],
        to_state: RunState,
        fields: dict[str, Any],
    ) -> Run | None:
        rows.check_fields(fields, rows.RUN_FIELDS, "run")
        values = {
            name: json.dumps(v) if name == "variables" else _ts(v) if isinstance(v, dt.datetime) else v
            for name, v in fields.items()
        }
        now = utcnow()
        ending = {} if to_state.is_active else {"ended_at": _ts(now), "token_hash": None}
        sets = {
            **values,
            **ending,
            "state": to_state.value,
            "active": int(to_state.is_active),
            "updated_at": _ts(now),
        }
        marks = ", ".join("?" * len(from_states))
        cur = c.execute(
            f"UPDATE runs SET {', '.join(f'{k} = ?' for k in sets)} WHERE run_id = ? AND state IN ({marks})",
            (*sets.values(), run_id, *(s.value for s in from_states)),
        )
        return self._run_or_none(c, run_id) if cur.rowcount == 1 else None

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

        def op(c: sqlite3.Connection) -> Run | None:
            fields = {"result_json": result_json, "reason": reason}
            run = self._update_run(c, run_id, list(ACTIVE_STATES), to_state, fields)
            if run is not None:
                self._append(c, run_id, [*extra, NewEvent(EventType.RESULT, result_message(run))])
            return run

        return await self._call(op)

    async def set_run_session(self, run_id: str, session_id: str) -> None:
        def op(c: sqlite3.Connection) -> None:
            c.execute(
                "UPDATE runs SET session_id = ?, updated_at = ? WHERE run_id = ?",
                (session_id, _ts(utcnow()), run_id),
            )

        await self._call(op)

    # -- secrets ----------------------------------------------------------------------------------
    async def put_secret(self, account_id: str, scope: str, name: str, ciphertext: bytes) -> None:
        def op(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO secrets(account_id, scope, name, ciphertext) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(account_id, scope, name) DO UPDATE SET ciphertext = excluded.ciphertext",
                (account_id, scope, name, ciphertext),
            )

        await self._call(op)

    async def secret_names(self, account_id: str, scope: str) -> list[str]:
        def op(c: sqlite3.Connection) -> list[str]:
            found = c.execute(
                "SELECT name FROM secrets WHERE account_id = ? AND scope = ? ORDER BY name", (account_id, scope)
            )
            return [r[0] for r in found.fetchall()]

        return await self._call(op)

    async def delete_secret(self, account_id: str, scope: str, name: str) -> bool:
        def op(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                "DELETE FROM secrets WHERE account_id = ? AND scope = ? AND name = ?", (account_id, scope, name)
            )
            return cur.rowcount == 1

        return await self._call(op)

    async def run_secrets(self, account_id: str, function_id: str) -> list[tuple[str, str, bytes]]:
        def op(c: sqlite3.Connection) -> list[tuple[str, str, bytes]]:
            found = c.execute(
                "SELECT scope, name, ciphertext FROM secrets WHERE account_id = ? AND scope IN ('', ?)",
                (account_id, function_id),
            )
            return [(r[0], r[1], bytes(r[2])) for r in found.fetchall()]

        return await self._call(op)

    # -- events -----------------------------------------------------------------------------------
    def _append(self, c: sqlite3.Connection, run_id: str, events: list[NewEvent]) -> list[Event]:
        row = c.execute("SELECT last_event_seq FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return []
        now = utcnow()
        stored = [Event(run_id, row[0] + i, e.type, e.message, now) for i, e in enumerate(events, start=1)]
        c.executemany(
            "INSERT INTO run_events(run_id, seq, type, message, created_at) VALUES (?, ?, ?, ?, ?)",
            [(e.run_id, e.seq, e.type.value, e.message, _ts(now)) for e in stored],
        )
        c.execute("UPDATE runs SET last_event_seq = ? WHERE run_id = ?", (row[0] + len(events), run_id))
        return stored

    async def append_events(self, run_id: str, events: list[NewEvent]) -> list[Event]:
        def op(c: sqlite3.Connection) -> list[Event]:
            active = c.execute("SELECT active FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if active is None or not active[0]:
                return []
            return self._append(c, run_id, events)

        return await self._call(op) if events else []

    async def list_events(self, run_id: str, after_seq: int = 0, limit: int = 1000) -> list[Event]:
        def op(c: sqlite3.Connection) -> list[Event]:
            found = c.execute(
                "SELECT * FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (run_id, after_seq, limit),
            ).fetchall()
            return [rows.event(r) for r in found]

        return await self._call(op)
