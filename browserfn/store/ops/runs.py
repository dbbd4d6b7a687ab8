"""Runs and their event logs: the hot path (a dozen of these per run).

- A run's state changes only from the states the caller names, so no run finishes twice and no
  finished run is revived; `finish` appends the `result` event in the transaction that ends the
  run, so a stream that has read `result` has read everything.
- Events are numbered 1, 2, 3... in append order with no gap; every append wakes the run's
  readers in other processes (`tx.notify`, at commit).
- A dense ordinal per (function, account) makes any page of an account's history a range read.
- Queueing a run counts the account's queue and inserts in one step under the account's lock,
  so a burst never queues more than the limit; on PostgreSQL with distributed execution,
  `dispatch` (postgres_dispatch.py) gives free slots their jobs in the same transaction (a run's
  end hands its slot on in a transaction of its own, right after: SQLStore.finish_run).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from browserfn.bus_postgres import EVENTS_CHANNEL
from browserfn.errors import TooManyRequests
from browserfn.models import ACTIVE_STATES, Event, EventType, NewEvent, Run, RunState, utcnow
from browserfn.store.ops.functions import check_fields
from browserfn.store.tx import Row, Tx, data, in_list, text, undata, untext, when, when_or_none

#: Run fields a state change may set, besides state itself.
FIELDS = frozenset({"session_id", "started_at", "timeout_s", "result_json", "reason", "variables", "token_hash"})
#: Hands free concurrency slots of an account to its queued runs, in the caller's transaction.
Dispatch = Callable[[Tx, str], object]


def account_lock(account_id: str) -> str:
    """The key of the lock that orders an account's queue admissions and slot hand-offs."""
    return "runs-of:" + account_id


_INSERT = (
    "INSERT INTO runs(run_id, function_id, function_version, account_id, key_id, state, active, variables,"
    " timeout_s, session_id, result_json, reason, local, origin, created_at, updated_at, ordinal)"
    " VALUES (:run_id, :function_id, :function_version, :account_id, :key_id, :state, :active, :variables,"
    " :timeout_s, :session_id, :result_json, :reason, :local, :origin, :created_at, :updated_at, :ordinal)"
    " RETURNING seq"
)
_COUNT = (
    "INSERT INTO run_counters(function_id, account_id, last_ordinal) VALUES (:function_id, :account_id, 1)"
    " ON CONFLICT (function_id, account_id) DO UPDATE SET last_ordinal = run_counters.last_ordinal + 1"
    " RETURNING last_ordinal"
)
#: The same, with how many runs the account has queued (read under its lock: exact).
_COUNT_AND_QUEUED = (
    _COUNT + ", (SELECT COUNT(*) FROM runs WHERE account_id = :account_id AND state = 'queued') AS queued"
)


class QueueFull(TooManyRequests):
    """The account already has `queue_limit` runs queued."""

    def __init__(self, queued: int, queue_limit: int) -> None:
        super().__init__(f"too many runs waiting: this account has {queued} runs queued (queue limit {queue_limit})")
        self.queued = queued


def run(row: Row) -> Run:
    return Run(
        run_id=row["run_id"],
        function_id=row["function_id"],
        function_version=row["function_version"],
        account_id=row["account_id"],
        key_id=row["key_id"],
        state=RunState(row["state"]),
        variables=undata(row["variables"]),
        created_at=when(row["created_at"]),
        updated_at=when(row["updated_at"]),
        timeout_s=row["timeout_s"],
        session_id=row["session_id"],
        result_json=untext(row["result_json"]),
        reason=untext(row["reason"]),
        started_at=when_or_none(row["started_at"]),
        ended_at=when_or_none(row["ended_at"]),
        local=bool(row["local"]),
        origin=row["origin"],
        seq=row["seq"],
    )


def event(row: Row) -> Event:
    return Event(
        row["run_id"], row["seq"], EventType(row["type"]), untext(row["message"]) or "", when(row["created_at"])
    )


def _admit(tx: Tx, account_id: str, queue_limit: int | None) -> None:
    """Refuse a run that would queue past the account's limit (the caller's transaction then
    writes it, still under the lock: count and insert are one step)."""
    tx.lock(account_lock(account_id))
    if queue_limit is None:
        return
    queued = tx.value(
        "SELECT COUNT(*) FROM runs WHERE account_id = :account AND state = 'queued'", {"account": account_id}
    )
    if queued >= queue_limit:
        raise QueueFull(queued, queue_limit)


