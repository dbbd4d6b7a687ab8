"""One-shot scrape: `POST /scrape` opens a session of its own, loads the URL, scrapes it (Markdown,
and structured data through the model with `instructions` or `response_format`) and closes the
session; `POST /scrape_from_html` extracts structured data from HTML the caller sends, with no
browser."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from fastapi import APIRouter

from browserfn.api.access import requires
from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.browser import session_options
from browserfn.browser.llm import Caller, require
from browserfn.browser.scrape import ScrapeOptions, extract, html_to_markdown, scrape_page
from browserfn.browser.session_options import StartSessionRequest
from browserfn.errors import InvalidInput
from browserfn.models import Scope

#: A one-shot scrape opens (and closes) a session: what a run's key may do.
router = APIRouter(tags=["scrape"], dependencies=[requires(Scope.SESSIONS)])
_SCRAPE_FIELDS = {"selector", "scrape_links", "scrape_images", "ignored_tags", "only_main_content", "only_images",
                  "response_format", "instructions", "use_link_placeholders", "model", "url"}  # fmt: skip
#: Session options a one-shot scrape uses, as a session start does.
_SESSION_FIELDS = {"idle_timeout_minutes", "max_duration_minutes", "browser_type", "user_agent", "viewport_width",
                   "viewport_height", "headless"}  # fmt: skip
#: Session options it cannot honour: refused unless left at their default.
_UNSUPPORTED = {"solve_captchas": False, "proxies": False, "chrome_args": None, "cdp_url": None, "profile": None,
                "vault_id": None, "extra_http_headers": None, "web_bot_auth": False, "use_file_storage": False,
                "screenshot_type": None}  # fmt: skip
_HTML_FIELDS = _SCRAPE_FIELDS - {"url"} | {"frames"}


def _check_fields(body: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(body) - known - set(_UNSUPPORTED))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    for name, default in _UNSUPPORTED.items():
        if body.get(name) not in (None, default, []) and not (name == "screenshot_type" and body[name] == "raw"):
            raise InvalidInput(f"{name} is not supported by a one-shot scrape here; use a session for it")
    for name in ("only_images", "use_link_placeholders"):
        if body.get(name):
            raise InvalidInput(f"{name} is not supported here")


@router.post("/scrape")
async def scrape_url(svc: ServicesDep, principal: PrincipalDep, body: dict[str, Any]) -> dict[str, Any]:
    """Notte's DataSpace of the page at `url`: `markdown`, and `structured` when asked (a failed
    extraction is `success: false` with the error, not an HTTP error)."""
    _check_fields(body, _SCRAPE_FIELDS | _SESSION_FIELDS)
    url = body.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InvalidInput("url must be an http(s) URL")
    options = ScrapeOptions.from_request(body)
    layer = (
        require(svc.sessions.llm, "scraping with `instructions` or `response_format`") if options.structured else None
    )
    if layer is not None:
        options = dataclasses.replace(options, model=layer.resolve(options.model))
    start = StartSessionRequest.model_validate({k: v for k, v in body.items() if k in _SESSION_FIELDS - {"headless"}})
    # As a session start does (refusals by name; in a thread, as it may resolve host names).
    plan = await asyncio.to_thread(session_options.plan, start, svc.settings)
    session = await svc.sessions.open(principal, plan)
    try:
        async with session.lock:
            assert session.driver is not None
            opened = await session.driver.execute({"type": "goto", "url": url})
            if not opened.success:
                raise InvalidInput(f"could not open {url}: {opened.message}")
            page = await session.driver.page()
            markdown, final_url = await scrape_page(page, options), page.url
    finally:
        await svc.sessions.close_session(session, "closed", "manual", "its one-shot scrape ended")
    structured = None
    if layer is not None:
        caller = Caller(principal.account_id, principal.run_id, session.session_id)
        structured = await extract(layer, markdown, final_url, options, caller)
    return {"markdown": markdown, "images": None, "structured": structured, "session_id": session.session_id}


@router.post("/scrape_from_html")
async def scrape_from_html(svc: ServicesDep, principal: PrincipalDep, body: dict[str, Any]) -> dict[str, Any]:
    """Notte's ScrapeSchemaResponse: structured data extracted from `frames` (the main frame's
    HTML first, `{frameUrl, frameData}` each), with the schema it was checked against."""
    _check_fields(body, _HTML_FIELDS)
    frames = body.get("frames")
    valid = isinstance(frames, list) and frames and all(
        isinstance(f, dict) and isinstance(f.get("frameData"), str) and isinstance(f.get("frameUrl", ""), str)
        for f in frames
    )  # fmt: skip
    if not valid:
        raise InvalidInput("frames must be a non-empty list of {frameUrl, frameData} (the main frame first)")
    options = ScrapeOptions.from_request(body)
    if not options.structured:
        raise InvalidInput("scrape_from_html extracts structured data: give `instructions` or `response_format`")
    layer = require(svc.sessions.llm, "scrape_from_html")
    options = dataclasses.replace(options, model=layer.resolve(options.model))
    assert isinstance(frames, list)
    base_url = frames[0].get("frameUrl") or None
    markdown = "\n\n".join(html_to_markdown(f["frameData"], options, f.get("frameUrl") or base_url) for f in frames)
    structured = await extract(layer, markdown, base_url or "(HTML given by the caller)", options, Caller(
        principal.account_id, principal.run_id))  # fmt: skip
    schema = {"success": options.response_format is not None, "model_schema": options.response_format,
              "error": None if options.response_format is not None else "no response_format was given"}  # fmt: skip
    return {"model_schema": schema, "scrape": structured}
