"""Schedules against a real server: on time, no overlap, exactly once with two schedulers."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from browserfn.api.app import build_services
from browserfn.automation import Schedule, TickOutcome
from browserfn.config import Settings
from browserfn.functions import Upload
from browserfn.models import Principal
from browserfn.scheduler import Scheduler
from browserfn.store.tx import stamp
from tests.api.helpers import wait_for
from tests.conftest import deploy
from tests.live_server import LiveServer

EVERY_2_S = "* * * * * */2"
EVERY_1_S = "* * * * * *"


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def ticks(api: httpx.Client, fid: str) -> list[dict[str, Any]]:
    response = api.get(f"/functions/{fid}/schedule/ticks", params={"limit": 500})
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))


def runs_of(api: httpx.Client, fid: str) -> list[dict[str, Any]]:
    response = api.get(f"/functions/{fid}/runs/", params={"only_active": False, "page_size": 100})
    return list(reversed(response.json()["items"]))


def test_schedule_fires_on_time_and_runs_say_so(api: httpx.Client) -> None:
    fid = deploy(api, "def run(n: int = 0):\n    return n * 2\n", name="ticker")["function_id"]
    answer = api.post(f"/functions/{fid}/schedule", json={"cron": EVERY_2_S, "variables": {"n": 21}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "success"
    assert body["schedule"]["cron"] == EVERY_2_S
    assert body["schedule"]["timezone"] == "UTC"
    assert api.get(f"/functions/{fid}/schedule").json()["schedule_id"] == body["schedule"]["schedule_id"]
    assert [s["function_id"] for s in api.get("/schedules").json()["items"]].count(fid) == 1

    started = wait_for(
        lambda: [t for t in ticks(api, fid) if t["outcome"] == "started"][2:] and ticks(api, fid),
        15,
        "three started ticks",
    )
    assert api.delete(f"/functions/{fid}/schedule").json()["status"] == "success"
    started = [t for t in started if t["outcome"] == "started"]
    for tick in started:
        moment = when(tick["tick"])
        assert moment.second % 2 == 0 and moment.microsecond == 0
        run = api.get(f"/functions/{fid}/runs/{tick['function_run_id']}").json()
        late_s = (when(run["created_at"]) - moment).total_seconds()
        assert 0 <= late_s < 1.5, f"run created {late_s} s after its tick"
        assert run["origin"] == "schedule"
        assert run["variables"] == {"n": 21}
    # every tick recorded, two seconds apart (a tick met by a still-active run is recorded skipped)
    recorded = ticks(api, fid)
    gaps = {(when(b["tick"]) - when(a["tick"])).total_seconds() for a, b in itertools.pairwise(recorded)}
    assert gaps == {2.0}
    assert {t["outcome"] for t in recorded} <= {"started", "skipped"}
    finished = wait_for(
        lambda: all(r["status"] == "closed" for r in runs_of(api, fid)) and runs_of(api, fid), 15, "runs to end"
    )
    assert {r["result"] for r in finished} == {"42"}
    # deleted: nothing fires any more
    count = len(ticks(api, fid))
    time.sleep(2.5)
    assert len(ticks(api, fid)) == count
    assert api.get(f"/functions/{fid}/schedule").status_code == 404


def test_schedule_rejects_bad_cron_and_timezone(api: httpx.Client) -> None:
    fid = deploy(api, "def run():\n    return 1\n", name="badcron")["function_id"]
    bad_cron = api.post(f"/functions/{fid}/schedule", json={"cron": "every day", "variables": {}})
    assert bad_cron.status_code == 422
    assert "invalid cron" in bad_cron.json()["message"]
    bad_tz = api.post(f"/functions/{fid}/schedule", json={"cron": "0 9 * * *", "timezone": "Mars/Olympus"})
    assert bad_tz.status_code == 422
    assert "unknown timezone" in bad_tz.json()["message"]
    paris = api.post(f"/functions/{fid}/schedule", json={"cron": "0 9 * * *", "timezone": "Europe/Paris"})
    assert paris.status_code == 200
    next_at = when(paris.json()["schedule"]["next_tick_at"])
    assert next_at.astimezone(dt.UTC).hour in (7, 8)  # 09:00 in Paris is 07:00 or 08:00 UTC
    api.delete(f"/functions/{fid}/schedule")


def test_overlapping_tick_is_skipped_and_recorded(api: httpx.Client) -> None:
    code = "import time\n\ndef run():\n    time.sleep(2.5)\n    return 'done'\n"
    fid = deploy(api, code, name="slow")["function_id"]
    assert api.post(f"/functions/{fid}/schedule", json={"cron": EVERY_1_S}).status_code == 200
    wait_for(lambda: len([t for t in ticks(api, fid) if t["outcome"] == "started"]) >= 2, 20, "two started ticks")
    api.delete(f"/functions/{fid}/schedule")
    recorded = ticks(api, fid)
    started = [t for t in recorded if t["outcome"] == "started"]
    skipped = [t for t in recorded if t["outcome"] == "skipped"]
    assert skipped, recorded
    first_run = started[0]["function_run_id"]
    assert any(first_run in t["reason"] and "still active" in t["reason"] for t in skipped), skipped
    wait_for(lambda: all(r["status"] != "active" for r in runs_of(api, fid)), 15, "runs to end")
    runs = [r for r in runs_of(api, fid) if r["origin"] == "schedule"]
    assert len(runs) == len(started)
    for earlier, later in itertools.pairwise(runs):
        assert when(earlier["stopped_at"]) <= when(later["started_at"]), "scheduled runs overlapped"


def test_two_servers_fire_each_tick_once(tmp_path: Path) -> None:
    first = LiveServer(tmp_path / "shared", warm_processes=0).start()
    second = LiveServer(tmp_path / "shared", warm_processes=0).start()
    try:
        with first.client() as api:
            fid = deploy(api, "def run():\n    return 'tick'\n", name="once")["function_id"]
            schedule = {"cron": EVERY_1_S, "allow_overlap": True}  # every tick starts a run
            assert api.post(f"/functions/{fid}/schedule", json=schedule).status_code == 200
            time.sleep(6)
            api.delete(f"/functions/{fid}/schedule")
            time.sleep(1)
            recorded = ticks(api, fid)
            moments = [t["tick"] for t in recorded]
            assert len(moments) == len(set(moments)) >= 4
            gaps = {(when(b) - when(a)).total_seconds() for a, b in itertools.pairwise(moments)}
            assert gaps == {1.0}
            assert {t["outcome"] for t in recorded} == {"started"}
            wait_for(lambda: all(r["status"] == "closed" for r in runs_of(api, fid)), 15, "runs to end")
            runs = runs_of(api, fid)
            assert sorted(r["function_run_id"] for r in runs) == sorted(t["function_run_id"] for t in recorded)
            assert all(r["origin"] == "schedule" for r in runs)
    finally:
        second.stop()
        first.stop()


@pytest.mark.timeout(120)
async def test_racing_schedulers_claim_one_tick_once(tmp_path: Path) -> None:
    """Two schedulers, each with its own store connection and executor, handed the same instant."""
    settings = Settings(data_dir=tmp_path, warm_processes=0)
    services = [build_services(settings), build_services(settings)]
    for svc in services:
        await svc.store.open()
        await svc.executor.start()
    try:
        account = await services[0].store.ensure_account("racer")
        key = await services[0].store.create_api_key(account.account_id, "k", "hash-racer", "bfn_racer")
        principal = Principal(account.account_id, key.key_id)
        function = await services[0].functions.create(
            principal,
            Upload("f.py", b"def run():\n    return 1\n"),
            name="f",
            description=None,
            shared=False,
            restricted=True,
            timeout_s=None,
        )
        await services[0].store.put_schedule(
            Schedule(
                "sched-1",
                function.function_id,
                account.account_id,
                key.key_id,
                "* * * * * *",
                "UTC",
                {},
                False,
                dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
        )
        now = dt.datetime.now(dt.UTC).replace(microsecond=400_000)
        schedulers = [Scheduler.from_settings(settings, s.store, s.functions, s.runs) for s in services]
        won = []
        for _ in range(3):  # the same instant handed over and over: still one claim
            results = await asyncio.gather(*(s.fire_due(now) for s in schedulers))
            won += [t for r in results for t in r]
        assert len(won) == 1
        recorded = await services[1].store.list_schedule_ticks(function.function_id, 10)
        assert len(recorded) == 1
        assert recorded[0].outcome is TickOutcome.STARTED
        assert stamp(recorded[0].tick) == stamp(now.replace(microsecond=0))
        assert recorded[0].claimed_by in {s.name for s in schedulers}
        runs = await services[0].store.list_runs(
            function.function_id, account_id=None, key_id=None, only_active=False, offset=0, limit=10
        )
        assert [(r.run_id, r.origin) for r in runs] == [(recorded[0].run_id, "schedule")]
        assert won[0].run_id == recorded[0].run_id
    finally:
        for svc in services:
            await svc.executor.close()
            await svc.store.close()