def create(tx: Tx, r: Run, dispatch: Dispatch | None = None, queue_limit: int | None = None) -> Run:
    """Insert a run; the returned copy carries its `seq`. A queued run is admitted under its
    account's lock: its ordinal and the account's queue length are read in one statement."""
    queued = r.state is RunState.QUEUED
    counted = {"function_id": r.function_id, "account_id": r.account_id}
    if queued:
        tx.lock(account_lock(r.account_id))
    if queued and queue_limit is not None:
        counter = tx.one(_COUNT_AND_QUEUED, counted)
        assert counter is not None
        if counter["queued"] >= queue_limit:
            raise QueueFull(counter["queued"], queue_limit)
        ordinal = counter["last_ordinal"]
    else:
        ordinal = tx.value(_COUNT, counted)
    seq = tx.value(
        _INSERT,
        {
            "run_id": r.run_id,
            "function_id": r.function_id,
            "function_version": r.function_version,
            "account_id": r.account_id,
            "key_id": r.key_id,
            "state": r.state.value,
            "active": r.state.is_active,
            "variables": data(r.variables),
            "timeout_s": r.timeout_s,
            "session_id": r.session_id,
            "result_json": text(r.result_json),
            "reason": text(r.reason),
            "local": r.local,
            "origin": r.origin,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "ordinal": ordinal,
        },
    )
    if queued and dispatch is not None:
        dispatch(tx, r.account_id)
    return dataclasses.replace(r, seq=seq)


def get(tx: Tx, run_id: str) -> Run | None:
    row = tx.one("SELECT * FROM runs WHERE run_id = :id", {"id": run_id})
    return run(row) if row is not None else None


def listing(
    tx: Tx,
    function_id: str,
    account_id: str | None,
    key_id: str | None,
    only_active: bool,
    offset: int,
    limit: int,
    before_seq: int | None,
    states: Iterable[RunState] | None = None,
) -> list[Run]:
    """Runs of a function, newest first; `account_id` None means every account's; `states` (when
    given) keeps only runs in one of them. An account's whole history (the listing that grows
    without bound) is read as a range of its ordinals."""
    if account_id is not None and key_id is None and not only_active and before_seq is None and states is None:
        return _ordinal_page(tx, function_id, account_id, offset, limit)
    where = ["function_id = :function_id"]
    params: dict[str, Any] = {"function_id": function_id, "limit": limit, "offset": offset}
    for clause, name, value in (
        ("account_id = :account_id", "account_id", account_id),
        ("key_id = :key_id", "key_id", key_id),
        ("seq <= :before_seq", "before_seq", before_seq),
    ):
        if value is not None:
            where.append(clause)
            params[name] = value
    if only_active:
        where.append("active")
    if states is not None:
        marks, state_params = in_list("state", sorted(state.value for state in states))
        where.append(f"state IN ({marks})")
        params.update(state_params)
    found = tx.all(
        f"SELECT * FROM runs WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT :limit OFFSET :offset", params
    )
    return [run(r) for r in found]


def _ordinal_page(tx: Tx, function_id: str, account_id: str, offset: int, limit: int) -> list[Run]:
    params: dict[str, Any] = {"function_id": function_id, "account_id": account_id}
    last = tx.value(
        "SELECT last_ordinal FROM run_counters WHERE function_id = :function_id AND account_id = :account_id", params
    )
    high = (last or 0) - offset
    if high < 1:
        return []
    found = tx.all(
        "SELECT * FROM runs WHERE function_id = :function_id AND account_id = :account_id"
        " AND ordinal BETWEEN :low AND :high ORDER BY ordinal DESC",
        {**params, "low": max(1, high - limit + 1), "high": high},
    )
    return [run(r) for r in found]


def count(tx: Tx, account_id: str, states: Iterable[RunState]) -> int:
    marks, params = in_list("state", (s.value for s in states))
    return int(
        tx.value(
            f"SELECT COUNT(*) FROM runs WHERE account_id = :account AND active AND state IN ({marks})",
            {**params, "account": account_id},
        )
    )


def in_states(tx: Tx, states: Iterable[RunState]) -> list[Run]:
    """Every run in one of these states, oldest first."""
    marks, params = in_list("state", (s.value for s in states))
    return [run(r) for r in tx.all(f"SELECT * FROM runs WHERE state IN ({marks}) ORDER BY seq", params)]


def _update(
    tx: Tx, run_id: str, from_states: Iterable[RunState], to: RunState, fields: dict[str, Any], new_events: int = 0
) -> Row | None:
    """The run's row after the change; with `new_events`, its event count is raised by as many
    in the same statement (the caller then stores them)."""
    check_fields(fields, FIELDS, "run")
    now = utcnow()
    sets: dict[str, Any] = dict(fields)
    if "variables" in sets:
        sets["variables"] = data(sets["variables"])
    for name in ("result_json", "reason"):
        if name in sets:
            sets[name] = text(sets[name])
    if not to.is_active:
        sets.update(ended_at=now, token_hash=None)
    sets.update(state=to.value, active=to.is_active, updated_at=now)
    marks, params = in_list("from", (s.value for s in from_states))
    key = (*sets, marks, str(bool(new_events)))
    sql = _update_sql.get(key)
    if sql is None:
        counted = ["last_event_seq = last_event_seq + :n"] if new_events else []
        columns = ", ".join([f"{k} = :{k}" for k in sets] + counted)
        sql = _update_sql[key] = f"UPDATE runs SET {columns} WHERE run_id = :run_id AND state IN ({marks}) RETURNING *"
    return tx.one(sql, {**sets, **params, "run_id": run_id, "n": new_events})


