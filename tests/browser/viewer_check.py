"""What a person does with a session's live viewer, done in a real headless Chromium: watch the
page change as the session drives it, then click and type into it through the viewer. Screenshots
of the viewer go to `artifacts`, a folder under test-artifacts/viewer/ (kept after the run, not
committed), emptied first."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

from tests.browser.site import LocalSite

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 60000  # generous: the machine is shared and busy
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "viewer"


def _js(api: httpx.Client, sid: str, code: str) -> Any:
    done = api.post(f"/sessions/{sid}/page/execute", json={"type": "evaluate_js", "code": code}).json()
    assert done["success"] is True, done
    return json.loads(done["data"]["markdown"]) if code.startswith("JSON.stringify") else done["data"]["markdown"]


def _goto(api: httpx.Client, sid: str, url: str) -> None:
    done = api.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": url}).json()
    assert done["success"] is True, done


def _frames(viewer: Page) -> int:
    return int(viewer.evaluate("Number(document.body.dataset.frames || 0)"))


def _shows(viewer: Page, url_part: str, after_frames: int) -> None:
    viewer.wait_for_function(
        "([part, n]) => document.getElementById('url').textContent.includes(part)"
        " && Number(document.body.dataset.frames || 0) > n",
        arg=[url_part, after_frames],
        timeout=WAIT_MS,
    )


def _until_title(api: httpx.Client, sid: str, title: str) -> None:
    """Until the session's page has `title` (a check that meets the page navigating is tried again)."""
    deadline = time.monotonic() + 60
    got = None
    while True:
        done = api.post(f"/sessions/{sid}/page/execute", json={"type": "evaluate_js", "code": "document.title"}).json()
        got = done["data"]["markdown"] if done["success"] else got
        if got == title:
            return
        assert time.monotonic() < deadline, f"the page's title stayed {got!r}, not {title!r}"
        time.sleep(0.2)


def _click_through(viewer: Page, api: httpx.Client, sid: str, selector: str) -> None:
    """Click the session page's `selector` by clicking its place in the viewer's picture."""
    box = _js(api, sid, f"JSON.stringify(document.querySelector({json.dumps(selector)}).getBoundingClientRect())")
    size = _js(api, sid, "JSON.stringify([innerWidth, innerHeight])")
    shown = viewer.locator("#screen").bounding_box()
    assert shown is not None
    x = (box["x"] + box["width"] / 2) * shown["width"] / size[0]
    y = (box["y"] + box["height"] / 2) * shown["height"] / size[1]
    viewer.locator("#screen").click(position={"x": x, "y": y})


def watch_and_take_over(viewer_url: str, api: httpx.Client, sid: str, site: LocalSite, artifacts: Path) -> None:
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        viewer = browser.new_page(viewport={"width": 1100, "height": 900})
        try:
            _goto(api, sid, f"{site.url}/")
            viewer.goto(viewer_url)
            _shows(viewer, "127.0.0.1", 0)
            assert viewer.locator("#mode").inner_text() == "click and type to take over"
            viewer.screenshot(path=str(artifacts / "viewer-1-front-page.png"))
            first_picture = viewer.locator("#screen").get_attribute("src")

            seen = _frames(viewer)
            _goto(api, sid, f"{site.url}/page?name=Seen+live")
            _shows(viewer, "/page?name=Seen+live", seen)
            assert viewer.locator("#screen").get_attribute("src") != first_picture
            viewer.screenshot(path=str(artifacts / "viewer-2-after-goto.png"))

            seen = _frames(viewer)
            _goto(api, sid, f"{site.url}/form")
            _shows(viewer, "/form", seen)
            _click_through(viewer, api, sid, "#search")
            for key in ("h", "i", "Enter"):
                viewer.keyboard.press(key)
            _until_title(api, sid, "entered hi")
            viewer.screenshot(path=str(artifacts / "viewer-3-typed.png"))

            _click_through(viewer, api, sid, "button[type=submit]")
            _until_title(api, sid, "Thanks")
            seen = _frames(viewer)
            _shows(viewer, "/submitted", seen - 1)
            viewer.screenshot(path=str(artifacts / "viewer-4-clicked.png"))

            seen = _frames(viewer)  # a new tab becomes the session's current one: the viewer follows
            opened = {"type": "goto_new_tab", "url": f"{site.url}/page?name=Second+tab"}
            assert api.post(f"/sessions/{sid}/page/execute", json=opened).json()["success"] is True
            _shows(viewer, "/page?name=Second+tab", seen)
        finally:
            browser.close()
