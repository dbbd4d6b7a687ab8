"""Browser-session records, on every backend: what any server answers for a session, ended once,
and the sweeps that end the sessions of hosts that restarted or went silent."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from browserfn.models import SessionRecord, utcnow
from browserfn.store.base import Store
from browserfn.tokens import new_id

HOST_A = "http://10.0.0.1:8001"
HOST_B = "http://10.0.0.2:8001"


def _session(account_id: str = "acme", owner_url: str = HOST_A, run_id: str | None = None) -> SessionRecord:
    now = utcnow()
    options = {"viewport_width": 800, "user_agent": "ua/1", "chrome_args": ["--a"]}
    return SessionRecord(new_id(), account_id, run_id, owner_url, options, 3, 15, now, now)


async def test_a_session_reads_back_as_written(store: Store) -> None:
    session = _session(run_id="run-1")
    await store.create_session(session)
    assert await store.get_session(session.session_id) == session
    assert await store.get_session("missing") is None


async def test_listing_is_per_account_newest_first_and_pages(store: Store) -> None:
    mine = [_session() for _ in range(3)]
    for session in mine:
        await store.create_session(session)
    await store.create_session(_session(account_id="other"))
    ended = dataclasses.replace(mine[0], status="closed", close_reason="manual", closed_at=utcnow())
    assert await store.finish_session(ended) is True

    every = await store.list_sessions("acme", only_active=False, offset=0, limit=10)
    assert [s.session_id for s in every] == [s.session_id for s in reversed(mine)]
    active = await store.list_sessions("acme", only_active=True, offset=0, limit=10)
    assert [s.session_id for s in active] == [mine[2].session_id, mine[1].session_id]
    assert [s.session_id for s in await store.list_sessions("acme", False, 1, 1)] == [mine[1].session_id]


async def test_activity_is_saved_while_open_and_a_session_ends_once(store: Store) -> None:
    session = _session()
    await store.create_session(session)
    later = session.created_at + dt.timedelta(seconds=5)
    assert await store.record_session_activity(session.session_id, later, 4) is True
    found = await store.get_session(session.session_id)
    assert found is not None and (found.last_accessed_at, found.steps) == (later, 4)

    closed = dataclasses.replace(
        found, status="timed_out", close_reason="idle_timeout", closed_by="idle timeout reached", closed_at=later
    )
    assert await store.finish_session(closed) is True
    assert await store.get_session(session.session_id) == closed
    # Whoever comes second changes nothing: not another close, not late activity.
    again = dataclasses.replace(closed, status="closed", close_reason="manual", closed_by="stop requested")
    assert await store.finish_session(again) is False
    assert await store.record_session_activity(session.session_id, later + dt.timedelta(seconds=1), 9) is False
    assert await store.get_session(session.session_id) == closed


async def test_a_restarted_host_ends_what_its_previous_life_hosted(store: Store) -> None:
    old, elsewhere = _session(owner_url=HOST_A), _session(owner_url=HOST_B)
    for session in (old, elsewhere):
        await store.create_session(session)
    assert await store.end_hosted_sessions(HOST_A, "its host restarted") == [old.session_id]
    ended = await store.get_session(old.session_id)
    assert ended is not None
    assert (ended.status, ended.close_reason, ended.closed_by) == ("error", "error", "its host restarted")
    assert ended.closed_at is not None
    assert (await store.get_session(elsewhere.session_id)).active  # type: ignore[union-attr]
    assert await store.end_hosted_sessions(HOST_A, "again") == []


async def test_sessions_of_silent_hosts_are_ended_by_whoever_sweeps(store: Store) -> None:
    on_a, on_b, on_me = _session(owner_url=HOST_A), _session(owner_url=HOST_B), _session(owner_url="http://me")
    for session in (on_a, on_b, on_me):
        await store.create_session(session)
    await store.session_host_alive(HOST_A)
    # B never sent a heartbeat; the sweeper's own sessions are never its business.
    gone = await store.end_sessions_of_silent_hosts("http://me", 60.0, "its host went silent")
    assert gone == [on_b.session_id]
    assert (await store.get_session(on_a.session_id)).active  # type: ignore[union-attr]
    assert (await store.get_session(on_me.session_id)).active  # type: ignore[union-attr]

    await asyncio.sleep(0.05)
    assert await store.end_sessions_of_silent_hosts("http://me", 0.01, "its host went silent") == [on_a.session_id]
    await store.session_host_alive(HOST_A)  # a heartbeat refreshes the host
    late = _session(owner_url=HOST_A)
    await store.create_session(late)
    assert await store.end_sessions_of_silent_hosts("http://me", 60.0, "its host went silent") == []
