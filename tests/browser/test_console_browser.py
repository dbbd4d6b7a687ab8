"""The console shows the browser (real Chromium twice: the server's sessions and Playwright's
console page): a browser function run from the console, its page with the live logs, the
session card refreshed from `active` to closed, the replay's frames fetched through their
signed links, a click on a log line moving the frame to that moment, and the MP4; while the
session is open the run and session pages show it live in the viewer. Also: the
sign-in page has no nav, and /docs renders with the network cut off. Screenshots go to
test-artifacts/console/."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.site import LocalSite
from tests.conftest import deploy
from tests.live_server import LiveServer
from tests.operator.test_console import shot

# Two pages of the test site, far enough apart in time that each log line's second holds one page.
# The session stays on the first page until the test signals (it titles the page "go"): the
# console is looked at while the session is open. The SDK logs its calls: the wait's come before
# the first page's line.
TWO_PAGES = """\
import time
from notte_sdk import NotteClient

def run(site: str):
    with NotteClient().Session() as session:
        session.execute(type="goto", url=site + "/page?name=first")
        while session.execute(type="evaluate_js", code="document.title").data.markdown != "go":
            time.sleep(0.5)
        print("on the first page", flush=True)
        time.sleep(2.5)
        session.execute(type="goto", url=site + "/page?name=second")
        print("on the second page", flush=True)
        time.sleep(2.5)
    return "done"
"""


def sign_in(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/")
    page.get_by_test_id("api-key").fill(server.key)
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_role("heading", name="Functions")).to_be_visible()


def _shows_live(page: Page, viewer_url: str, url_part: str) -> None:
    """The page embeds the session's live viewer, which has drawn a frame of the page at `url_part`."""
    viewer = page.get_by_test_id("live-viewer")
    expect(viewer).to_be_visible(timeout=30_000)
    assert viewer.evaluate("e => e.tagName") == "IFRAME"
    assert viewer.get_attribute("src") == viewer_url
    frame = viewer.element_handle().content_frame()
    assert frame is not None
    frame.wait_for_function(
        "part => Number(document.body.dataset.frames || 0) > 0"
        " && document.getElementById('url').textContent.includes(part)",
        arg=url_part,
        timeout=60_000,
    )
    frame.wait_for_function("() => document.getElementById('screen').naturalWidth > 0", timeout=60_000)


def test_sign_in_page_has_no_nav(browser_server: LiveServer, page: Page) -> None:
    page.goto(browser_server.url + "/")
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    sign_in(page, browser_server)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()


def test_run_page_shows_the_browser_and_lines_logs_up_with_frames(
    browser_server: LiveServer, site: LocalSite, page: Page
) -> None:
    with browser_server.client(timeout=60) as api:
        fid = deploy(api, TWO_PAGES, name="two-pages")["function_id"]
    signed: list[str] = []
    page.on("request", lambda r: signed.append(r.url) if "/replay/files/" in r.url else None)
    sign_in(page, browser_server)
    page.goto(f"{browser_server.url}/#/functions/{fid}")
    page.locator("#var-site").fill(site.url)
    page.get_by_test_id("start-run").click()

    # while the run goes on its session is open: the card shows it live in the viewer
    status = page.get_by_test_id("session-status")
    expect(status).to_have_attribute("data-status", "active", timeout=60_000)
    session_id = page.locator("#sessions a.mono").inner_text()
    with browser_server.client(timeout=60) as api:
        live = api.get(f"/sessions/{session_id}").json()
    assert live["status"] == "active" and live["viewer_url"], live
    _shows_live(page, live["viewer_url"], "/page?name=first")
    shot(page, "browser-1-run-live")

    # the session's own page embeds the viewer too while the session is open
    session_page = page.context.new_page()
    try:
        session_page.goto(f"{browser_server.url}/#/sessions/{session_id}")
        expect(session_page.get_by_test_id("session-status")).to_have_attribute("data-status", "active")
        _shows_live(session_page, live["viewer_url"], "/page?name=first")
        shot(session_page, "browser-1-session-live")
    finally:
        session_page.close()
    with browser_server.client(timeout=60) as api:  # the signal: the run goes on to its second page
        went = api.post(
            f"/sessions/{session_id}/page/execute", json={"type": "evaluate_js", "code": "document.title = 'go'"}
        )
        assert went.json()["success"] is True, went.text

    # the run ends; the card follows its session to closed and shows the replay
    expect(page.locator("#summary")).to_have_attribute("data-status", "closed", timeout=60_000)
    expect(status).not_to_have_attribute("data-status", "active", timeout=30_000)
    frame = page.get_by_test_id("replay-frame")
    expect(frame).to_be_visible(timeout=60_000)
    page.wait_for_function("() => document.querySelector('[data-testid=replay-frame]').naturalWidth > 0")
    assert signed and all("expires=" in url and "signature=" in url for url in signed), signed
    shot(page, "browser-2-replay")

    logs = page.get_by_test_id("log-line")
    page.get_by_test_id("log-line").filter(has_text="on the second page").click()
    expect(frame).to_have_attribute("data-url", f"{site.url}/page?name=second")
    second = int(frame.get_attribute("data-index") or "-1")
    page.get_by_test_id("log-line").filter(has_text="on the first page").click()
    expect(frame).to_have_attribute("data-url", f"{site.url}/page?name=first")
    first = int(frame.get_attribute("data-index") or "-1")
    assert 0 <= first < second
    page.wait_for_function("() => document.querySelector('[data-testid=replay-frame]').naturalWidth > 0")
    expect(logs.filter(has_text="on the first page")).to_have_class("line picked now")
    shot(page, "browser-3-log-line-to-frame")

    # the slider moves the frame too, and marks the last line logged by then
    page.get_by_test_id("replay-slider").fill(str(second))
    expect(frame).to_have_attribute("data-index", str(second))
    expect(logs.filter(has_text="on the second page")).to_contain_class("now")

    # the MP4 (ffmpeg is installed by scripts/setup.sh) plays through its signed link
    page.get_by_test_id("show-video").click()
    video = page.get_by_test_id("replay-video")
    expect(video).to_be_visible()
    page.wait_for_function("() => document.querySelector('[data-testid=replay-video]').readyState >= 1", timeout=30_000)
    assert "signature=" in (video.get_attribute("src") or "")

    # the session was metered: its start latency on /metrics, its minutes on /usage
    metrics = httpx.get(f"{browser_server.url}/metrics").text
    assert "browserfn_session_start_seconds_count 1.0" in metrics
    usage = httpx.get(f"{browser_server.url}/usage", headers={"x-notte-api-key": browser_server.key}).json()
    assert usage["session_count"] >= 1 and usage["session_minutes"] > 0

    # the session page shows the same card, closed, with its frames
    session_link = page.locator("#sessions a.mono")
    session_link.click()
    expect(page.get_by_test_id("session-status")).not_to_have_attribute("data-status", "active")
    expect(page.get_by_test_id("replay-frame")).to_be_visible(timeout=30_000)


