"""Usage per account and period, on both backends: runs and their seconds, sessions and their
minutes, model tokens; the usage log newest first; another account and another period see none."""

from __future__ import annotations

import dataclasses
import datetime as dt

from browserfn.models import RunState, SessionRecord
from browserfn.store.base import Store
from browserfn.store.ops import usage
from browserfn.store.tx import Tx
from browserfn.tokens import new_id
from tests.store.test_contract import _message, _run, _setup

T0 = dt.datetime(2026, 5, 10, 12, 0, tzinfo=dt.UTC)
MAY = (dt.datetime(2026, 5, 1, tzinfo=dt.UTC), dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
JUNE = (dt.datetime(2026, 6, 1, tzinfo=dt.UTC), dt.datetime(2026, 7, 1, tzinfo=dt.UTC))
NOW = dt.datetime(2026, 5, 20, tzinfo=dt.UTC)


def _model_calls_table(tx: Tx) -> None:
    """The model layer's table (its migration is on the model layer's branch): the columns read here."""
    tx.run(
        "CREATE TABLE model_calls (seq INTEGER PRIMARY KEY, account_id TEXT NOT NULL, purpose TEXT NOT NULL,"
        " tokens_in BIGINT NOT NULL, tokens_out BIGINT NOT NULL, duration_ms INTEGER NOT NULL, at "
        + ("TIMESTAMPTZ" if tx.dialect == "postgresql" else "TEXT")
        + " NOT NULL)"
    )


def _model_call(
    tx: Tx, account_id: str, purpose: str, tokens_in: int, tokens_out: int, ms: int, at: dt.datetime
) -> None:
    tx.run(
        "INSERT INTO model_calls(seq, account_id, purpose, tokens_in, tokens_out, duration_ms, at)"
        " VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM model_calls), :a, :p, :i, :o, :ms, :at)",
        {"a": account_id, "p": purpose, "i": tokens_in, "o": tokens_out, "ms": ms, "at": at},
    )


async def test_usage_sums_runs_sessions_and_tokens_per_account_and_period(store: Store) -> None:
    account_id, key_id, function = await _setup(store)
    finished = _run(function, key_id)
    finished = dataclasses.replace(finished, created_at=T0, started_at=T0 + dt.timedelta(seconds=1))
    await store.create_run(finished)
    await store.transition_run(
        finished.run_id, [RunState.QUEUED], RunState.RUNNING, {"started_at": finished.started_at}
    )
    ended = await store.finish_run(
        finished.run_id, RunState.SUCCEEDED, result_json="1", reason=None, result_message=_message
    )
    assert ended is not None
    # its end is stamped now; the query counts seconds from start to end
    run_seconds = (ended.ended_at - ended.started_at).total_seconds()  # type: ignore[operator]
    await store.create_run(dataclasses.replace(_run(function, key_id), created_at=T0 + dt.timedelta(minutes=1)))
    opened = T0 - dt.timedelta(seconds=30)
    session = SessionRecord(new_id(), account_id, None, "http://h", {}, 3, 15, opened, opened)
    await store.create_session(session)
    await store.finish_session(
        dataclasses.replace(session, status="closed", close_reason="manual", closed_at=opened + dt.timedelta(minutes=3))
    )
    assert (await store.call(usage.totals, account_id, *MAY, NOW)).prompt_tokens == 0  # no model layer yet
    await store.call(_model_calls_table)
    await store.call(_model_call, account_id, "scrape", 120, 30, 800, T0 + dt.timedelta(minutes=2))
    await store.call(_model_call, "someone-else", "scrape", 999, 999, 1, T0)

    totals = await store.call(usage.totals, account_id, *MAY, NOW)
    assert totals == usage.UsageTotals(
        run_count=2,
        run_seconds=totals.run_seconds,
        function_count=1,
        session_count=1,
        session_minutes=3.0,
        prompt_tokens=120,
        completion_tokens=30,
    )
    assert abs(totals.run_seconds - run_seconds) < 0.01  # the run not started adds nothing
    assert await store.call(usage.totals, account_id, *JUNE, NOW) == usage.UsageTotals(0, 0.0, 0, 0, 0.0, 0, 0)
    assert await store.call(usage.totals, "nobody", *MAY, NOW) == usage.UsageTotals(0, 0.0, 0, 0, 0.0, 0, 0)

    log = await store.call(usage.entries, account_id, *MAY, NOW, None, 0, 10)
    assert [(e.endpoint, e.created_at, e.duration_ms) for e in log] == [
        ("page.scrape", T0 + dt.timedelta(minutes=2), 800),
        ("workflows.runs.start", T0 + dt.timedelta(minutes=1), 0),
        ("workflows.runs.start", T0, round(run_seconds * 1000)),
        ("sessions.start", opened, 180_000),
    ]
    assert [e.endpoint for e in await store.call(usage.entries, account_id, *MAY, NOW, "sessions.start", 0, 10)] == [
        "sessions.start"
    ]
    assert len(await store.call(usage.entries, account_id, *MAY, NOW, None, 1, 2)) == 2
    assert await store.call(usage.entries, account_id, *JUNE, NOW, None, 0, 10) == []
    # metrics: runs not ended, by state, every account's
    assert await store.call(usage.active_runs_by_state) == {"queued": 1}
