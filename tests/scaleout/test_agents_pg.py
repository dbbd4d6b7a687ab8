"""Agents on PostgreSQL with two API servers: an agent runs in the process hosting its session,
and any server starts, follows and stops it (the start and the stop are relayed to that process;
status and listing come from the store)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.browser.llm_peer import API_KEY, ChatPeer
from tests.browser.site import LocalSite
from tests.browser.test_agents import DUNE, librarian, script_model
from tests.scaleout.cluster import Cluster


def _wait_closed(client: httpx.Client, agent_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while (status := client.get(f"/agents/{agent_id}").json())["status"] == "active":
        assert time.monotonic() < deadline, status
        time.sleep(0.3)
    found: dict[str, Any] = status
    return found


def test_an_agent_on_one_servers_session_is_driven_through_another(pg_dsn: str, tmp_path: Path) -> None:
    peer, site = ChatPeer().start(), LocalSite().start()
    llm = {"llm_model": "openai/peer-model", "llm_base_url": peer.base_url, "llm_api_key": API_KEY}
    cluster = Cluster(pg_dsn, tmp_path, **llm)
    try:
        first, second = cluster.api(), cluster.api()
        a = httpx.Client(base_url=first.url, headers=cluster.headers(), timeout=60)
        b = httpx.Client(base_url=second.url, headers=cluster.headers(), timeout=60)
        sid = a.post("/sessions/start", json={}).json()["session_id"]
        b.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/library"})

        script_model(peer, librarian)
        started = b.post("/agents/start", json={"session_id": sid, "task": "find Dune", "response_format": None})
        assert started.status_code == 200, started.text
        agent_id = started.json()["agent_id"]
        done = _wait_closed(b, agent_id)
        assert (done["state"], done["success"]) == ("succeeded", True)
        assert [s["action"]["type"] for s in done["steps"]] == ["fill", "click", "completion"]
        assert (
            done["answer"]
            == '{"title": "Dune", "author": "Frank Herbert", "year": 1965}'
            == (a.get(f"/agents/{agent_id}").json()["answer"])
        )
        assert DUNE["author"] in done["answer"]
        assert [x["agent_id"] for x in b.get("/agents", params={"only_active": "false"}).json()["items"]] == [agent_id]

        peer.clear()
        peer.delay(30)
        script_model(peer, librarian)
        slow = b.post("/agents/start", json={"session_id": sid, "task": "find Solaris"}).json()["agent_id"]
        deadline = time.monotonic() + 60
        while not any("find Solaris" in r["messages"][1]["content"] for r in peer.requests):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        began = time.monotonic()
        stopped = b.delete(f"/agents/{slow}/stop")
        assert stopped.status_code == 200 and time.monotonic() - began < 2.0, stopped.text
        assert stopped.json()["state"] == "stopped" == a.get(f"/agents/{slow}").json()["state"]
        other = {"Authorization": f"Bearer {cluster.create_key('other')}"}
        assert b.delete(f"/agents/{slow}/stop", headers=other).status_code == 404
        assert b.get(f"/agents/{agent_id}", headers=other).status_code == 404
        a.close()
        b.close()
    finally:
        cluster.close()
        peer.stop()
        site.stop()
