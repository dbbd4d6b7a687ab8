"""`page/scrape`: the current page as Markdown (markdownify over the live DOM), with links and
optionally images, optionally only the main content. Structured extraction needs an LLM."""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup
from markdownify import markdownify

from browserfn.errors import BrowserfnError

#: Elements that are never content.
_ALWAYS_DROPPED = ["script", "style", "noscript", "template", "iframe", "svg", "canvas"]
#: Elements dropped with `only_main_content`: page chrome around the content.
_CHROME = ["header", "footer", "nav", "aside", "form[role=search]"]
_CHROME_ROLES = ["banner", "navigation", "contentinfo", "complementary"]


class NeedsLLM(BrowserfnError):
    """A call that needs a language model on a server configured without one."""

    status_code = 501


@dataclasses.dataclass(frozen=True)
class ScrapeOptions:
    scrape_links: bool = True
    scrape_images: bool = False
    only_main_content: bool = False
    selector: str | None = None
    ignored_tags: tuple[str, ...] = ()

    @classmethod
    def from_request(cls, body: dict[str, Any], llm_provider: str | None) -> ScrapeOptions:
        """The markdown options of a ScrapeRequest; structured requests fail without an LLM."""
        if body.get("instructions") or body.get("response_format"):
            if llm_provider is None:
                raise NeedsLLM(
                    "scraping with `instructions` or `response_format` needs an LLM, and this server has "
                    "no LLM provider configured; scrape without them to get the page as Markdown"
                )
            raise NeedsLLM(f"the LLM provider {llm_provider!r} is not supported by this server version")
        return cls(
            scrape_links=bool(body.get("scrape_links", True)),
            scrape_images=bool(body.get("scrape_images", False)),
            only_main_content=bool(body.get("only_main_content", False)),
            selector=body.get("selector") or None,
            ignored_tags=tuple(body.get("ignored_tags") or ()),
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
