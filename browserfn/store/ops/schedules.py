"""Schedules and their ticks. Several servers may run a scheduler on one database:
- a tick is claimed by the insert of its (schedule_id, tick) primary key: one insert wins, the
  others see it taken;
- the overlap check runs under the schedule's lock, so it reads every earlier claim."""

from __future__ import annotations

import datetime as dt

from browserfn.automation import Schedule, ScheduleTick, TickOutcome
from browserfn.store.tx import Row, Tx, data, insert_sql, stamp, undata, when

COLUMNS = (
    "schedule_id",
    "function_id",
    "account_id",
    "key_id",
    "cron",
    "timezone",
    "variables",
    "allow_overlap",
    "created_at",
    "updated_at",
)
#: Setting a function's schedule replaces the one it had, keeping its id and creation time.
_PUT = insert_sql("schedules", COLUMNS) + (
    " ON CONFLICT (function_id) DO UPDATE SET key_id = excluded.key_id, cron = excluded.cron,"
    " timezone = excluded.timezone, variables = excluded.variables,"
    " allow_overlap = excluded.allow_overlap, updated_at = excluded.updated_at RETURNING *"
)


def schedule(row: Row) -> Schedule:
    return Schedule(
        schedule_id=row["schedule_id"],
        function_id=row["function_id"],
        account_id=row["account_id"],
        key_id=row["key_id"],
        cron=row["cron"],
        timezone=row["timezone"],
        variables=undata(row["variables"]),
        allow_overlap=bool(row["allow_overlap"]),
        created_at=when(row["created_at"]),
        updated_at=when(row["updated_at"]),
    )


def tick(row: Row) -> ScheduleTick:
    return ScheduleTick(
        schedule_id=row["schedule_id"],
        function_id=row["function_id"],
        tick=when(row["tick"]),
        outcome=TickOutcome(row["outcome"]),
        run_id=row["run_id"],
        reason=row["reason"],
        claimed_by=row["claimed_by"],
        created_at=when(row["created_at"]),
    )


def put(tx: Tx, s: Schedule) -> Schedule:
    """Set the function's schedule, replacing the one it had (its tick history stays)."""
    row = tx.one(_PUT, {**{name: getattr(s, name) for name in COLUMNS}, "variables": data(s.variables)})
    assert row is not None
    return schedule(row)


def get(tx: Tx, function_id: str) -> Schedule | None:
    row = tx.one("SELECT * FROM schedules WHERE function_id = :id", {"id": function_id})
    return schedule(row) if row is not None else None


def listing(tx: Tx, account_id: str | None) -> list[Schedule]:
    """The account's schedules (every account's with None), oldest first."""
    where = "" if account_id is None else " WHERE account_id = :account"
    return [schedule(r) for r in tx.all(f"SELECT * FROM schedules{where} ORDER BY created_at", {"account": account_id})]


def delete(tx: Tx, function_id: str) -> bool:
    return tx.run("DELETE FROM schedules WHERE function_id = :id", {"id": function_id}) == 1


def claim_tick(tx: Tx, s: Schedule, at: dt.datetime, claimed_by: str, stale_claim_s: float) -> ScheduleTick | None:
    """Record the tick (SKIPPED when it would overlap); None if it was already taken."""
    now = dt.datetime.now(dt.UTC)
    key = {"schedule_id": s.schedule_id, "tick": at}
    # Held to commit: a claim of this schedule's other ticks waits, then sees this one.
    tx.lock("schedule:" + s.schedule_id)
    row = tx.one(
        "INSERT INTO schedule_ticks(schedule_id, tick, function_id, outcome, claimed_by, created_at, updated_at)"
        " VALUES (:schedule_id, :tick, :function_id, :outcome, :claimed_by, :now, :now)"
        " ON CONFLICT (schedule_id, tick) DO NOTHING RETURNING *",
        {
            **key,
            "function_id": s.function_id,
            "outcome": TickOutcome.CLAIMED.value,
            "claimed_by": claimed_by,
            "now": now,
        },
    )
    if row is None:
        return None
    reason = None if s.allow_overlap else _overlap(tx, s.schedule_id, at, now, stale_claim_s)
    if reason is not None:
        row = tx.one(
            "UPDATE schedule_ticks SET outcome = :outcome, reason = :reason"
            " WHERE schedule_id = :schedule_id AND tick = :tick RETURNING *",
            {**key, "outcome": TickOutcome.SKIPPED.value, "reason": reason},
        )
        assert row is not None
    return tick(row)


def _overlap(tx: Tx, schedule_id: str, at: dt.datetime, now: dt.datetime, stale_s: float) -> str | None:
    """Why the tick `at` must be skipped, or None: its latest CLAIMED or STARTED predecessor's
    run is still active, or (younger than `stale_s`) has not started its run yet."""
    previous = tx.one(
        "SELECT t.tick, t.outcome, t.run_id, t.created_at, r.active FROM schedule_ticks t"
        " LEFT JOIN runs r ON r.run_id = t.run_id"
        " WHERE t.schedule_id = :schedule_id AND t.tick < :tick AND t.outcome IN (:claimed, :started)"
        " ORDER BY t.tick DESC LIMIT 1",
        {
            "schedule_id": schedule_id,
            "tick": at,
            "claimed": TickOutcome.CLAIMED.value,
            "started": TickOutcome.STARTED.value,
        },
    )
    if previous is None:
        return None
    when_previous = stamp(when(previous["tick"]))
    if previous["outcome"] == TickOutcome.STARTED.value and previous["active"]:
        return f"run {previous['run_id']} of the tick at {when_previous} is still active"
    fresh = now - when(previous["created_at"]) < dt.timedelta(seconds=stale_s)
    if previous["outcome"] == TickOutcome.CLAIMED.value and fresh:
        return f"the run of the tick at {when_previous} is still being started"
    return None


def settle_tick(
    tx: Tx, schedule_id: str, at: dt.datetime, outcome: TickOutcome, run_id: str | None, reason: str | None
) -> None:
    """Record how a CLAIMED tick ended: STARTED with its run, or FAILED with the reason."""
    tx.run(
        "UPDATE schedule_ticks SET outcome = :outcome, run_id = :run_id, reason = :reason, updated_at = :now"
        " WHERE schedule_id = :schedule_id AND tick = :tick",
        {
            "outcome": outcome.value,
            "run_id": run_id,
            "reason": reason,
            "now": dt.datetime.now(dt.UTC),
            "schedule_id": schedule_id,
            "tick": at,
        },
    )


def list_ticks(tx: Tx, function_id: str, limit: int) -> list[ScheduleTick]:
    """The function's recorded ticks, newest first."""
    found = tx.all(
        "SELECT * FROM schedule_ticks WHERE function_id = :id ORDER BY tick DESC LIMIT :limit",
        {"id": function_id, "limit": limit},
    )
    return [tick(r) for r in found]
