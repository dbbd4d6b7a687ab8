"""The sessions API over HTTP on real Chromium: shapes the official SDK parses, every deterministic
action, scrape, screenshot, debug, list, stop and replay."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
from notte_core.types import ExecutionResultResponse, SessionDebugResponse, SessionResponse
from playwright.sync_api import sync_playwright

from tests.browser.site import LocalSite


def _act(api: httpx.Client, sid: str, **action: Any) -> dict[str, Any]:
    response = api.post(f"/sessions/{sid}/page/execute", json=action)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    ExecutionResultResponse.model_validate(body)
    return body


def _scrape(api: httpx.Client, sid: str, **options: Any) -> str:
    response = api.post(f"/sessions/{sid}/page/scrape", json=options)
    assert response.status_code == 200, response.text
    assert response.json()["structured"] is None
    markdown: str = response.json()["markdown"]
    return markdown


def _replay(api: httpx.Client, sid: str) -> dict[str, Any]:
    """The replay once it is ready (the video is made after the stop answers)."""
    deadline = time.monotonic() + 60
    while (response := api.get(f"/sessions/{sid}/replay")).status_code == 404 and time.monotonic() < deadline:
        assert response.json()["message"] == f"the replay of session {sid} is not ready"
        time.sleep(0.1)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_session_lifecycle_actions_scrape_and_replay(bapi: httpx.Client, site: LocalSite) -> None:
    started = bapi.post("/sessions/start", json={"idle_timeout_minutes": 2})
    assert started.status_code == 200, started.text
    session = started.json()
    parsed = SessionResponse.model_validate(session)
    sid = parsed.session_id
    assert (parsed.status, parsed.idle_timeout_minutes, parsed.max_duration_minutes) == ("active", 2, 15)
    assert session["cdp_url"].startswith(f"ws://127.0.0.1:{bapi.base_url.port}/sessions/{sid}/cdp?token=")
    assert session["run_id"] is None

    assert _act(bapi, sid, type="goto", url=f"{site.url}/")["success"] is True
    markdown = _scrape(bapi, sid)
    assert markdown.startswith("[Home](" + site.url + "/) [Contact](" + site.url + "/form)")
    assert "# Welcome to the test shop" in markdown
    assert f"We sell **red apples** for 3 euros. See the [contact form]({site.url}/form)." in markdown
    assert "Made by script" in markdown  # the live DOM, after scripts ran
    assert "![shop logo]" not in markdown and "Copyright test shop" in markdown
    main_only = _scrape(bapi, sid, only_main_content=True, scrape_images=True, scrape_links=False)
    assert main_only.startswith("# Welcome to the test shop")
    assert f"![shop logo]({site.url}/logo.png)" in main_only
    assert "Copyright" not in main_only and "[Home]" not in main_only and "contact form" in main_only

    scrolled = _act(bapi, sid, type="scroll_down", amount=500)
    assert scrolled["success"] is True
    offset = _act(bapi, sid, type="evaluate_js", code="window.scrollY")
    assert offset["data"] == {"markdown": "500", "structured": None}
    assert _act(bapi, sid, type="scroll_up")["success"] is True  # no amount: most of a screen
    assert 0 < int(_act(bapi, sid, type="evaluate_js", code="window.scrollY")["data"]["markdown"]) < 500
    assert _act(bapi, sid, type="scroll_up", amount=2000)["success"] is True
    assert _act(bapi, sid, type="evaluate_js", code="window.scrollY")["data"]["markdown"] == "0"

    assert _act(bapi, sid, type="goto", url=f"{site.url}/form")["success"] is True
    assert _act(bapi, sid, type="fill", id="name", value="Ada Lovelace")["success"] is True
    assert _act(bapi, sid, type="fill", selector="input[type=email]", value="ada@example.org")["success"] is True
    assert _act(bapi, sid, type="check", selector="#agree", value=True)["success"] is True
    assert _act(bapi, sid, type="select_dropdown_option", id="color", value="Green")["success"] is True
    assert _act(bapi, sid, type="fill", id="search", value="pears")["success"] is True
    assert _act(bapi, sid, type="press_key", key="Enter")["success"] is True
    assert _act(bapi, sid, type="evaluate_js", code="document.title")["data"]["markdown"] == "entered pears"
    clicked = _act(bapi, sid, type="click", selector={"playwright_selector": "button[type='submit']"})
    assert clicked["success"] is True
    assert _act(bapi, sid, type="wait", time_ms=300)["success"] is True
    thanks = _scrape(bapi, sid)
    assert thanks == ("# Thanks\n\n- agree: yes\n- color: green\n- email: ada@example.org\n- name: Ada Lovelace\n")

    assert _act(bapi, sid, type="go_back")["message"] == f"go_back done, now at {site.url}/form"
    assert _act(bapi, sid, type="go_forward")["message"].startswith(f"go_forward done, now at {site.url}/submitted")
    assert _act(bapi, sid, type="reload")["success"] is True

    assert _act(bapi, sid, type="goto_new_tab", url=f"{site.url}/page?name=Second")["success"] is True
    debug = bapi.get(f"/sessions/{sid}/debug").json()
    parsed_debug = SessionDebugResponse.model_validate(debug)
    assert parsed_debug.ws.cdp == session["cdp_url"]
    assert [tab.metadata.title for tab in parsed_debug.tabs] == ["Thanks", "Second"]
    assert _scrape(bapi, sid) == "# Second\n"
    assert _act(bapi, sid, type="switch_tab", tab_index=0)["success"] is True
    assert _scrape(bapi, sid).startswith("# Thanks")
    assert _act(bapi, sid, type="switch_tab", tab_index=1)["success"] is True
    assert _act(bapi, sid, type="close_tab")["success"] is True
    assert len(bapi.get(f"/sessions/{sid}/debug").json()["tabs"]) == 1

    shot = bapi.post(f"/sessions/{sid}/page/screenshot").json()
    assert base64.b64decode(shot["screenshot"]).startswith(b"\x89PNG") and shot["title"] == "Thanks"
    png = bapi.get(f"/sessions/{sid}/page/screenshot")
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")

    assert bapi.get(f"/sessions/{sid}/replay").json() == {
        "status": 404,
        "message": f"session {sid} is still active: close it first to get its replay",
    }
    listed = bapi.get("/sessions", params={"only_active": "True"}).json()
    assert sid in [item["session_id"] for item in listed["items"]]
    assert (listed["page"], listed["page_size"], listed["has_previous"]) == (1, 10, False)

    stopped = bapi.delete(f"/sessions/{sid}/stop", params={"close_reason": "manual"})
    assert stopped.status_code == 200
    closed = SessionResponse.model_validate(stopped.json())
    assert (closed.status, closed.close_reason, stopped.json()["cdp_url"]) == ("closed", "manual", None)
    assert bapi.get(f"/sessions/{sid}").json()["status"] == "closed"
    assert sid not in [item["session_id"] for item in bapi.get("/sessions").json()["items"]]
    assert sid in [i["session_id"] for i in bapi.get("/sessions", params={"only_active": "False"}).json()["items"]]
    again = bapi.delete(f"/sessions/{sid}/stop")
    assert again.json() == {"status": 409, "message": f"session {sid} is already closed"}

    replay = _replay(bapi, sid)
    frames = replay["frames"]
    assert len(frames) >= 3  # after actions (coalesced while one is pending), every 2 s, and at the end
    assert [f["t_ms"] for f in frames] == sorted(f["t_ms"] for f in frames)
    assert frames[0]["url"] == f"{site.url}/"
    assert frames[-1]["url"].startswith(f"{site.url}/submitted?")
    image = bapi.get(frames[-1]["image_url"])
    assert image.status_code == 200 and image.content.startswith(b"\xff\xd8")


def test_failing_actions_answer_success_false_with_the_reason(bapi: httpx.Client, site: LocalSite) -> None:
    sid = bapi.post("/sessions/start", json={}).json()["session_id"]
    try:
        missing = _act(bapi, sid, type="click", selector="#does-not-exist", timeout=300)
        assert (missing["success"], missing["message"]) == (
            False,
            "click failed: timeout: Locator.click: Timeout 300ms exceeded.",
        )
        never = _act(bapi, sid, type="goto", url=f"{site.url}/never")
        assert never["success"] is False and never["message"].startswith("goto failed: timeout: Page.goto: Timeout")
        no_tab = _act(bapi, sid, type="switch_tab", tab_index=7)
        assert (no_tab["success"], no_tab["message"]) == (False, "switch_tab failed: no tab 7; 1 tabs are open")
        unknown = bapi.post(f"/sessions/{sid}/page/execute", json={"type": "teleport"})
        assert unknown.status_code == 422 and unknown.json()["message"].startswith("action type 'teleport'")
        slow = _act(bapi, sid, type="goto", url=f"{site.url}/slow?s=1")
        assert slow == {**slow, "success": True, "message": f"Navigated to {site.url}/slow?s=1"}
    finally:
        bapi.delete(f"/sessions/{sid}/stop")


def test_llm_features_say_they_need_an_llm(bapi: httpx.Client) -> None:
    sid = bapi.post("/sessions/start", json={}).json()["session_id"]
    try:
        structured = bapi.post(f"/sessions/{sid}/page/scrape", json={"instructions": "the price"})
        assert structured.status_code == 501
        assert structured.json()["message"].startswith(
            "scraping with `instructions` or `response_format` needs a language model"
        )
        observed = bapi.post(f"/sessions/{sid}/page/observe", json={"instructions": "log in"})
        assert observed.status_code == 501
        assert observed.json()["message"].startswith("observe with `instructions` needs a language model")
        assert bapi.post(f"/sessions/{sid}/page/observe", json={}).status_code == 200  # plain observe needs none
    finally:
        bapi.delete(f"/sessions/{sid}/stop")


def test_sessions_of_other_accounts_are_not_found(bapi: httpx.Client, browser_server: Any) -> None:
    sid = bapi.post("/sessions/start", json={}).json()["session_id"]
    try:
        with browser_server.client(browser_server.create_key("someone-else")) as other:
            assert other.get(f"/sessions/{sid}").json() == {"status": 404, "message": f"session {sid} not found"}
            assert other.delete(f"/sessions/{sid}/stop").status_code == 404
            assert other.get("/sessions").json()["items"] == []
    finally:
        bapi.delete(f"/sessions/{sid}/stop")


def test_a_sessions_browser_holds_its_one_page_and_no_hidden_browser_ui(bapi: httpx.Client) -> None:
    session = bapi.post("/sessions/start", json={}).json()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.connect_over_cdp(session["cdp_url"])
            targets = browser.new_browser_cdp_session().send("Target.getTargets")["targetInfos"]
            browser.close()
        # No omnibox popup loaded for a window no one sees (a renderer's work at every launch).
        assert [(target["type"], target["url"]) for target in targets] == [("page", "about:blank")]
    finally:
        bapi.delete(f"/sessions/{session['session_id']}/stop")


def test_an_actions_frame_waits_until_the_session_is_quiet(bapi: httpx.Client, site: LocalSite) -> None:
    """A screenshot holds the page's renderer: the frame an action asks for is taken once its
    session has had no call for replay.QUIET_S, not while the script keeps calling, and it still
    shows the page that action left, dated when that action ended (so a line the script logs
    right after it finds that frame, however late the shot)."""
    started = time.monotonic()
    sid = bapi.post("/sessions/start", json={}).json()["session_id"]
    assert _act(bapi, sid, type="goto", url=f"{site.url}/")["success"] is True
    acted_ms = (time.monotonic() - started) * 1000
    busy_until = time.monotonic() + 1.5
    while time.monotonic() < busy_until:  # the script's calls for 1.5 s, 30 ms apart (under the rate limit)
        assert bapi.get(f"/sessions/{sid}/debug").status_code == 200
        time.sleep(0.03)
    time.sleep(0.5)  # quiet: the frame is taken now
    assert _act(bapi, sid, type="goto", url=f"{site.url}/form")["success"] is True
    assert bapi.delete(f"/sessions/{sid}/stop").json()["status"] == "closed"
    frames = _replay(bapi, sid)["frames"]
    assert frames[0]["url"] == f"{site.url}/"
    assert frames[0]["shot_ms"] >= 1500, frames  # none while the calls came (the first tick is at 2 s)
    assert frames[0]["t_ms"] <= acted_ms, frames  # the session started after `started`
    assert frames[-1]["url"] == f"{site.url}/form"


def test_a_close_takes_no_second_frame_of_an_unchanged_page(bapi: httpx.Client, site: LocalSite) -> None:
    """The closing session's last frame is not taken again when its newest frame was shot after
    the last action (reads such as debug do not change the page)."""
    sid = bapi.post("/sessions/start", json={}).json()["session_id"]
    assert _act(bapi, sid, type="goto", url=f"{site.url}/")["success"] is True
    time.sleep(0.5)  # quiet: the goto's frame is taken
    assert bapi.get(f"/sessions/{sid}/debug").status_code == 200
    assert bapi.delete(f"/sessions/{sid}/stop").json()["status"] == "closed"
    frames = _replay(bapi, sid)["frames"]
    assert [frame["url"] for frame in frames] == [f"{site.url}/"], frames


def test_a_close_takes_a_last_frame_of_what_a_cdp_client_did(bapi: httpx.Client, site: LocalSite) -> None:
    """After the action's frame, a CDP client navigates: the page the session closes on is not the
    one the newest frame shows, so the close takes it."""
    session = bapi.post("/sessions/start", json={}).json()
    sid = session["session_id"]
    assert _act(bapi, sid, type="goto", url=f"{site.url}/")["success"] is True
    time.sleep(0.5)  # quiet: the goto's frame is taken
    with sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(session["cdp_url"])
        browser.contexts[0].pages[0].goto(f"{site.url}/form")
        browser.close()
    assert bapi.delete(f"/sessions/{sid}/stop").json()["status"] == "closed"
    frames = _replay(bapi, sid)["frames"]
    assert [frame["url"] for frame in frames] == [f"{site.url}/", f"{site.url}/form"], frames
