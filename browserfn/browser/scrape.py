"""`page/scrape`: the current page as Markdown (markdownify over the live DOM), with links and
optionally images, optionally only the main content. With `instructions` or `response_format`
(a JSON schema), the LLM reads that Markdown and answers JSON, checked against the schema here:
Notte's `structured` (`{success, data, error}`)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from typing import Any
from urllib.parse import urljoin

import soupsieve
from bs4 import BeautifulSoup
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from markdownify import markdownify

from browserfn.browser.llm import Caller, LLMAnswerNotJSON, ModelLayer
from browserfn.errors import InvalidInput

#: Elements that are never content.
_ALWAYS_DROPPED = ["script", "style", "noscript", "template", "iframe", "svg", "canvas"]
#: Elements dropped with `only_main_content`: page chrome around the content.
_CHROME = ["header", "footer", "nav", "aside", "form[role=search]"]
_CHROME_ROLES = ["banner", "navigation", "contentinfo", "complementary"]
#: Markdown beyond this many characters is cut before it goes to the LLM.
MAX_PROMPT_PAGE_CHARS = 100_000
EXTRACT_SYSTEM = (
    "You extract data from a web page, given as Markdown. Answer with JSON only, no prose. Use only what "
    "the page says; where it does not say, use null."
)


@dataclasses.dataclass(frozen=True)
class ScrapeOptions:
    scrape_links: bool = True
    scrape_images: bool = False
    only_main_content: bool = False
    selector: str | None = None
    ignored_tags: tuple[str, ...] = ()

    instructions: str | None = None
    response_format: dict[str, Any] | None = None  #: a JSON schema
    model: str | None = None  #: the model the request names (None: the operator's default)

    @property
    def structured(self) -> bool:
        return bool(self.instructions) or self.response_format is not None

    @classmethod
    def from_request(cls, body: dict[str, Any]) -> ScrapeOptions:
        """The options of a ScrapeRequest; a response_format that is not a JSON schema is a 422."""
        instructions, schema, model = body.get("instructions"), body.get("response_format"), body.get("model")
        if instructions is not None and not isinstance(instructions, str):
            raise InvalidInput("instructions must be a string")
        if model is not None and not isinstance(model, str):
            raise InvalidInput("model must be a string (a model name such as 'openai/gpt-4o-mini')")
        check_schema(schema)
        selector = body.get("selector") or None
        if selector is not None:
            try:
                soupsieve.compile(selector)
            except (soupsieve.SelectorSyntaxError, TypeError) as exc:
                raise InvalidInput(f"selector {str(selector)[:200]!r} is not a CSS selector") from exc
        return cls(
            scrape_links=bool(body.get("scrape_links", True)),
            scrape_images=bool(body.get("scrape_images", False)),
            only_main_content=bool(body.get("only_main_content", False)),
            selector=selector,
            ignored_tags=tuple(body.get("ignored_tags") or ()),
            instructions=instructions or None,
            response_format=schema,
            model=model or None,
        )


def html_to_markdown(html: str, options: ScrapeOptions, base_url: str | None = None) -> str:
    """Clean Markdown of an HTML document under `options`."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.select(", ".join(_ALWAYS_DROPPED + list(options.ignored_tags))):
        tag.decompose()
    root: Any = soup.body or soup
    if options.selector:
        root = soup.select_one(options.selector) or BeautifulSoup("", "html.parser")
    elif options.only_main_content:
        root = soup.select_one("main, [role=main], article") or root
        for tag in root.select(", ".join(_CHROME + [f"[role={role}]" for role in _CHROME_ROLES])):
            tag.decompose()
    if base_url:
        for name, attribute in (("a", "href"), ("img", "src")):
            for element in root.find_all(name, attrs={attribute: True}):
                with contextlib.suppress(ValueError):  # a link urllib cannot parse ("http://[") stays as written
                    element[attribute] = urljoin(base_url, str(element[attribute]))
    strip = []
    if not options.scrape_links:
        strip.append("a")
    if not options.scrape_images:
        strip.append("img")
    markdown = markdownify(str(root), heading_style="ATX", strip=strip, bullets="-")
    return re.sub(r"\n{3,}", "\n\n", markdown).strip() + "\n"


async def scrape_page(page: Any, options: ScrapeOptions) -> str:
    """Markdown of a live Playwright page: its current DOM, so script-made content counts."""
    html = await page.content()
    return html_to_markdown(html, options, page.url)


async def extract(
    llm: ModelLayer, markdown: str, url: str, options: ScrapeOptions, caller: Caller, purpose: str = "scrape"
) -> dict[str, Any]:
    """Notte's StructuredData for the page: what the model answered, if it fits `response_format`
    (the model: the one the options name, which the caller has resolved)."""
    parts = [f"Page URL: {url}"]
    if options.instructions:
        parts.append(f"What to extract: {options.instructions}")
    if options.response_format is not None:
        parts.append(f"Answer with JSON matching this JSON schema:\n{json.dumps(options.response_format)}")
    else:
        parts.append("Answer with a JSON object.")
    parts.append(f"The page (Markdown):\n{markdown[:MAX_PROMPT_PAGE_CHARS]}")
    try:
        data = await llm.json_answer(
            EXTRACT_SYSTEM, "\n\n".join(parts), options.response_format, caller=caller, purpose=purpose,
            model=options.model,
        )  # fmt: skip
    except LLMAnswerNotJSON as exc:
        return {"success": False, "data": None, "error": str(exc)}
    if options.response_format is not None and (error := schema_mismatch(options.response_format, data)):
        return {"success": False, "data": None, "error": error}
    if data is None:
        return {"success": False, "data": None, "error": "the model found nothing to extract (it answered null)"}
    return {"success": True, "data": data, "error": None}


INFER_SYSTEM = (
    "You write the JSON Schema (draft 2020-12) of the data a user asks to extract from a web page. Answer "
    'with the schema only, as JSON: {"type": "object", "properties": {...}, "required": [...]}, one property '
    "per thing the request names."
)


async def infer_response_format(llm: ModelLayer, instructions: str, caller: Caller) -> dict[str, Any] | None:
    """A JSON schema for what `instructions` ask a scrape for, written by the model; None when
    its answer is not a JSON schema of an object."""
    try:
        answer = await llm.json_answer(
            INFER_SYSTEM, f"What to extract: {instructions}", caller=caller, purpose="infer_response_format"
        )
        schema = check_schema(answer)
    except (LLMAnswerNotJSON, InvalidInput):
        return None
    return schema if schema is not None and schema.get("type") == "object" else None


def schema_mismatch(schema: dict[str, Any], data: Any) -> str | None:
    """Why `data` does not fit the JSON schema, else None."""
    errors = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))
    if not errors:
        return None
    where = "/".join(str(part) for part in errors[0].path) or "(the answer)"
    return f"the model's answer does not match response_format: at {where}: {errors[0].message}"


def check_schema(schema: Any, field: str = "response_format") -> dict[str, Any] | None:
    """`schema` if it is a JSON schema (or None); InvalidInput naming `field` otherwise."""
    if schema is None:
        return None
    if not isinstance(schema, dict):
        raise InvalidInput(f"{field} must be a JSON schema (an object)")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidInput(f"{field} is not a valid JSON schema: {exc.message}") from exc
    return schema
