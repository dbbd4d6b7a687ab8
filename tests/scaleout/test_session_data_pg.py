"""A session's state and data across servers on PostgreSQL: a session hosted by one API server, or
by a worker executing the run that opened it, is driven through another API server (the calls
are relayed to its host): cookies, a file uploaded into the page, what the page downloads,
network logs, the exported script, and a persisted or saved profile that the next session,
opened through the other server, is logged in with."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from tests.browser.data_site import DOWNLOAD_BYTES, DataSite
from tests.conftest import deploy
from tests.scaleout.cluster import Cluster, owner_of, run_events

os.environ.setdefault("DISABLE_TELEMETRY", "true")


def _js(client: httpx.Client, sid: str, code: str) -> str:
    answer = client.post(f"/sessions/{sid}/page/execute", json={"type": "evaluate_js", "code": code})
    assert answer.status_code == 200 and answer.json()["success"], answer.text
    value: str = answer.json()["data"]["markdown"]
    return value


def test_session_data_through_another_server(pg_dsn: str, tmp_path: Path) -> None:
    site = DataSite().start()
    cluster = Cluster(pg_dsn, tmp_path, secrets_key=Fernet.generate_key().decode())  # profiles are sealed
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


#: Opens a session on the worker executing the run and keeps it open until the caller sets a
#: cookie named `release` in it (through any server), then ends (and so closes the session).
HELD_UNTIL_RELEASED = """
import time
from notte_sdk import NotteClient

def run(wait_s: float = 500.0):
    client = NotteClient()
    with client.Session(idle_timeout_minutes=15) as session:
        print("session open", flush=True)
        deadline = time.monotonic() + wait_s
        while not any(c["name"] == "release" for c in session.get_cookies()):
            if time.monotonic() > deadline:
                return "never released"
            time.sleep(0.5)
    return "released"
"""


def _network_entries(client: httpx.Client, sid: str, wanted: str) -> list[dict[str, Any]]:
    """The session's network log entries, once one for `wanted` is among them (logs are written
    as the page's requests finish)."""
    deadline = time.monotonic() + 60
    while True:
        logs = client.get(f"/sessions/{sid}/network/logs").json()
        entries = [
            json.loads(line)
            for batch in logs["batches"]
            for line in httpx.get(batch["download_url"], timeout=60).text.splitlines()
        ]
        if any(e["url"] == wanted for e in entries) or time.monotonic() > deadline:
            return entries
        time.sleep(0.5)


