"""Drive a session's browser with Playwright over CDP (`session.cdp_url()`)."""

from notte_sdk import NotteClient
from playwright.sync_api import sync_playwright


def run(url: str):
    client = NotteClient()
    with client.Session() as session, sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(session.cdp_url())
        page = browser.contexts[0].pages[0]
        page.goto(url)
        page.fill("#name", "Grace")
        page.click("button[type='submit']")
        page.wait_for_url("**/submitted*")
        heading = page.locator("h1").inner_text()
        result = {"title": page.title(), "heading": heading, "items": page.locator("li").all_inner_texts()}
        browser.close()
    return result
