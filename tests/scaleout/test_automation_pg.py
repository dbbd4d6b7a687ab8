"""Schedules and webhooks in scale-out mode: two API servers, each with its scheduler and webhook
dispatcher, and a worker, all on one real PostgreSQL."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import deploy
from tests.operator.receiver import Receiver
from tests.operator.test_schedules import EVERY_1_S, runs_of, ticks, wait_for, when
from tests.operator.test_webhooks import signed_by
from tests.scaleout.cluster import Cluster, Node

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def nodes(pg_dsn: str, tmp_path: Path) -> Iterator[tuple[Cluster, Node, Node]]:
    """Two API servers (no executor of their own) and one worker; schedulers look every 0.1 s, so
    both reach each tick at about the same time."""
    cluster = Cluster(
        pg_dsn,
        tmp_path,
        schedule_poll_s=0.1,
        webhook_poll_s=0.2,
        webhook_backoff_base_s=0.5,
        outbound_allowed_hosts="127.0.0.1",  # the test receiver's
    )
    try:
        first, second = cluster.api(), cluster.api()
        cluster.worker(first)
        yield cluster, first, second
    finally:
        cluster.close()


def _client(api: Node, cluster: Cluster) -> httpx.Client:
    return httpx.Client(base_url=str(api.url), headers=cluster.headers(), timeout=60)


def test_two_schedulers_fire_each_tick_once_and_on_time(nodes: tuple[Cluster, Node, Node]) -> None:
    cluster, first, second = nodes
    with _client(first, cluster) as api, _client(second, cluster) as other:
        fid = deploy(api, "def run(n: int = 0):\n    return n + 1\n", name="ticker")["function_id"]
        schedule = {"cron": EVERY_1_S, "variables": {"n": 41}, "allow_overlap": True}  # every tick starts a run
        assert api.post(f"/functions/{fid}/schedule", json=schedule).status_code == 200
        assert other.get(f"/functions/{fid}/schedule").json()["cron"] == EVERY_1_S
        wait_for(lambda: len(ticks(api, fid)) >= 6, 30, "six ticks")
        assert other.delete(f"/functions/{fid}/schedule").json()["status"] == "success"
        time.sleep(1.5)  # a claim in flight when the schedule went is settled by now

        recorded = ticks(other, fid)
        moments = [t["tick"] for t in recorded]
        assert len(moments) == len(set(moments)) >= 6
        assert {(when(b) - when(a)).total_seconds() for a, b in itertools.pairwise(moments)} == {1.0}
        assert {t["outcome"] for t in recorded} == {"started"}, recorded
        finished = wait_for(
            lambda: all(r["status"] == "closed" for r in runs_of(api, fid)) and runs_of(api, fid), 60, "runs to end"
        )
        # One run per tick, and no other: each tick fired exactly once across both schedulers.
        assert sorted(r["function_run_id"] for r in finished) == sorted(t["function_run_id"] for t in recorded)
        for tick in recorded:
            run = next(r for r in finished if r["function_run_id"] == tick["function_run_id"])
            late_s = (when(run["created_at"]) - when(tick["tick"])).total_seconds()
            assert 0 <= late_s < 1.5, f"run created {late_s} s after its tick"
            assert (run["origin"], run["variables"], run["result"]) == ("schedule", {"n": 41}, "42")
        print("ticks claimed by", sorted({t["claimed_by"] for t in recorded}))
        count = len(ticks(api, fid))
        time.sleep(1.5)
        assert len(ticks(api, fid)) == count  # deleted: nothing fires any more


def test_webhook_delivered_once_with_a_valid_signature(nodes: tuple[Cluster, Node, Node]) -> None:
    cluster, first, second = nodes
    with _client(first, cluster) as api, _client(second, cluster) as other, Receiver(statuses=[503]) as receiver:
        fid = deploy(api, "def run(name: str):\n    return {'hello': name}\n", name="hooked")["function_id"]
        created = api.post(f"/functions/{fid}/webhooks", json={"url": receiver.url})
        assert created.status_code == 200, created.text
        webhook = created.json()
        assert [w["webhook_id"] for w in other.get(f"/functions/{fid}/webhooks").json()["items"]] == [
            webhook["webhook_id"]
        ]
        body = {"workflow_id": fid, "variables": {"name": "ada"}, "stream": False}
        started = other.post(f"/functions/{fid}/runs/start", json=body, timeout=120).json()

        refused, accepted = receiver.wait_for(2, timeout_s=30)
        time.sleep(2)  # both dispatchers keep looking: nothing is sent again
        assert len(receiver.received) == 2
        (delivery,) = api.get(f"/functions/{fid}/webhooks/deliveries").json()["items"]

    for received in (refused, accepted):
        assert signed_by(received, webhook["secret"])
        assert not signed_by(received, webhook["secret"] + "x")
    assert refused.body == accepted.body
    assert refused.headers["X-Browserfn-Delivery"] == accepted.headers["X-Browserfn-Delivery"]
    payload = json.loads(accepted.body)
    assert {k: payload[k] for k in ("event", "function_id", "function_run_id", "status", "result")} == {
        "event": "run.ended",
        "function_id": fid,
        "function_run_id": started["function_run_id"],
        "status": "closed",
        "result": {"hello": "ada"},
    }
    assert (delivery["status"], delivery["target"], delivery["function_run_id"]) == (
        "delivered",
        webhook["webhook_id"],
        started["function_run_id"],
    )
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 200]
    assert delivery["payload"].encode() == accepted.body


def test_callback_url_is_signed_with_the_account_secret(nodes: tuple[Cluster, Node, Node]) -> None:
    cluster, first, second = nodes
    with _client(first, cluster) as api, _client(second, cluster) as other, Receiver() as receiver:
        fid = deploy(api, "def run():\n    return 7\n", name="callback")["function_id"]
        secret = api.get("/webhooks/secret").json()["secret"]
        assert other.get("/webhooks/secret").json()["secret"] == secret  # one per account, on every server
        body = {"workflow_id": fid, "variables": {}, "stream": False, "callback_url": receiver.url}
        started = other.post(f"/functions/{fid}/runs/start", json=body, timeout=120).json()
        (received,) = receiver.wait_for(1, timeout_s=30)
    assert signed_by(received, secret)
    assert json.loads(received.body)["function_run_id"] == started["function_run_id"]