def test_narrow_screen_does_not_overflow(browser_server: LiveServer, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, browser_server)
        with browser_server.client(timeout=60) as api:
            script = "def run(name: str = 'x'):\n    raise ValueError('a reason long enough to need wrapping ' * 4)\n"
            fid = deploy(api, script, name="a-function-with-a-long-name")["function_id"]
            body = {"workflow_id": fid, "variables": {}, "stream": False}
            run_id = api.post(f"/functions/{fid}/runs/start", json=body).json()["function_run_id"]
        for route in ("#/functions", f"#/functions/{fid}", f"#/functions/{fid}/runs/{run_id}", "#/sessions"):
            page.goto(f"{browser_server.url}/{route}")
            page.wait_for_load_state("networkidle")
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390, (route, width)
            if route == f"#/functions/{fid}":
                # a default shows as its value, not Python source
                expect(page.locator("#var-name")).to_have_attribute("placeholder", "x")
                shot(page, "narrow-function")
            if "/runs/" in route:
                expect(page.get_by_test_id("reason")).to_contain_text("a reason long enough")
                shot(page, "narrow-failed-run")
    finally:
        context.close()


def test_docs_render_with_the_network_cut_off(browser_server: LiveServer, page: Page) -> None:
    outside: list[str] = []

    def only_the_server(route: Route) -> None:
        if route.request.url.startswith(browser_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_the_server)
    page.goto(browser_server.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("browserfn", timeout=30_000)
    expect(page.locator(".opblock").first).to_be_visible()
    assert outside == []
    shot(page, "docs-offline")


def test_runs_listing_filters_by_status_on_the_server(browser_server: LiveServer) -> None:
    with browser_server.client(timeout=60) as api:
        fid = deploy(api, "def run(fail: bool = False):\n    assert not fail\n    return 1\n", name="pass-or-fail")[
            "function_id"
        ]
        body = {"workflow_id": fid, "stream": False}
        for fail in (False, True, False):
            api.post(f"/functions/{fid}/runs/start", json={**body, "variables": {"fail": fail}}).raise_for_status()

        def statuses(**params: str | int) -> list[str]:
            answer = api.get(f"/functions/{fid}/runs/", params={"only_active": "False", **params})
            assert answer.status_code == 200, answer.text
            return [run["status"] for run in answer.json()["items"]]

        assert statuses(status="closed") == ["closed", "closed"]
        assert statuses(status="failed") == ["failed"]
        assert statuses(status="closed", page_size=1) == ["closed"]
        assert statuses(status="closed", page_size=1, page=2) == ["closed"]
        assert statuses(status="closed", page_size=1, page=3) == []
        bad = api.get(f"/functions/{fid}/runs/", params={"status": "done"})
        assert bad.status_code == 422 and bad.json()["status"] == 422
        other = httpx.get(
            f"{browser_server.url}/functions/{fid}/runs/",
            params={"status": "closed"},
            headers={"x-notte-api-key": browser_server.create_key("someone-else")},
        )
        # Another account's function lists as Notte lists one that does not exist: an empty page.
        assert (other.status_code, other.json()["items"]) == (200, [])
