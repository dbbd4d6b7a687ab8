"""A session started with `user_agent` sends it from every page: the HTTP header and
navigator.userAgent, for pages driven through page/execute and pages a CDP client opens."""

from __future__ import annotations

import httpx
from playwright.sync_api import sync_playwright

from tests.browser.site import LocalSite

AGENT = "browserfn-test-agent/1.0 (X11; like Gecko) Tester/42"


def _page_says(api: httpx.Client, sid: str) -> str:
    response = api.post(f"/sessions/{sid}/page/scrape", json={})
    assert response.status_code == 200, response.text
    markdown: str = response.json()["markdown"]
    return markdown


def test_the_user_agent_is_sent_through_the_api_and_over_cdp(bapi: httpx.Client, site: LocalSite) -> None:
    started = bapi.post("/sessions/start", json={"user_agent": AGENT}).json()
    sid = started["session_id"]
    try:
        assert started["user_agent"] == AGENT
        goto = bapi.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/ua"})
        assert goto.json()["success"] is True, goto.text
        assert _page_says(bapi, sid) == f"header: {AGENT}\n\nscript: {AGENT}\n"
        script = bapi.post(f"/sessions/{sid}/page/execute", json={"type": "evaluate_js", "code": "navigator.userAgent"})
        assert script.json()["data"]["markdown"] == AGENT

        with sync_playwright() as playwright:
            browser = playwright.chromium.connect_over_cdp(started["cdp_url"])
            page = browser.contexts[0].new_page()  # a page the server never touched
            page.goto(f"{site.url}/ua")
            assert page.inner_text("#header") == f"header: {AGENT}"
            assert page.inner_text("#js") == AGENT
            worker_agent = page.evaluate(
                "new Promise(done => { const w = new Worker(URL.createObjectURL(new Blob("
                "['postMessage(navigator.userAgent)']))); w.onmessage = e => done(e.data); })"
            )
            assert worker_agent == AGENT
            browser.close()
    finally:
        bapi.delete(f"/sessions/{sid}/stop")


def test_without_user_agent_chromium_sends_its_own(bapi: httpx.Client, site: LocalSite) -> None:
    sid = bapi.post("/sessions/start", json={}).json()["session_id"]
    try:
        bapi.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/ua"})
        said = _page_says(bapi, sid)
        assert "Chrome/" in said and AGENT not in said
    finally:
        bapi.delete(f"/sessions/{sid}/stop")


def test_a_user_agent_that_is_not_one_printable_line_is_refused(bapi: httpx.Client) -> None:
    for bad in ("", "agent\r\nX-Injected: 1", "x" * 513):
        response = bapi.post("/sessions/start", json={"user_agent": bad})
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["status"] == 422 and "user_agent" in body["message"]
    assert bapi.get("/sessions").json()["items"] == []
