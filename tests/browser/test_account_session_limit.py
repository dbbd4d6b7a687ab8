"""One account cannot take every browser session: `account_max_sessions` caps an account's open
sessions on a server (its runs' included), so another account still gets one. Real server, real
Chromium, small limits; a simultaneous burst of starts is held to the limit too."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import deploy
from tests.live_server import LiveServer

ACCOUNT_FULL = "this account already has 2 open sessions on this server (account_max_sessions): stop one first"
SERVER_FULL = "this server already has 3 open sessions"


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[LiveServer]:
    env = {"BROWSERFN_MAX_SESSIONS": "3", "BROWSERFN_RATE_LIMIT_PER_S": "0"}
    live = LiveServer(
        tmp_path / "server", extra_args=("--browser-pool-size", "1", "--account-max-sessions", "2"), env=env
    )
    yield live.start()
    live.stop()


def _start(client: httpx.Client) -> httpx.Response:
    return client.post("/sessions/start", json={})


def test_one_account_holding_its_limit_leaves_sessions_for_others(limited: LiveServer) -> None:
    greedy_key, other_key, third_key = (limited.create_key(name) for name in ("greedy", "other", "third"))
    with (
        limited.client(greedy_key, timeout=180) as greedy,
        limited.client(other_key, timeout=180) as other,
        limited.client(third_key, timeout=180) as third,
    ):
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            burst = list(pool.map(lambda _: _start(greedy), range(4)))
        assert sorted(r.status_code for r in burst) == [200, 200, 429, 429], [r.text for r in burst]
        refused = [r for r in burst if r.status_code == 429]
        assert all(r.json() == {"status": 429, "message": ACCOUNT_FULL} for r in refused)
        assert refused[0].headers["Retry-After"] == "5"
        held = [r.json()["session_id"] for r in burst if r.status_code == 200]

        # A run of the greedy account counts against it too: its SDK session start is refused.
        fid = deploy(
            greedy,
            """
            from notte_sdk import NotteClient
            def run():
                with NotteClient().Session() as session:
                    return session.session_id
            """,
            "opener",
        )["function_id"]
        ran = greedy.post(f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {}, "stream": False})
        assert ran.json()["status"] == "failed" and ACCOUNT_FULL in ran.json()["result"], ran.text

        # Another account still gets its session.
        theirs = _start(other)
        assert theirs.status_code == 200, theirs.text
        # The server's own limit still holds for everyone.
        assert _start(third).json() == {"status": 429, "message": SERVER_FULL}

        # Once one is stopped, the greedy account may open one again.
        assert greedy.delete(f"/sessions/{held[0]}/stop").status_code == 200
        again = _start(greedy)
        assert again.status_code == 200, again.text
        open_ones = [(greedy, held[1]), (greedy, again.json()["session_id"]), (other, theirs.json()["session_id"])]
        for client, session_id in open_ones:
            assert client.delete(f"/sessions/{session_id}/stop").status_code == 200
