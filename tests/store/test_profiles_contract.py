"""Browser profiles on every backend: per account, state round trip, and the one-writer lease
(taken, refused to others, released, or taken over once its session is no longer open)."""

from __future__ import annotations

import datetime as dt

from browserfn.models import utcnow
from browserfn.store.base import Store
from browserfn.store.ops import profiles

STATE = {"cookies": [{"name": "a", "value": "\u0000é", "domain": "x.test", "path": "/"}], "local_storage": {}}


async def test_profiles_belong_to_their_account(store: Store) -> None:
    made = await store.call(profiles.create, "acme", "p1", "mine", STATE, utcnow())
    assert (made.name, made.state, made.writer_session_id) == ("mine", STATE, None)
    assert await store.call(profiles.get, "other", "p1") is None
    await store.call(profiles.create, "acme", "p2", "second", {}, utcnow())
    assert [p.profile_id for p in await store.call(profiles.listing, "acme", None, 0, 10)] == ["p2", "p1"]
    assert [p.profile_id for p in await store.call(profiles.listing, "acme", "mine", 0, 10)] == ["p1"]
    assert await store.call(profiles.listing, "other", None, 0, 10) == []
    assert await store.call(profiles.delete, "other", "p1", utcnow()) == ""
    assert await store.call(profiles.delete, "acme", "p1", utcnow()) is None
    assert await store.call(profiles.get, "acme", "p1") is None


async def test_one_writer_at_a_time(store: Store) -> None:
    now = utcnow()
    stale = now - dt.timedelta(seconds=60)
    await store.call(profiles.create, "acme", "p", None, {}, now)
    assert await store.call(profiles.lease, "acme", "p", "s1", now, stale) is None
    assert await store.call(profiles.lease, "acme", "p", "s1", now, stale) is None  # again: still its own
    assert await store.call(profiles.lease, "acme", "p", "s2", now, stale) == "s1"
    assert await store.call(profiles.save_state, "acme", "p", {"x": 1}, "", now, stale) == "s1"
    assert await store.call(profiles.save_state, "acme", "p", {"x": 2}, "s1", now, stale) is None
    assert await store.call(profiles.delete, "acme", "p", stale) == "s1"
    assert await store.call(profiles.lease, "acme", "missing", "s2", now, stale) == ""
    # s1 is no open session: once its lease is older than the grace, another may take it.
    later = now + dt.timedelta(seconds=61)
    assert await store.call(profiles.lease, "acme", "p", "s2", later, later - dt.timedelta(seconds=60)) is None
    await store.call(profiles.release, "p", "s1")  # not the holder: nothing happens
    found = await store.call(profiles.get, "acme", "p")
    assert found is not None and found.writer_session_id == "s2" and found.state == {"x": 2}
    await store.call(profiles.release, "p", "s2")
    assert await store.call(profiles.lease, "acme", "p", "s3", now, stale) is None
