"""The web console in real Chromium (Playwright) against a real server: sign in, open a function,
start a run from the generated form, watch its logs arrive live, open the finished run.
Screenshots of each page go to test-artifacts/console/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import deploy
from tests.live_server import LiveServer

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SLOW_GREETER = """\
import time

def run(name: str, times: int = 3, loud: bool = False):
    # greet slowly, so the logs arrive while the run is still going
    for i in range(times):
        print(f"hello {name} #{i}", flush=True)
        time.sleep(0.8)
    return {"greeted": name.upper() if loud else name, "times": times}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: scripts/setup.sh installs Debian's chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_sign_in_run_from_the_form_and_watch_it_live(server: LiveServer, api: httpx.Client, page: Page) -> None:
    function = deploy(api, SLOW_GREETER, name="slow-greeter", description="Greets slowly")
    fid = function["function_id"]

    page.goto(server.url + "/")
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    shot(page, "1-sign-in")
    page.get_by_test_id("api-key").fill("bfn_wrong")
    page.get_by_test_id("sign-in").click()
    expect(page.locator("#signin-error")).to_contain_text("invalid or revoked API key")
    page.get_by_test_id("api-key").fill(server.key)
    page.get_by_test_id("sign-in").click()

    expect(page.get_by_test_id("functions")).to_be_visible()
    link = page.get_by_test_id("function-link").filter(has_text="slow-greeter").first
    expect(link).to_be_visible()
    shot(page, "2-functions")
    link.click()

    expect(page.get_by_test_id("function-name")).to_have_text("slow-greeter")
    code = page.get_by_test_id("code")
    expect(code).to_contain_text("def run(name: str, times: int = 3, loud: bool = False):")
    expect(code.locator(".tok-kw").first).to_have_text("import")
    expect(code.locator(".tok-com")).to_have_text("# greet slowly, so the logs arrive while the run is still going")
    expect(page.get_by_test_id("versions")).to_have_value(function["latest_version"])
    form = page.get_by_test_id("run-form")
    expect(form.locator("#var-name")).to_have_attribute("required", "")
    expect(form.locator("#var-times")).to_have_attribute("type", "number")
    expect(form.locator("select#var-loud")).to_be_visible()
    shot(page, "3-function")

    form.locator("#var-name").fill("ada")
    form.locator("#var-times").fill("4")
    form.locator("#var-loud").select_option("true")
    page.get_by_test_id("start-run").click()

    logs = page.get_by_test_id("logs")
    expect(logs).to_contain_text("hello ada #0", timeout=20_000)
    # the first line is on screen while the run is still active: the logs are live
    expect(page.locator("#summary")).to_have_attribute("data-status", "active")
    assert "hello ada #3" not in logs.inner_text()
    shot(page, "4-run-live")

    expect(page.locator("#summary")).to_have_attribute("data-status", "closed", timeout=30_000)
    expect(logs).to_contain_text("hello ada #3")
    expect(page.get_by_test_id("result")).to_contain_text('"greeted": "ADA"')
    expect(page.get_by_test_id("state")).to_have_text("succeeded")
    expect(page.locator("#variables")).to_contain_text('"loud": true')
    shot(page, "5-run-finished")
    run_id = page.url.rsplit("/", 1)[-1]
    stored = api.get(f"/functions/{fid}/runs/{run_id}").json()
    assert (stored["status"], stored["variables"]) == ("closed", {"name": "ada", "times": 4, "loud": True})

    # the finished run, opened from the function's runs table
    page.goto(f"{server.url}/#/functions/{fid}")
    rows = page.get_by_test_id("run-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("closed")
    page.locator("[data-filter=failed]").click()
    expect(page.get_by_test_id("run-row")).to_have_count(0)
    page.locator("[data-filter=closed]").click()
    expect(page.get_by_test_id("run-row")).to_have_count(1)
    shot(page, "6-runs-table")
    page.get_by_test_id("run-row").first.locator("a").click()
    expect(page.get_by_test_id("logs")).to_contain_text("hello ada #3")
    expect(page.locator("#summary")).to_have_attribute("data-status", "closed")

    page.goto(f"{server.url}/#/sessions")
    expect(page.get_by_role("heading", name="Browser sessions")).to_be_visible()
    shot(page, "7-sessions")
