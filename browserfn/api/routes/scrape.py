"""One-shot scrape: `POST /scrape` opens a session of its own, loads the URL, scrapes it (Markdown,
and structured data through the model with `instructions` or `response_format`) and closes the
session; `POST /scrape_from_html` extracts structured data from HTML the caller sends, with no
browser."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from browserfn.api.access import requires
from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.browser import session_options
from browserfn.browser.llm import Caller, require
from browserfn.browser.scrape import ScrapeOptions, extract, html_to_markdown, scrape_page
from browserfn.browser.session_options import StartSessionRequest
from browserfn.errors import InvalidInput, NotFound
from browserfn.models import Scope
from browserfn.vaults import NOT_IN_URL

#: A one-shot scrape opens (and closes) a session: what a run's key may do.
router = APIRouter(tags=["scrape"], dependencies=[requires(Scope.SESSIONS)])
#: A page to open: an http(s) URL with a host.
PAGE_URL_PATTERN = rf"^https?://[^{NOT_IN_URL}/?#@]+(?:[/?#][^{NOT_IN_URL}]*)?$"
_TAG_PATTERN = r"^[A-Za-z][A-Za-z0-9-]*$"
_STRUCTURED: dict[str, JsonValue] = {
    "anyOf": [
        {"required": ["instructions"], "properties": {"instructions": {"type": "string", "minLength": 1}}},
        {"required": ["response_format"], "properties": {"response_format": {"type": "object"}}},
    ]
}
_VIEWPORT: dict[str, JsonValue] = {
    "anyOf": [
        {"properties": {"viewport_width": {"type": "null"}, "viewport_height": {"type": "null"}}},
        {
            "required": ["viewport_width", "viewport_height"],
            "properties": {"viewport_width": {"type": "integer"}, "viewport_height": {"type": "integer"}},
        },
    ]
}


class ScrapeFields(BaseModel):
    """Notte's scrape options, as a session's scrape takes them."""

    model_config = ConfigDict(extra="forbid")
    selector: str | None = Field(
        default=None, max_length=2000, description="A CSS selector: only what it matches (one that does not parse: 422)"
    )
    scrape_links: bool = True
    scrape_images: bool = False
    ignored_tags: list[Annotated[str, Field(max_length=100, pattern=_TAG_PATTERN)]] | None = Field(
        default=None, max_length=100, description="HTML tag names whose elements are left out"
    )
    only_main_content: bool = False
    only_images: Literal[False] = Field(default=False, description="Not supported here: only false")
    use_link_placeholders: Literal[False] = Field(default=False, description="Not supported here: only false")
    response_format: dict[str, Any] | None = Field(
        default=None, description="A JSON Schema (draft 2020-12) the data must fit (one that is not: 422)"
    )
    instructions: str | None = None
    model: str | None = Field(
        default=None, max_length=200, description="A model the operator allows (another: 422); default: theirs"
    )


class ScrapeRequest(ScrapeFields):
    """Notte's GlobalScrapeRequest: the page's URL, the scrape's options and the session options a
    one-shot scrape honours, as a session start does; the others only at their defaults."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_VIEWPORT)
    url: str = Field(max_length=2048, pattern=PAGE_URL_PATTERN, description="The page: an http(s) URL")
    idle_timeout_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    max_duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    browser_type: Literal["chromium", "chrome", "chrome-nightly", "chrome-turbo"] = "chromium"
    user_agent: str | None = Field(default=None, min_length=1, max_length=512, pattern=r"^[\x20-\x7e]+$")
    viewport_width: int | None = Field(default=None, ge=100, le=8000)
    viewport_height: int | None = Field(default=None, ge=100, le=8000)
    headless: Literal[True] = Field(default=True, description="Sessions here are always headless")
    # Session options a one-shot scrape cannot honour: only their defaults.
    solve_captchas: Literal[False] = False
    proxies: Literal[False] | Annotated[list[Any], Field(max_length=0)] | None = False
    chrome_args: Annotated[list[str], Field(max_length=0)] | None = None
    cdp_url: None = None
    profile: None = None
    vault_id: None = None
    extra_http_headers: None = None
    web_bot_auth: Literal[False] = False
    use_file_storage: Literal[False] = False
    screenshot_type: Literal["raw"] | None = None


class Frame(BaseModel):
    """Notte's FrameData."""

    model_config = ConfigDict(extra="forbid")
    frameUrl: str = Field(default="", max_length=2048, description="The frame's URL")
    frameData: str = Field(description="The frame's HTML")


class ScrapeFromHtmlRequest(ScrapeFields):
    """Notte's ScrapeFromHtmlRequest: structured data needs `instructions` or `response_format`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_STRUCTURED)
    frames: list[Frame] = Field(min_length=1, description="The page's frames, the main frame first")


_SESSION_FIELDS = {"idle_timeout_minutes", "max_duration_minutes", "browser_type", "user_agent", "viewport_width",
                   "viewport_height"}  # fmt: skip


@router.post("/scrape", responses={404: {"description": "The page could not be opened (no such host, refused...)"}})
async def scrape_url(svc: ServicesDep, principal: PrincipalDep, request: ScrapeRequest) -> dict[str, Any]:
    """Notte's DataSpace of the page at `url`: `markdown`, and `structured` when asked (a failed
    extraction is `success: false` with the error, not an HTTP error). A page that cannot be
    opened (no such host, refused, not allowed here) is a 404 saying why."""
    body, url = request.model_dump(), request.url
    options = ScrapeOptions.from_request(body)
    layer = (
        require(svc.sessions.llm, "scraping with `instructions` or `response_format`") if options.structured else None
    )
    if layer is not None:
        options = dataclasses.replace(options, model=layer.resolve(options.model))
    start = StartSessionRequest.model_validate({k: v for k, v in body.items() if k in _SESSION_FIELDS})
    plan = session_options.plan(start, svc.settings)  # as a session start does (refusals by name)
    session = await svc.sessions.open(principal, plan)
    try:
        async with session.lock:
            assert session.driver is not None
            opened = await session.driver.execute({"type": "goto", "url": url})
            if not opened.success:
                raise NotFound(f"could not open {url}: {opened.message}")
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
async def scrape_from_html(svc: ServicesDep, principal: PrincipalDep, request: ScrapeFromHtmlRequest) -> dict[str, Any]:
    """Notte's ScrapeSchemaResponse: structured data extracted from `frames` (the main frame's
    HTML first), with the schema it was checked against."""
    layer = require(svc.sessions.llm, "scrape_from_html")  # nothing is done without one
    options = ScrapeOptions.from_request(request.model_dump())
    if not options.structured:
        raise InvalidInput("scrape_from_html extracts structured data: give `instructions` or `response_format`")
    options = dataclasses.replace(options, model=layer.resolve(options.model))
    frames = request.frames
    base_url = frames[0].frameUrl or None
    markdown = "\n\n".join(html_to_markdown(f.frameData, options, f.frameUrl or base_url) for f in frames)
    structured = await extract(layer, markdown, base_url or "(HTML given by the caller)", options, Caller(
        principal.account_id, principal.run_id))  # fmt: skip
    schema = {"success": options.response_format is not None, "model_schema": options.response_format,
              "error": None if options.response_format is not None else "no response_format was given"}  # fmt: skip
    return {"model_schema": schema, "scrape": structured}
