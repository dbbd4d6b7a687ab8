"""`page/execute`: Notte's deterministic browser actions, done for real with Playwright on the
session's browser. A failing action is an `ActionOutcome` with `success=False` and the reason
(element not found, timeout...), never an exception."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from browserfn.browser import vault_fill
from browserfn.browser.observe import page_actions
from browserfn.browser.session_data import SessionData
from browserfn.browser.session_options import NotServed
from browserfn.errors import InvalidInput, NotFound
from browserfn.files import StoredFile

#: Notte's element ids: a kind letter (L link, B button, I input...) and a number.
NOTTE_ID = re.compile(r"^[A-Z][0-9]+$")

#: Playwright's error types, resolved lazily so the module imports without Playwright.
_PlaywrightError: tuple[type[BaseException], ...] = ()


def playwright_errors() -> tuple[type[BaseException], ...]:
    global _PlaywrightError
    if not _PlaywrightError:
        from playwright.async_api import Error

        _PlaywrightError = (Error,)
    return _PlaywrightError


class ElementNotFound(Exception):
    """An action names an element the page does not have."""


@dataclasses.dataclass(frozen=True)
class ActionOutcome:
    success: bool
    message: str
    data: str | None = None  #: text result (evaluate_js), sent back as DataSpace markdown


class PageDriver:
    """The session's tabs and which one is current; the target of every action."""

    def __init__(self, context: Any, default_timeout_ms: int) -> None:
        self._context = context
        self._default_timeout_ms = default_timeout_ms
        #: The vault the session was started with (`vault_id`): placeholders are filled from it.
        self.vault: vault_fill.VaultLookup | None = None
        self._current: Any = None
        #: Element ids of the last observe (`page/execute` takes them), with their selectors, and the
        #: document they were found in: (page, its document's performance.timeOrigin, ids).
        self._observed: tuple[Any, float, dict[str, str]] | None = None
        #: The session's files, network log and trajectory (upload_file, download_file; every action done).
        self.data: SessionData | None = None

    @property
    def context(self) -> Any:
        """The session's browser context: its pages, and those a CDP client opens."""
        return self._context

    @property
    def pages(self) -> list[Any]:
        return [page for page in self._context.pages if not page.is_closed()]

    def current(self) -> Any | None:
        """The current tab if one is open, without opening one (for screenshots)."""
        if self._current is not None and not self._current.is_closed():
            return self._current
        pages = self.pages
        return pages[-1] if pages else None

    async def page(self) -> Any:
        """The current tab: the one last chosen, else the newest open one, else a new one."""
        if self._current is not None and not self._current.is_closed():
            return self._current
        pages = self.pages
        self._current = pages[-1] if pages else await self._context.new_page()
        return self._current

    def use(self, page: Any) -> None:
        """Make `page` the current tab (None: the newest open one)."""
        self._current = page

    async def execute(self, action: dict[str, Any], record: bool = True) -> ActionOutcome:
        """Do the action; a successful one joins the session's trajectory if `record`."""
        kind = str(action.get("type", ""))
        if kind == "captcha_solve":
            raise NotServed(
                "captcha_solve: this server has no captcha solver; "
                "a person can solve it through the session's live viewer (viewer_url)"
            )
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise InvalidInput(f"action type {kind!r} is not supported here; supported: {', '.join(sorted(_HANDLERS))}")
        try:
            outcome = await handler(self, action)
        except ElementNotFound as exc:
            return ActionOutcome(False, f"{kind} failed: {exc}")
        except playwright_errors() as exc:
            return ActionOutcome(False, explain_failure(kind, exc))
        except vault_fill.VaultFillError as exc:
            return ActionOutcome(False, f"{kind} failed: {exc}")
        if outcome.success and record and self.data is not None:
            self.data.record_action(action)
        return outcome

    def timeout_ms(self, action: dict[str, Any]) -> float:
        value = action.get("timeout")
        return float(value) if isinstance(value, int | float) and value > 0 else float(self._default_timeout_ms)

    async def locator(self, action: dict[str, Any]) -> Any:
        """The element an interaction action names, by `selector` (Playwright, CSS or XPath, or
        Notte's NodeSelectors) or by `id` (an id from the last observe, else the element's id
        attribute, else its name attribute)."""
        page = await self.page()
        selector = action.get("selector")
        if isinstance(selector, dict):
            selector = next(
                (selector[key] for key in ("playwright_selector", "css_selector") if selector.get(key)),
                f"xpath={selector['xpath_selector']}" if selector.get("xpath_selector") else None,
            )
        if selector:
            return page.locator(str(selector)).first
        element_id = action.get("id")
        if not element_id:
            raise InvalidInput(f"action {action.get('type')!r} needs a `selector` or an `id`")
        found = await self._observed_selector(page, str(element_id))
        if found is not None:
            return page.locator(found).first
        quoted = json.dumps(str(element_id))
        by_attribute = page.locator(f"[id={quoted}], [name={quoted}]").first
        if NOTTE_ID.match(str(element_id)) and not await by_attribute.count():
            raise ElementNotFound(f"no element {element_id} on this page ({page.url}); observe lists the page's ids")
        return by_attribute

    async def remember(self, page: Any, actions: list[dict[str, Any]]) -> None:
        """The ids an observe of `page` gave, valid for the document it showed."""
        self._observed = (page, await _document_of(page), {a["id"]: a["selector"] for a in actions})

    async def _observed_selector(self, page: Any, element_id: str) -> str | None:
        """The selector of an observe id (`B1`, `I2`...) on the document `page` shows now: from the
        last observe if it saw this document, else from observing it now (Notte's ids work without
        an explicit observe, and never name an element of a previous page)."""
        if not NOTTE_ID.match(element_id):
            return None
        if self._observed is None or self._observed[0] is not page or self._observed[1] != await _document_of(page):
            await self.remember(page, await page_actions(page))
        assert self._observed is not None
        return self._observed[2].get(element_id)


