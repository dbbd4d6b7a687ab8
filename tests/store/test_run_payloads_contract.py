"""Run payload upload slots, on every backend: made empty, filled once with any bytes, gone with
the run's report."""

from __future__ import annotations

from browserfn.store.base import Store
from browserfn.store.ops import run_payloads


async def test_a_slot_is_filled_once_and_discarded_with_its_run(store: Store) -> None:
    await store.call(run_payloads.create, "u1", "run-1", "acme", "result", 3, "a" * 43 + "=")
    await store.call(run_payloads.create, "u2", "run-2", "acme", "logs", 2, "b" * 43 + "=")
    empty = await store.call(run_payloads.get, "u1")
    assert empty is not None and (empty.run_id, empty.account_id, empty.field, empty.size_bytes) == (
        "run-1",
        "acme",
        "result",
        3,
    )
    assert empty.content is None
    content = b"\x00\xff\x01"  # any bytes, NUL included
    assert await store.call(run_payloads.fill, "u1", content) is True
    assert await store.call(run_payloads.fill, "u1", b"xyz") is False  # once
    assert await store.call(run_payloads.fill, "missing", b"xyz") is False
    filled = await store.call(run_payloads.get, "u1")
    assert filled is not None and filled.content == content
    assert await store.call(run_payloads.delete_for_run, "run-1") == 1
    assert await store.call(run_payloads.get, "u1") is None
    assert await store.call(run_payloads.get, "u2") is not None
