"""Idle timeout and maximum duration decide when the reaper closes a session."""

from __future__ import annotations

import time

from browserfn.browser.sessions import Session


def _session(idle_min: int, max_min: int) -> Session:
    return Session("s", "acct", None, idle_timeout_min=idle_min, max_duration_min=max_min, options={}, cdp_token="t")


def test_idle_timeout_counts_from_the_last_access() -> None:
    session = _session(idle_min=2, max_min=15)
    now = time.monotonic()
    assert session.expired(now + 119) is None
    assert session.expired(now + 121) == "idle_timeout"
    session.touch()  # any API call or CDP frame
    assert session.expired(time.monotonic() + 119) is None


def test_max_duration_wins_over_activity() -> None:
    session = _session(idle_min=10, max_min=5)
    session.touch()
    assert session.expired(time.monotonic() + 5 * 60 + 1) == "max_duration"


def test_a_closed_session_records_how_it_ended_and_where_it_lived() -> None:
    session = _session(idle_min=3, max_min=15)
    session.status, session.close_reason, session.closed_by = "timed_out", "idle_timeout", "idle timeout reached"
    record = session.record("http://10.0.0.7:8001")
    assert (record.session_id, record.owner_url, record.idle_timeout_min, record.max_duration_min) == (
        "s",
        "http://10.0.0.7:8001",
        3,
        15,
    )
    assert (record.status, record.close_reason, record.closed_by, record.active) == (
        "timed_out",
        "idle_timeout",
        "idle timeout reached",
        False,
    )
