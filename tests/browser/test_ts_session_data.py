"""The official TypeScript client (npm `notte-sdk`) on a session's state and data, against a real
server and real Chromium: cookies (Session.setCookies / getCookies), the legacy storage routes it
calls (account uploads put into a page's file input, a session's downloads listed and fetched by
their signed link), network logs listing the page's requests, the offset, the session script
(run with the Python SDK, it repeats the session's actions) and profiles (one persisted by a
session is logged in in the next)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.browser.data_site import DOWNLOAD_BYTES, DataSite
from tests.live_server import LiveServer
from tests.node_client import CLIENT_MODULE, run_node

RAW = (
    "import { fileUpload, fileListUploads, fileListDownloads, fileDownload, fileUploadDownloadedFile,"
    " sessionNetworkLogs, sessionOffset,"
    " getSessionScript, profileCreate, profileGet, profileList, profileDelete } from "
    f"{json.dumps(CLIENT_MODULE.as_uri())};\n"
    "const api = client.getClient();\n"
    "const ok = (answer) => { if (answer.error) throw new Error(JSON.stringify(answer.error)); return answer.data; };\n"
    "const text = (id) => ({ type: 'evaluate_js', code: `document.getElementById('${id}').textContent` });\n"
)


def test_ts_cookies_storage_logs_and_script(browser_server: LiveServer, data_site: DataSite, tmp_path: Path) -> None:
    site = json.dumps(data_site.url)
    got = run_node(
        RAW
        + f"""
        const session = client.Session({{}});
        await session.start();
        const id = session.getId();
        await session.setCookies([{{ name: "ts", value: "node", domain: "127.0.0.1", path: "/", httpOnly: false }}]);
        await session.execute({{ type: "goto", url: {site} + "/cookies" }});
        const sent = await session.execute(text("sent"));
        const cookies = await session.getCookies();

        const blob = new Blob([new Uint8Array([104, 105, 0, 255])]);
        const named = {{ filename: "ts.bin" }};
        const uploaded = ok(await fileUpload({{ client: api, path: named, body: {{ file: blob }} }}));
        const uploads = ok(await fileListUploads({{ client: api }}));
        await session.execute({{ type: "goto", url: {site} + "/upload" }});
        const put = await session.execute({{ type: "upload_file", selector: "#doc", file_path: "ts.bin" }});
        const seen = await session.execute(text("seen"));

        await session.execute({{ type: "goto", url: {site} + "/download" }});
        await session.execute({{ type: "download_file", selector: "#report" }});
        const pushed = new Blob([new Uint8Array([1, 2, 3])]);
        const kept = {{ session_id: id, filename: "local.bin" }};
        ok(await fileUploadDownloadedFile({{ client: api, path: kept, body: {{ file: pushed }} }}));
        const downloads = ok(await fileListDownloads({{ client: api, path: {{ session_id: id }} }}));
        const link = ok(await fileDownload({{ client: api, path: {{ session_id: id, filename: "report.csv" }} }}));

        const logs = ok(await sessionNetworkLogs({{ client: api, path: {{ session_id: id }} }}));
        const offset = ok(await sessionOffset({{ client: api, path: {{ session_id: id }} }}));
        await session.stop();
        const asWorkflow = {{ as_workflow: true }};
        const script = ok(await getSessionScript({{ client: api, path: {{ session_id: id }}, query: asWorkflow }}));
        report({{ id, sent: sent.data.markdown, cookies, uploaded, uploads, put: put.success, seen: seen.data.markdown,
                  downloads, link, logs, offset, script }});
        """,
        url=browser_server.url,
        key=browser_server.key,
    )
    assert got["sent"] == "cookies: ts=node"
    assert [(c["name"], c["value"]) for c in got["cookies"]] == [("ts", "node")]
    assert got["uploaded"] == {"success": True}
    assert [(f["name"], f["size"], f["file_ext"]) for f in got["uploads"]["files"]] == [("ts.bin", 4, ".bin")]
    assert got["put"] is True and got["seen"] == "ts.bin:4:6869" + "00ff"
    assert sorted(f["name"] for f in got["downloads"]["files"]) == ["local.bin", "report.csv"]
    assert httpx.get(got["link"]["url"]).content == DOWNLOAD_BYTES  # signed: no key
    assert got["logs"]["total_batch_count"] >= 1 and got["logs"]["format"] == "batched_v1"
    entries = [
        json.loads(line)
        for batch in got["logs"]["batches"]
        for line in httpx.get(batch["download_url"]).text.splitlines()
    ]
    documents = [e["url"] for e in entries if e["resource_type"] == "document" and e["failure"] is None]
    assert documents == [f"{data_site.url}/{page}" for page in ("cookies", "upload", "download")]
    # The download is listed as the request the page made: its response came (200), then Chromium
    # turned it into a download, ending the request as aborted.
    report = [e for e in entries if e["url"] == f"{data_site.url}/report.csv"]
    assert [(e["method"], e["request_headers"]["referer"]) for e in report] == [("GET", f"{data_site.url}/download")]
    assert (report[0]["status"], report[0]["failure"]) == (200, "net::ERR_ABORTED"), report
    assert got["offset"] == {"offset": 7}
    actions = [a["type"] for a in got["script"]["json_actions"]]
    assert actions == ["goto", "evaluate_js", "goto", "upload_file", "evaluate_js", "goto", "download_file"]

    # The exported script, run with the Python SDK, repeats the session's actions on the site (it
    # uploads the file it puts in the page from the directory it runs in).
    (tmp_path / "ts.bin").write_bytes(bytes([104, 105, 0, 255]))
    script = tmp_path / "exported.py"
    script.write_text(got["script"]["python_script"] + "\n\nif __name__ == '__main__':\n    run()\n")
    before = len(data_site.seen)
    env = {**os.environ, "NOTTE_API_KEY": browser_server.key, "NOTTE_API_URL": browser_server.url}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    repeated = [path for path in data_site.seen[before:] if path != "/favicon.ico"]
    assert repeated == ["/cookies", "/upload", "/download", "/report.csv"]


def test_ts_profiles(browser_server: LiveServer, data_site: DataSite) -> None:
    """CRUD, and a profile persisted by one `Session({profile: {id, persist: true}})` whose login
    (cookie and local storage) shows in the next session."""
    site = json.dumps(data_site.url)
    got = run_node(
        RAW
        + f"""
        const account = async (session) => {{
            await session.execute({{ type: "goto", url: {site} + "/account" }});
            return [(await session.execute(text("who"))).data.markdown,
                    (await session.execute(text("storage"))).data.markdown];
        }};
        const made = ok(await profileCreate({{ client: api, body: {{ name: "from node" }} }}));
        const fetched = ok(await profileGet({{ client: api, path: {{ profile_id: made.profile_id }} }}));
        const listed = ok(await profileList({{ client: api, query: {{ name: "from node" }} }}));

        const writer = client.Session({{ profile: {{ id: made.profile_id, persist: true }} }});
        await writer.start();
        const before = await account(writer);
        await writer.execute({{ type: "goto", url: {site} + "/login?user=node" }});
        await writer.stop();
        const saved = ok(await profileGet({{ client: api, path: {{ profile_id: made.profile_id }} }}));
        const reader = client.Session({{ profile: {{ id: made.profile_id }} }});
        await reader.start();
        const after = await account(reader);
        await reader.stop();
        const plain = client.Session({{}});
        await plain.start();
        const without = await account(plain);
        await plain.stop();

        const deleted = ok(await profileDelete({{ client: api, path: {{ profile_id: made.profile_id }} }}));
        const gone = await profileGet({{ client: api, path: {{ profile_id: made.profile_id }} }});
        report({{ made, fetched, listed, before, saved, after, without, deleted, gone: gone.response.status }});
        """,
        url=browser_server.url,
        key=browser_server.key,
        timeout_s=240,
    )
    assert got["made"]["name"] == "from node" and got["fetched"]["profile_id"] == got["made"]["profile_id"]
    assert [p["profile_id"] for p in got["listed"]["items"]] == [got["made"]["profile_id"]]
    assert got["before"] == ["not logged in", "storage: none"]
    assert got["saved"]["persisted_domains"] == ["127.0.0.1"]
    assert dt.datetime.fromisoformat(got["saved"]["updated_at"]) > dt.datetime.fromisoformat(got["made"]["updated_at"])
    assert got["after"] == ["logged in as node", "storage: node"]
    assert got["without"] == ["not logged in", "storage: none"]  # the login lives in the profile only
    assert got["deleted"]["success"] is True and got["gone"] == 404
