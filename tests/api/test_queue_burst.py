"""A simultaneous burst of starts never queues more than the account's limit (issue 16 point 8:
13 were admitted for a limit of 12): the store counts the queue and queues the run in one step."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import deploy
from tests.live_server import LiveServer

CONCURRENCY = 1
QUEUE_LIMIT = 3
BURST = 16
HOLD = "import time\n\ndef run():\n    time.sleep(60)\n    return 1\n"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(
        tmp_path / "server",
        warm_processes=1,
        extra_args=("--account-concurrency", str(CONCURRENCY), "--queue-limit", str(QUEUE_LIMIT)),
        env={"BROWSERFN_RATE_LIMIT_PER_S": "0"},
    )
    yield server.start()
    server.stop()


def test_a_burst_of_starts_queues_no_more_than_the_limit(live: LiveServer) -> None:
    with live.client(timeout=60) as api:
        function_id = deploy(api, HOLD, restricted=False)["function_id"]

    def start(_: int) -> int:
        # Each its own connection, all at once; an admitted start answers when its run ends (not
        # within this test), so it shows as a client timeout; a refused one answers 429 at once.
        with live.client(timeout=15) as client:
            try:
                body = {"workflow_id": function_id, "variables": {}, "stream": False}
                return client.post(f"/functions/{function_id}/runs/start", json=body).status_code
            except httpx.TimeoutException:
                return 0

    with concurrent.futures.ThreadPoolExecutor(BURST) as pool:
        answers = list(pool.map(start, range(BURST)))
    with live.client(timeout=60) as api:
        active = api.get(f"/functions/{function_id}/runs", params={"only_active": True, "page_size": 100}).json()
        states = sorted(r["state"] for r in active["items"])
        for run in active["items"]:
            api.delete(f"/functions/{function_id}/runs/{run['function_run_id']}")
    assert sorted(set(answers)) == [0, 429], answers
    assert answers.count(429) == BURST - CONCURRENCY - QUEUE_LIMIT, answers
    assert states == ["queued"] * QUEUE_LIMIT + ["running"] * CONCURRENCY, states
