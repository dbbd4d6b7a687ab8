"""A session's state and data through the official Python SDK, on a real server and real
Chromium: cookies set in one call are sent by the page in the next, files uploaded reach a real
<input type=file>, what the page downloads is listed and fetched with the same bytes, network
logs list the page's requests, and the exported script repeats the session's actions."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from notte_sdk import NotteClient

from tests.api.helpers import wait_for
from tests.browser.data_site import DOWNLOAD_BYTES, DataSite
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def other_key(browser_server: LiveServer) -> str:
    return browser_server.create_key("someone-else")


def _text(session: Any, element_id: str) -> str:
    value: str = session.evaluate_js(f"document.getElementById({json.dumps(element_id)}).textContent")
    return value


def test_cookies_set_in_one_call_are_sent_by_the_page_in_the_next(notte: NotteClient, data_site: DataSite) -> None:
    expires = float(int(time.time()) + 30 * 86400)  # Chromium keeps no cookie beyond 400 days
    with notte.Session() as session:
        session.execute(type="goto", url=f"{data_site.url}/login?user=grace")  # the page sets one itself
        result = session.set_cookies(
            cookies=[
                {"name": "theme", "value": "dark", "domain": "127.0.0.1", "path": "/", "httpOnly": False},
                {
                    "name": "pref",
                    "value": "a b",
                    "domain": "127.0.0.1",
                    "path": "/cookies",
                    "httpOnly": True,
                    "expirationDate": expires,
                    "sameSite": "Strict",
                },
            ]
        )
        assert result.success is True
        session.execute(type="goto", url=f"{data_site.url}/cookies")
        sent = _text(session, "sent")
        assert "theme=dark" in sent and "pref=a b" in sent and "login=grace" in sent

        cookies = {c["name"]: c for c in session.get_cookies()}
        assert set(cookies) == {"theme", "pref", "login"}
        assert cookies["pref"]["httpOnly"] is True and cookies["pref"]["sameSite"] == "Strict"
        assert cookies["pref"]["expirationDate"] == expires and cookies["pref"]["session"] is False
        assert cookies["theme"]["session"] is True and cookies["theme"]["expirationDate"] is None
        assert cookies["login"]["value"] == "grace" and cookies["login"]["httpOnly"] is True


def test_cookie_file_is_loaded_at_start_and_saved_at_the_end(
    notte: NotteClient, data_site: DataSite, tmp_path: Path
) -> None:
    cookie_file = tmp_path / "cookies.json"
    cookie_file.write_text(json.dumps([{"name": "token", "value": "t-1", "domain": "127.0.0.1", "path": "/"}]))
    with notte.Session(cookie_file=cookie_file) as session:
        session.execute(type="goto", url=f"{data_site.url}/cookies")
        assert _text(session, "sent") == "cookies: token=t-1"
        session.execute(type="goto", url=f"{data_site.url}/login?user=lin")
    saved = {c["name"]: c["value"] for c in json.loads(cookie_file.read_text())}
    assert saved == {"token": "t-1", "login": "lin"}


def test_bad_cookies_other_accounts_and_closed_sessions_get_clear_errors(
    browser_server: LiveServer, other_key: str
) -> None:
    with browser_server.client(timeout=120) as api, browser_server.client(other_key) as other:
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        good = {"name": "a", "value": "1", "domain": "127.0.0.1", "path": "/"}
        cases = [
            ({"cookies": "a=1"}, "cookies"),
            ({"cookies": [{"name": "a", "value": "1"}]}, "cookies[0].domain"),
            ({"cookies": [good, {**good, "sameSite": "Sometimes"}]}, "cookies[1].sameSite"),
            ({"cookies": [{**good, "expirationDate": "tomorrow"}]}, "cookies[0].expirationDate"),
            ({"cookies": [{**good, "path": "x"}]}, "cookies[0].path"),
            ({"cookies": [{**good, "colour": "red"}]}, "colour"),
            ({"cookies": [{**good, "name": ""}]}, "cookies[0].name"),
        ]
        for body, named in cases:
            answer = api.post(f"/sessions/{sid}/cookies", json=body)
            assert answer.status_code == 422, (body, answer.text)
            assert answer.json()["status"] == 422 and named in answer.json()["message"], answer.text
        assert api.get(f"/sessions/{sid}/cookies").json() == {"cookies": []}  # none of a bad list was set

        path = f"/sessions/{sid}/cookies"
        for call in (other.get(path), other.post(path, json={"cookies": [good]})):
            assert call.status_code == 404 and call.json()["message"] == f"session {sid} not found"
        assert api.get("/sessions/no-such-session/cookies").status_code == 404

        assert api.delete(f"/sessions/{sid}/stop").status_code == 200
        closed = api.post(f"/sessions/{sid}/cookies", json={"cookies": [good]})
        assert closed.status_code == 409 and "closed" in closed.json()["message"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_uploaded_file_reaches_a_real_file_input(notte: NotteClient, data_site: DataSite, tmp_path: Path) -> None:
    payload = b"%PDF-1.4 fake\n" + bytes(range(256)) * 4
    local = tmp_path / "contract.pdf"
    local.write_bytes(payload)
    with notte.Session() as session:
        uploaded = session.storage.upload(str(local))
        assert (uploaded.filename, uploaded.size, uploaded.source) == ("contract.pdf", len(payload), "user_upload")
        assert uploaded.checksum == _sha(payload) and uploaded.mime_type == "application/pdf"
        session.execute(type="goto", url=f"{data_site.url}/upload")
        session.execute(type="upload_file", selector="#doc", file_path="contract.pdf")
        assert _text(session, "seen") == f"contract.pdf:{len(payload)}:{payload.hex()}"

        # An element that opens a file chooser works too; and the file can be named by its id.
        session.execute(type="goto", url=f"{data_site.url}/upload")
        session.execute(type="upload_file", selector="#pick", file_path=uploaded.id)
        assert _text(session, "seen").startswith(f"contract.pdf:{len(payload)}:")

        listed = session.storage.list()
        assert [f.id for f in listed.files] == [uploaded.id] and listed.total == 1
        missing = session.execute(type="upload_file", selector="#doc", file_path="nope.txt", raise_on_failure=False)
        assert missing.success is False


def test_downloads_are_captured_listed_and_fetched_with_the_same_bytes(
    notte: NotteClient, data_site: DataSite, tmp_path: Path
) -> None:
    with notte.Session() as session:
        session.execute(type="goto", url=f"{data_site.url}/download")
        result = session.execute(type="download_file", selector="#report")
        assert "report.csv" in result.message
        session.execute(type="click", selector="#other")  # a download the page starts on a plain click
        deadline_files: list[Any] = []
        for _ in range(100):
            deadline_files = session.storage.list(source="session_download").files
            if len(deadline_files) == 2:
                break
            time.sleep(0.1)
        names = sorted(f.filename for f in deadline_files)
        assert names == ["other.csv", "report.csv"]
        for found in deadline_files:
            assert found.size == len(DOWNLOAD_BYTES) and found.checksum == _sha(DOWNLOAD_BYTES)
            path = Path(session.storage.download(found.id, str(tmp_path)))
            assert path.name == found.filename and path.read_bytes() == DOWNLOAD_BYTES
        session.storage.delete(deadline_files[0].id)
        assert [f.id for f in session.storage.list().files] == [deadline_files[1].id]
        sid = session.session_id
    # Still listed and readable once the session is closed.
    after = notte.files.list(sid)
    assert after.total == 1 and notte.sessions.download_session_file(sid, after.files[0].id) == DOWNLOAD_BYTES


def test_file_routes_refuse_bad_input_and_other_accounts(
    browser_server: LiveServer, notte: NotteClient, data_site: DataSite, other_key: str
) -> None:
    with browser_server.client(timeout=120) as api, browser_server.client(other_key) as other:
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        tricky = api.post(f"/sessions/{sid}/files", files={"file": ("../../etc/passwd", b"x")})
        assert tricky.status_code == 200 and tricky.json()["filename"] == "passwd"
        file_id = tricky.json()["id"]
        for bad_name in ("..", "", "a/.."):
            answer = api.post(f"/sessions/{sid}/files", files={"file": (bad_name, b"x")})
            assert answer.status_code in (400, 422), answer.text
        assert api.post(f"/sessions/{sid}/files", data={"x": "1"}).status_code == 422
        assert api.get(f"/sessions/{sid}/files/..%2F..%2Fbrowserfn.sqlite3").status_code == 404
        assert api.get(f"/sessions/{sid}/files/{'0' * 32}").status_code == 404
        assert api.get(f"/sessions/{sid}/files", params={"limit": 0}).status_code == 422
        assert api.get(f"/sessions/{sid}/files", params={"source": "elsewhere"}).status_code == 422

        # The legacy downloads routes (the TypeScript client's): names are plain names.
        downloads = f"/storage/{sid}/downloads"
        assert api.post(f"{downloads}/kept.bin", files={"file": ("kept.bin", b"mine")}).json() == {"success": True}
        tricks = {"%2E%2E": 422, ".hidden": 422, "a%5Cb": 422, "a%3Ab": 422, "a%00b": 422, "%2E%2E%5Cx": 422}
        tricks["..%2F..%2Fbrowserfn.sqlite3"] = 404  # a slash: no such route
        for bad, status in tricks.items():
            for answer in (
                api.get(f"{downloads}/{bad}"),
                api.post(f"{downloads}/{bad}", files={"file": ("x.bin", b"tricked")}),
            ):
                assert answer.status_code == status and answer.json()["status"] == status, (bad, answer.text)
        assert api.get(f"{downloads}/nope.bin").status_code == 404
        assert [(f["name"], f["size"]) for f in api.get(downloads).json()["files"]] == [("kept.bin", 4)]

        for call in (
            other.get(f"/sessions/{sid}/files"),
            other.get(f"/sessions/{sid}/files/{file_id}"),
            other.delete(f"/sessions/{sid}/files/{file_id}"),
            other.post(f"/sessions/{sid}/files", files={"file": ("a.txt", b"x")}),
            other.get(downloads),
            other.get(f"{downloads}/kept.bin"),
            other.post(f"{downloads}/kept.bin", files={"file": ("kept.bin", b"theirs")}),
        ):
            assert call.status_code == 404, call.text
            assert call.json()["message"] == f"session {sid} not found", call.text
        assert api.get(f"/sessions/{sid}/files/{file_id}").content == b"x"
        assert [(f["name"], f["size"]) for f in api.get(downloads).json()["files"]] == [("kept.bin", 4)]
        assert httpx.get(api.get(f"{downloads}/kept.bin").json()["url"]).content == b"mine"
        assert other.get("/storage/uploads").json() == {"files": []}  # nothing was kept for them either

        # page/execute/file: upload_file by target_id (the file's id or name)
        goto = {"type": "goto", "url": f"{data_site.url}/upload"}
        assert api.post(f"/sessions/{sid}/page/execute", json=goto).json()["success"]
        put = {"type": "upload_file", "selector": "#doc", "file_path": "ignored"}
        theirs = other.post(f"/sessions/{sid}/page/execute/file", json={"action": put, "target_id": file_id})
        assert theirs.status_code == 404 and theirs.json()["message"] == f"session {sid} not found", theirs.text
        read = {"type": "evaluate_js", "code": "document.getElementById('seen').textContent"}
        assert api.post(f"/sessions/{sid}/page/execute", json=read).json()["data"]["markdown"] == ""  # untouched
        done = notte.sessions.execute_session_file(sid, action=put, target_id=file_id)
        assert done.success is True, done
        seen = api.post(f"/sessions/{sid}/page/execute", json=read)
        assert seen.json()["data"]["markdown"] == "passwd:1:78"
        wrong = api.post(f"/sessions/{sid}/page/execute/file", json={"action": {"type": "click"}, "target_id": "x"})
        assert wrong.status_code == 422
        api.delete(f"/sessions/{sid}/stop")


def test_files_are_deleted_when_they_expire(tmp_path: Path) -> None:
    """A file says when it expires (`files_retention_s` after it was added) and is gone after."""
    env = {"BROWSERFN_FILES_RETENTION_S": "2", "BROWSERFN_BROWSER_POOL_SIZE": "0"}
    server = LiveServer(tmp_path / "expiry", env=env).start()
    try:
        with server.client() as api:
            assert api.post("/storage/uploads/a.bin", files={"file": ("a.bin", b"a" * 50)}).json() == {"success": True}
            assert [f["name"] for f in api.get("/storage/uploads").json()["files"]] == ["a.bin"]
            wait_for(lambda: api.get("/storage/uploads").json()["files"] == [], 15.0, "the expired file to go")
        assert [p for p in (tmp_path / "expiry" / "files").rglob("*") if p.is_file()] == []
    finally:
        server.stop()


def test_file_quota_and_size_limits(tmp_path: Path) -> None:
    """Per-account quota and the size of one file, on the legacy uploads (no browser needed)."""
    env = {"BROWSERFN_FILES_QUOTA_BYTES": "1000", "BROWSERFN_MAX_FILE_BYTES": "600", "BROWSERFN_BROWSER_POOL_SIZE": "0"}
    server = LiveServer(tmp_path / "quota", env=env).start()
    try:
        other_key = server.create_key("other")
        with server.client() as api, server.client(other_key) as other:
            assert api.post("/storage/uploads/a.bin", files={"file": ("a.bin", b"a" * 500)}).json() == {"success": True}
            too_big = api.post("/storage/uploads/b.bin", files={"file": ("b.bin", b"b" * 601)})
            assert too_big.status_code == 413 and "600 bytes" in too_big.json()["message"]
            over = api.post("/storage/uploads/c.bin", files={"file": ("c.bin", b"c" * 501)})
            assert over.status_code == 413 and "quota of 1000 bytes" in over.json()["message"]
            assert [f["name"] for f in api.get("/storage/uploads").json()["files"]] == ["a.bin"]  # nothing half-kept
            assert other.post("/storage/uploads/c.bin", files={"file": ("c.bin", b"c" * 501)}).status_code == 200
            assert [f["name"] for f in other.get("/storage/uploads").json()["files"]] == ["c.bin"]
            for bad in ("..", ".hidden", "a%5Cb", "a%00b"):
                answer = api.post(f"/storage/uploads/{bad}", files={"file": ("x", b"x")})
                assert answer.status_code in (404, 405, 422), (bad, answer.text)
            leftovers = [p for p in (tmp_path / "quota" / "files").rglob("*") if p.name.endswith(".part")]
            assert leftovers == []
    finally:
        server.stop()


def test_network_logs_list_the_pages_requests(notte: NotteClient, data_site: DataSite) -> None:
    with notte.Session() as session:
        session.execute(type="goto", url=f"{data_site.url}/fetching")
        session.execute(type="wait", time_ms=300)
        sid = session.session_id
        logs = notte.sessions.network_logs(sid)
        assert logs.session_id == sid and logs.format == "batched_v1" and logs.total_batch_count >= 1
        entries = []
        for batch in logs.batches:
            assert batch.download_url is not None
            got = httpx.get(batch.download_url)  # a signed link: no API key
            assert got.status_code == 200 and len(got.content) == batch.size
            entries += [json.loads(line) for line in got.text.splitlines()]
        by_url = {e["url"]: e for e in entries}
        page = by_url[f"{data_site.url}/fetching"]
        assert (page["method"], page["status"], page["resource_type"]) == ("GET", 200, "document")
        fetched = by_url[f"{data_site.url}/data.json?from=script"]
        assert fetched["status"] == 200 and fetched["resource_type"] == "fetch"
        assert fetched["response_headers"]["content-type"] == "application/json"
        cut = by_url[f"{data_site.url}/cut.json"]  # failed after its response came: both are logged
        assert cut["status"] == 200 and "CONTENT_LENGTH_MISMATCH" in cut["failure"], cut
        no_links = notte.sessions.network_logs(sid, download=False)
        assert all(b.download_url is None for b in no_links.batches)
        tampered = logs.batches[0].download_url.replace("signature=", "signature=0")
        assert httpx.get(tampered).status_code == 404


def test_offset_debug_tab_and_the_exported_script_repeats_the_actions(
    browser_server: LiveServer, notte: NotteClient, data_site: DataSite, tmp_path: Path, other_key: str
) -> None:
    with notte.Session() as session:
        sid = session.session_id
        assert notte.sessions.offset(sid).offset == 0
        session.execute(type="goto", url=f"{data_site.url}/page-one?from=session")
        session.execute(type="goto", url=f"{data_site.url}/cookies")
        session.execute(type="goto_new_tab", url=f"{data_site.url}/account")
        assert notte.sessions.offset(sid).offset == 3
        tab = notte.sessions.debug_tab_info(sid, tab_idx=0)
        assert tab.metadata.tab_id == 0 and tab.metadata.url.endswith("/cookies") and tab.metadata.title == "Cookies"
        current = notte.sessions.debug_tab_info(sid)
        assert current.metadata.tab_id == 1 and current.metadata.title == "Account" and "/cdp?token=" in current.ws_url
        with browser_server.client(other_key) as other:
            assert other.get(f"/sessions/{sid}/offset").status_code == 404
            assert other.get(f"/sessions/{sid}/workflow/code", params={"as_workflow": True}).status_code == 404
            assert other.get(f"/sessions/{sid}/network/logs").status_code == 404
            for tab_idx in (0, None):
                hidden = other.get(f"/sessions/{sid}/debug/tab", params={} if tab_idx is None else {"tab_idx": tab_idx})
                assert hidden.status_code == 404 and hidden.json() == {
                    "status": 404,
                    "message": f"session {sid} not found",
                }
        with browser_server.client() as api:
            assert api.get(f"/sessions/{sid}/debug/tab", params={"tab_idx": 5}).status_code == 404
    code = notte.sessions.get_session_script(sid, as_workflow=True)
    assert [a["type"] for a in code.json_actions] == ["goto", "goto", "goto_new_tab"]
    with browser_server.client() as api:  # inferring scrapes' response formats needs a model
        no_model = api.get(f"/sessions/{sid}/workflow/code", params={"infer_response_format": True})
        assert no_model.status_code == 501 and "BROWSERFN_LLM_MODEL" in no_model.json()["message"], no_model.text
    steps = notte.sessions.get_session_script(sid, as_workflow=False).python_script
    assert steps.splitlines()[0] == f"session.execute(type='goto', url='{data_site.url}/page-one?from=session')"
    assert notte.sessions.offset(sid).offset == 3  # closed: from the store

    script = tmp_path / "exported.py"
    script.write_text(code.python_script + "\n\nif __name__ == '__main__':\n    run()\n")
    before = len(data_site.seen)
    env = {**os.environ, "NOTTE_API_KEY": browser_server.key, "NOTTE_API_URL": browser_server.url}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    repeated = [path for path in data_site.seen[before:] if path != "/favicon.ico"]
    assert repeated == ["/page-one", "/cookies", "/account"]
    mouse = httpx.get(f"{browser_server.url}/sessions/{sid}/replay/mouse", headers=browser_server.headers())
    assert mouse.status_code == 501 and "mouse replay" in mouse.json()["message"]
