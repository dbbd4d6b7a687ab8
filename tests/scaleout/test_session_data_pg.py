"""A session's state and data across servers on PostgreSQL: a session hosted by one API server is
driven through another (the calls are relayed to its host): cookies, a file uploaded into the
page, what the page downloads, network logs, the exported script, and a persisted profile that
the next session, opened through the other server, is logged in with."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.browser.data_site import DOWNLOAD_BYTES, DataSite
from tests.scaleout.cluster import Cluster

os.environ.setdefault("DISABLE_TELEMETRY", "true")


def _js(client: httpx.Client, sid: str, code: str) -> str:
    answer = client.post(f"/sessions/{sid}/page/execute", json={"type": "evaluate_js", "code": code})
    assert answer.status_code == 200 and answer.json()["success"], answer.text
    value: str = answer.json()["data"]["markdown"]
    return value


def test_session_data_through_another_server(pg_dsn: str, tmp_path: Path) -> None:
    site = DataSite().start()
    cluster = Cluster(pg_dsn, tmp_path)
    try:
        first, second = cluster.api(), cluster.api()
        a = httpx.Client(base_url=first.url, headers=cluster.headers(), timeout=60)
        b = httpx.Client(base_url=second.url, headers=cluster.headers(), timeout=60)
        profile = b.post("/profiles/create", json={"name": "pg"}).json()
        started = a.post("/sessions/start", json={"profile": {"id": profile["profile_id"], "persist": True}})
        assert started.status_code == 200, started.text
        sid = started.json()["session_id"]
        # A second persisting session is refused, whichever server is asked.
        assert (
            b.post("/sessions/start", json={"profile": {"id": profile["profile_id"], "persist": True}}).status_code
            == 409
        )

        cookie = {"name": "via", "value": "second", "domain": "127.0.0.1", "path": "/"}
        assert b.post(f"/sessions/{sid}/cookies", json={"cookies": [cookie]}).json()["success"] is True
        b.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/cookies"})
        assert _js(b, sid, "document.getElementById('sent').textContent") == "cookies: via=second"
        assert [c["name"] for c in b.get(f"/sessions/{sid}/cookies").json()["cookies"]] == ["via"]

        uploaded = b.post(f"/sessions/{sid}/files", files={"file": ("note.txt", b"hello pg")}).json()
        b.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/upload"})
        put = {"type": "upload_file", "selector": "#doc", "file_path": "note.txt"}
        assert b.post(f"/sessions/{sid}/page/execute", json=put).json()["success"] is True
        assert _js(b, sid, "document.getElementById('seen').textContent") == "note.txt:8:" + b"hello pg".hex()

        b.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/download"})
        fetched = b.post(f"/sessions/{sid}/page/execute", json={"type": "download_file", "selector": "#report"})
        assert fetched.json()["success"] is True, fetched.text
        downloads = b.get(f"/sessions/{sid}/files", params={"source": "session_download"}).json()["files"]
        assert [f["filename"] for f in downloads] == ["report.csv"]
        assert b.get(f"/sessions/{sid}/files/{downloads[0]['id']}").content == DOWNLOAD_BYTES
        assert b.get(f"/sessions/{sid}/files/{uploaded['id']}").content == b"hello pg"

        b.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/login?user=pg"})
        logs = b.get(f"/sessions/{sid}/network/logs").json()
        assert logs["total_batch_count"] >= 1
        entries = [httpx.get(batch["download_url"]).text for batch in logs["batches"]]
        assert f"{site.url}/login?user=pg" in "".join(entries)
        assert b.get(f"/sessions/{sid}/offset").json() == {"offset": 8}
        assert b.delete(f"/sessions/{sid}/stop").json()["status"] == "closed"

        # Persisted at the close on its host; the next session, opened on the other server, is logged in.
        assert b.get(f"/profiles/{profile['profile_id']}").json()["persisted_domains"] == ["127.0.0.1"]
        code = b.get(f"/sessions/{sid}/workflow/code", params={"as_workflow": True}).json()
        assert [a["type"] for a in code["json_actions"]][-2:] == ["download_file", "goto"]
        again = b.post("/sessions/start", json={"profile": {"id": profile["profile_id"]}}).json()["session_id"]
        a.post(f"/sessions/{again}/page/execute", json={"type": "goto", "url": f"{site.url}/account"})
        assert _js(a, again, "document.getElementById('who').textContent") == "logged in as pg"
        assert _js(a, again, "document.getElementById('storage').textContent") == "storage: pg"
        other = cluster.create_key("pg-other")
        with httpx.Client(base_url=first.url, headers={"Authorization": f"Bearer {other}"}) as them:
            assert them.get(f"/sessions/{again}/cookies").status_code == 404
            assert them.get(f"/profiles/{profile['profile_id']}").status_code == 404
        b.delete(f"/sessions/{again}/stop")
    finally:
        cluster.close()
        site.stop()
