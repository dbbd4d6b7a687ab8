"""The official TypeScript client (npm `notte-sdk`) on a session's state and data, against a real
server and real Chromium: cookies (Session.setCookies / getCookies), the legacy storage routes it
calls (account uploads put into a page's file input, a session's downloads listed and fetched by
their signed link), network logs, the offset, the session script and profiles."""

from __future__ import annotations

import json

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


def test_ts_cookies_storage_logs_and_script(browser_server: LiveServer, data_site: DataSite) -> None:
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
    assert got["offset"] == {"offset": 7}
    assert [a["type"] for a in got["script"]["json_actions"]][:2] == ["goto", "evaluate_js"]
    assert "def run():" in got["script"]["python_script"]


def test_ts_profiles(browser_server: LiveServer) -> None:
    got = run_node(
        RAW
        + """
        const made = ok(await profileCreate({ client: api, body: { name: "from node" } }));
        const fetched = ok(await profileGet({ client: api, path: { profile_id: made.profile_id } }));
        const listed = ok(await profileList({ client: api, query: { name: "from node" } }));
        const deleted = ok(await profileDelete({ client: api, path: { profile_id: made.profile_id } }));
        const gone = await profileGet({ client: api, path: { profile_id: made.profile_id } });
        report({ made, fetched, listed, deleted, gone: gone.response.status });
        """,
        url=browser_server.url,
        key=browser_server.key,
    )
    assert got["made"]["name"] == "from node" and got["fetched"]["profile_id"] == got["made"]["profile_id"]
    assert [p["profile_id"] for p in got["listed"]["items"]] == [got["made"]["profile_id"]]
    assert got["deleted"]["success"] is True and got["gone"] == 404