def test_a_sessions_data_on_a_worker_through_an_api_server(pg_dsn: str, tmp_path: Path) -> None:
    """The session is opened by a run executing on a worker; every data call arrives at an API
    server, which relays it to the worker."""
    site = DataSite().start()
    cluster = Cluster(pg_dsn, tmp_path, secrets_key=Fernet.generate_key().decode())  # profiles are sealed
    try:
        api = cluster.api()
        worker_disk = tmp_path / "worker-disk"
        worker = cluster.worker(api, data_dir=worker_disk)  # its files and logs on its own disk, as on another machine
        client = httpx.Client(base_url=api.url, headers=cluster.headers(), timeout=180)
        function_id = deploy(client, HELD_UNTIL_RELEASED, "held-data", restricted=False)["function_id"]
        events = run_events(client, function_id, {})
        sid = next(e["message"] for e in events if e["type"] == "session_start")
        next(e for e in events if e["type"] == "log" and e["message"].endswith("session open"))
        assert owner_of(pg_dsn, sid) == worker.url

        def execute(action: dict[str, Any]) -> None:
            done = client.post(f"/sessions/{sid}/page/execute", json=action)
            assert done.status_code == 200 and done.json()["success"] is True, done.text

        cookie = {"name": "via", "value": "api", "domain": "127.0.0.1", "path": "/"}
        assert client.post(f"/sessions/{sid}/cookies", json={"cookies": [cookie]}).json()["success"] is True
        execute({"type": "goto", "url": f"{site.url}/cookies"})
        assert _js(client, sid, "document.getElementById('sent').textContent") == "cookies: via=api"
        assert [(c["name"], c["value"]) for c in client.get(f"/sessions/{sid}/cookies").json()["cookies"]] == [
            ("via", "api")
        ]

        payload = b"from the api server\x00\xff"
        uploaded = client.post(f"/sessions/{sid}/files", files={"file": ("note.bin", payload)})
        assert uploaded.status_code == 200 and uploaded.json()["size"] == len(payload), uploaded.text
        execute({"type": "goto", "url": f"{site.url}/upload"})
        execute({"type": "upload_file", "selector": "#doc", "file_path": "note.bin"})
        seen = _js(client, sid, "document.getElementById('seen').textContent")
        assert seen == f"note.bin:{len(payload)}:{payload.hex()}"

        execute({"type": "goto", "url": f"{site.url}/download"})
        execute({"type": "download_file", "selector": "#report"})
        downloads = client.get(f"/sessions/{sid}/files", params={"source": "session_download"}).json()["files"]
        assert [f["filename"] for f in downloads] == ["report.csv"]
        assert client.get(f"/sessions/{sid}/files/{downloads[0]['id']}").content == DOWNLOAD_BYTES
        legacy = client.get(f"/storage/{sid}/downloads").json()["files"]
        assert [(f["name"], f["size"]) for f in legacy] == [("report.csv", len(DOWNLOAD_BYTES))]
        link = client.get(f"/storage/{sid}/downloads/report.csv").json()["url"]
        assert link.startswith(f"{api.url}/") and httpx.get(link, timeout=60).content == DOWNLOAD_BYTES
        # Both files are on the worker's disk only: the API server relayed every call.
        kept = {p.read_bytes() for p in (worker_disk / "files").rglob("*") if p.is_file() and p.suffix != ".json"}
        assert kept == {payload, DOWNLOAD_BYTES}
        assert not list((tmp_path / "files").rglob("*.json"))

        execute({"type": "goto", "url": f"{site.url}/fetching"})
        entries = _network_entries(client, sid, f"{site.url}/data.json?from=script")
        by_url = {e["url"]: e for e in entries}
        assert (by_url[f"{site.url}/fetching"]["status"], by_url[f"{site.url}/fetching"]["method"]) == (200, "GET")
        assert by_url[f"{site.url}/data.json?from=script"]["resource_type"] == "fetch"

        execute({"type": "goto", "url": f"{site.url}/login?user=worker"})
        saved = client.post(f"/sessions/{sid}/profile/save", json={"name": "from the worker"})
        assert saved.status_code == 200, saved.text
        profile_id = saved.json()["profile_id"]
        assert saved.json()["persisted_domains"] == ["127.0.0.1"]
        kept = client.get(f"/profiles/{profile_id}/cookies").json()["cookies"]
        assert sorted((c["name"], c["value"]) for c in kept) == [("login", "worker"), ("via", "api")]

        other = {"Authorization": f"Bearer {cluster.create_key('worker-data-other')}"}
        for path in (f"/sessions/{sid}/cookies", f"/sessions/{sid}/files", f"/storage/{sid}/downloads"):
            assert client.get(path, headers=other).status_code == 404, path

        release = {"name": "release", "value": "1", "domain": "127.0.0.1", "path": "/"}
        assert client.post(f"/sessions/{sid}/cookies", json={"cookies": [release]}).json()["success"] is True
        final = json.loads(next(e for e in events if e["type"] == "result")["message"])
        assert (final["status"], final["result"], final["session_id"]) == ("closed", "released", sid)
        assert client.get(f"/sessions/{sid}").json()["status"] == "closed"
        # Closed: its files and script are still read from the worker's disk through the API server.
        assert client.get(f"/sessions/{sid}/files/{downloads[0]['id']}").content == DOWNLOAD_BYTES
        code = client.get(f"/sessions/{sid}/workflow/code", params={"as_workflow": True}).json()
        assert [a["type"] for a in code["json_actions"]] == [
            *("goto", "evaluate_js", "goto", "upload_file", "evaluate_js"),
            *("goto", "download_file", "goto", "goto"),
        ]

        # The saved profile logs in the next session, hosted by the API server itself.
        again = client.post("/sessions/start", json={"profile": {"id": profile_id}})
        assert again.status_code == 200, again.text
        next_sid = again.json()["session_id"]
        assert owner_of(pg_dsn, next_sid) == api.url
        client.post(f"/sessions/{next_sid}/page/execute", json={"type": "goto", "url": f"{site.url}/account"})
        assert _js(client, next_sid, "document.getElementById('who').textContent") == "logged in as worker"
        assert _js(client, next_sid, "document.getElementById('storage').textContent") == "storage: worker"
        client.delete(f"/sessions/{next_sid}/stop")
        client.close()
    finally:
        cluster.close()
        site.stop()