#: The few shapes of `_update`'s statement (which fields, how many states), each written once.
_update_sql: dict[tuple[str, ...], str] = {}


def transition(
    tx: Tx,
    run_id: str,
    from_states: Iterable[RunState],
    to: RunState,
    fields: dict[str, Any],
    dispatch: Dispatch | None = None,
    queue_limit: int | None = None,
) -> Run | None:
    """Move an active run to another active state; None if it was not in `from_states`."""
    if not to.is_active:
        raise ValueError("use finish to end a run")
    if to is RunState.QUEUED:
        account = tx.value("SELECT account_id FROM runs WHERE run_id = :id", {"id": run_id})
        if account is None:
            return None
        _admit(tx, account, queue_limit)
    row = _update(tx, run_id, from_states, to, fields)
    moved = run(row) if row is not None else None
    if moved is not None and to is RunState.QUEUED and dispatch is not None:
        dispatch(tx, moved.account_id)
    return moved


def finish(
    tx: Tx,
    run_id: str,
    to: RunState,
    result_json: str | None,
    reason: str | None,
    result_message: Callable[[Run], str],
    extra_events: list[NewEvent],
) -> Run | None:
    """End an active run and append `extra_events` then its `result` event; None if it had ended.
    One statement ends the run and numbers its last events; what follows is not waited for."""
    if to.is_active:
        raise ValueError("finish needs a final state")
    fields = {"result_json": result_json, "reason": reason}
    row = _update(tx, run_id, ACTIVE_STATES, to, fields, new_events=len(extra_events) + 1)
    if row is None:
        return None
    ended = run(row)
    _store_events(tx, run_id, row["last_event_seq"], [*extra_events, NewEvent(EventType.RESULT, result_message(ended))])
    return ended


def set_session(tx: Tx, run_id: str, session_id: str) -> None:
    tx.run(
        "UPDATE runs SET session_id = :session, updated_at = :now WHERE run_id = :id",
        {"session": session_id, "now": utcnow(), "id": run_id},
    )


# -- events ---------------------------------------------------------------------------------------
def _append(tx: Tx, run_id: str, events: list[NewEvent], condition: str) -> list[Event]:
    last = tx.value(
        f"UPDATE runs SET last_event_seq = last_event_seq + :n WHERE run_id = :id{condition} RETURNING last_event_seq",
        {"n": len(events), "id": run_id},
    )
    return [] if last is None else _store_events(tx, run_id, last, events)


def _store_events(tx: Tx, run_id: str, last: int, events: list[NewEvent]) -> list[Event]:
    """Insert `events` as the run's last ones, numbered up to `last`, and wake its readers."""
    now = utcnow()
    first = last - len(events) + 1
    stored = [Event(run_id, first + i, e.type, e.message, now) for i, e in enumerate(events)]
    tx.many(
        "INSERT INTO run_events(run_id, seq, type, message, created_at) VALUES (:run_id, :seq, :type, :message, :at)",
        [{"run_id": run_id, "seq": e.seq, "type": e.type.value, "message": text(e.message), "at": now} for e in stored],
    )
    tx.notify(EVENTS_CHANNEL, run_id)
    return stored


def append_events(tx: Tx, run_id: str, events: list[NewEvent]) -> list[Event]:
    """Append to an active run's log; events for an ended run are dropped (returns [])."""
    return _append(tx, run_id, events, " AND active")


def list_events(tx: Tx, run_id: str, after_seq: int, limit: int) -> list[Event]:
    found = tx.all(
        "SELECT * FROM run_events WHERE run_id = :id AND seq > :after ORDER BY seq LIMIT :limit",
        {"id": run_id, "after": after_seq, "limit": limit},
    )
    return [event(r) for r in found]


# -- distributed execution (PostgreSQL) -------------------------------------------------------------
def job_of(tx: Tx, run_id: str) -> int | None:
    """The Procrastinate job executing this run, if it has one."""
    job: int | None = tx.value("SELECT job_id FROM runs WHERE run_id = :id", {"id": run_id})
    return job


def accounts_waiting(tx: Tx) -> list[str]:
    """Accounts with queued runs that have no job yet (waiting for a slot)."""
    found = tx.all("SELECT DISTINCT account_id FROM runs WHERE state = 'queued' AND job_id IS NULL")
    return [row["account_id"] for row in found]


def of_jobs(tx: Tx, job_ids: list[int]) -> list[Run]:
    marks, params = in_list("job", job_ids)
    return [run(r) for r in tx.all(f"SELECT * FROM runs WHERE job_id IN ({marks}) AND active", params)]