async def _document_of(page: Any) -> float:
    """What tells a page's documents apart: each load has its own time origin."""
    origin: float = await page.evaluate("performance.timeOrigin")
    return origin


def explain_failure(kind: str, exc: BaseException) -> str:
    text = str(exc).strip().split("\n")
    first = text[0] if text else type(exc).__name__
    if "Timeout" in type(exc).__name__ or "Timeout" in first:
        return f"{kind} failed: timeout: {first}"
    return f"{kind} failed: {first}"


async def _goto(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    page = await driver.page()
    await page.goto(str(action["url"]), wait_until=action.get("wait_until") or "load", timeout=driver.timeout_ms({}))
    return ActionOutcome(True, f"Navigated to {page.url}")


async def _goto_new_tab(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    page = await (await driver.page()).context.new_page()
    driver.use(page)
    await page.goto(str(action["url"]), timeout=driver.timeout_ms({}))
    return ActionOutcome(True, f"Opened {page.url} in a new tab")


async def _switch_tab(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    pages, index = driver.pages, int(action.get("tab_index", 0))
    if not 0 <= index < len(pages):
        return ActionOutcome(False, f"switch_tab failed: no tab {index}; {len(pages)} tabs are open")
    driver.use(pages[index])
    await pages[index].bring_to_front()
    return ActionOutcome(True, f"Switched to tab {index}")


async def _close_tab(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    await (await driver.page()).close()
    driver.use(None)
    await driver.page()
    return ActionOutcome(True, "Closed the current tab")


def _history(name: str) -> Callable[[PageDriver, dict[str, Any]], Awaitable[ActionOutcome]]:
    async def move(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
        page = await driver.page()
        await getattr(page, name)(timeout=driver.timeout_ms({}))
        return ActionOutcome(True, f"{name} done, now at {page.url}")

    return move


async def _wait(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    await asyncio.sleep(max(0, int(action.get("time_ms", 0))) / 1000)
    return ActionOutcome(True, f"Waited {action.get('time_ms')} ms")


async def _press_key(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    await (await driver.page()).keyboard.press(str(action["key"]))
    return ActionOutcome(True, f"Pressed {action['key']}")


def _scroll(sign: int) -> Callable[[PageDriver, dict[str, Any]], Awaitable[ActionOutcome]]:
    async def scroll(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
        amount = action.get("amount")
        script = "([sign, by, el]) => (el || window).scrollBy(0, sign * (by ?? window.innerHeight * 0.9))"
        page = await driver.page()
        target = await (await driver.locator(action)).element_handle() if action.get("selector") else None
        await page.evaluate(script, [sign, amount, target])
        return ActionOutcome(True, f"Scrolled {'down' if sign > 0 else 'up'}")

    return scroll


async def _click(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    await (await driver.locator(action)).click(timeout=driver.timeout_ms(action))
    return ActionOutcome(True, "Clicked")


async def _fill(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    element = await driver.locator(action)
    value = await vault_fill.fill_value(driver.vault, await driver.page(), element, str(action.get("value", "")))
    await element.fill(value, timeout=driver.timeout_ms(action))
    if action.get("press_enter"):
        await element.press("Enter", timeout=driver.timeout_ms(action))
    return ActionOutcome(True, "Filled")


async def _form_fill(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    values = action.get("value")
    if not isinstance(values, dict) or not values or not all(isinstance(v, str) for v in values.values()):
        raise InvalidInput("form_fill needs `value`: an object of field names to strings")
    page = await driver.page()
    return ActionOutcome(True, await vault_fill.form_fill(driver.vault, page, values, driver.timeout_ms(action)))


async def _multi_factor_fill(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    page = await driver.page()
    named = action.get("id") or action.get("selector")
    element = await driver.locator(action) if named else await vault_fill.otp_input(page)
    code = await vault_fill.otp_code(driver.vault, page, str(action.get("value") or ""))
    await element.fill(code, timeout=driver.timeout_ms(action))
    if action.get("press_enter"):
        await element.press("Enter", timeout=driver.timeout_ms(action))
    return ActionOutcome(True, "Filled the one-time code")


async def _check(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    await (await driver.locator(action)).set_checked(bool(action.get("value", True)), timeout=driver.timeout_ms(action))
    return ActionOutcome(True, "Checked" if action.get("value", True) else "Unchecked")


async def _select(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    element = await driver.locator(action)
    value = str(action.get("value", ""))
    try:
        await element.select_option(value=value, timeout=driver.timeout_ms(action))
    except playwright_errors():
        await element.select_option(label=value, timeout=driver.timeout_ms(action))
    return ActionOutcome(True, f"Selected {value}")


async def _evaluate_js(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    value = await (await driver.page()).evaluate(str(action["code"]))
    text = value if isinstance(value, str) else json.dumps(value)
    return ActionOutcome(True, "Evaluated", data=text)


def _session_data(driver: PageDriver, kind: str) -> SessionData:
    if driver.data is None:
        raise InvalidInput(f"{kind} needs the session's file storage")
    return driver.data


async def _upload_file(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    """Put one of the session's uploaded files (`file_path`: its name or id) into a file input,
    or into the file chooser the element opens when clicked."""
    name = action.get("file_path")
    if not isinstance(name, str) or not name:
        raise InvalidInput("upload_file needs `file_path`: the name (or id) of a file uploaded to the session")
    try:
        path = _session_data(driver, "upload_file").upload_path(name)
    except NotFound as exc:
        return ActionOutcome(False, f"upload_file failed: {exc.message}")
    element, timeout = await driver.locator(action), driver.timeout_ms(action)
    is_input = await element.evaluate("e => e.tagName === 'INPUT' && e.type === 'file'", timeout=timeout)
    if is_input:
        await element.set_input_files(path, timeout=timeout)
    else:
        async with (await driver.page()).expect_file_chooser(timeout=timeout) as chooser:
            await element.click(timeout=timeout)
        await (await chooser.value).set_files(path, timeout=timeout)
    return ActionOutcome(True, f"Uploaded {name}")


async def _download_file(driver: PageDriver, action: dict[str, Any]) -> ActionOutcome:
    """Click the element and keep the file the page downloads in the session's files."""
    data, timeout = _session_data(driver, "download_file"), driver.timeout_ms(action)
    element = await driver.locator(action)
    async with (await driver.page()).expect_download(timeout=timeout) as started:
        await element.click(timeout=timeout)
    saved = await data.capture(await started.value)
    if not isinstance(saved, StoredFile):
        return ActionOutcome(False, f"download_file failed: {saved}")
    return ActionOutcome(True, f"Downloaded {saved.filename} ({saved.size} bytes) as file {saved.id}")


_HANDLERS: dict[str, Callable[[PageDriver, dict[str, Any]], Awaitable[ActionOutcome]]] = {
    "goto": _goto,
    "goto_new_tab": _goto_new_tab,
    "switch_tab": _switch_tab,
    "close_tab": _close_tab,
    "go_back": _history("go_back"),
    "go_forward": _history("go_forward"),
    "reload": _history("reload"),
    "wait": _wait,
    "press_key": _press_key,
    "scroll_up": _scroll(-1),
    "scroll_down": _scroll(1),
    "click": _click,
    "fill": _fill,
    "form_fill": _form_fill,
    "multi_factor_fill": _multi_factor_fill,
    "check": _check,
    "select_dropdown_option": _select,
    "evaluate_js": _evaluate_js,
    "upload_file": _upload_file,
    "download_file": _download_file,
}
