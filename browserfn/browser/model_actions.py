"""The `page/execute` actions that may need the model: `scrape` (Markdown, and structured data
with `instructions`/`response_format`), `form_fill` (a dict of values by kind, such as `email` or
`first_name`: filled where the page's inputs say what they take, as browser/vault_fill.py finds
them; the kinds it finds no input for are mapped to the page's fields by the model) and
`fallback_fill` (fill the field named by id or selector, else the one the model finds for its
label). The model sees the page's fields and the kinds of value, never the values (they may be
passwords); vault placeholders are resolved as for `fill`."""

from __future__ import annotations

import dataclasses
from typing import Any

from browserfn.browser import vault_fill
from browserfn.browser.actions import ActionOutcome, PageDriver, explain_failure, playwright_errors
from browserfn.browser.llm import Caller, LLMAnswerNotJSON, LLMUnavailable, ModelLayer, require
from browserfn.browser.observe import page_actions
from browserfn.browser.scrape import ScrapeOptions, extract, scrape_page
from browserfn.errors import InvalidInput

MODEL_ACTIONS = ("scrape", "form_fill", "fallback_fill")
_FIELD_TYPES = ("fill", "select_dropdown_option", "check")
FORM_SYSTEM = (
    "You map the kinds of value a user wants to enter in a web form to the form's fields. Answer with JSON "
    'only: {"fields": {"<kind>": "<field id>"}}, leaving out kinds no field takes.'
)
FALLBACK_SYSTEM = (
    "You find, among a web page's fields, the one a description names. Answer with JSON only: "
    '{"id": "<field id>"}, or {"id": null} if none fits.'
)


@dataclasses.dataclass(frozen=True)
class ModelActionOutcome:
    outcome: ActionOutcome
    structured: dict[str, Any] | None = None  #: a scrape's StructuredData


async def execute(
    driver: PageDriver, action: dict[str, Any], layer: ModelLayer | None, caller: Caller
) -> ModelActionOutcome:
    """Do the action; a browser failure is `success: false` with the reason, as for other actions."""
    kind = str(action.get("type"))
    try:
        if kind == "scrape":
            scraped = await _scrape(driver, action, layer, caller)
            if scraped.outcome.success and driver.data is not None:  # it joins the trajectory (workflow/code)
                driver.data.record_action(action)
            return scraped
        if kind == "form_fill":
            found = await driver.execute(action)  # the inputs that say what they take, and the vault
            if found.success or layer is None or "no input on the page" not in found.message:
                return ModelActionOutcome(found)
            return ModelActionOutcome(await _form_fill(driver, action, layer, caller))
        return ModelActionOutcome(await _fallback_fill(driver, action, layer, caller))
    except playwright_errors() as exc:
        return ModelActionOutcome(ActionOutcome(False, explain_failure(kind, exc)))
    except vault_fill.VaultFillError as exc:
        return ModelActionOutcome(ActionOutcome(False, f"{kind} failed: {exc}"))


async def _scrape(
    driver: PageDriver, action: dict[str, Any], layer: ModelLayer | None, caller: Caller
) -> ModelActionOutcome:
    options = ScrapeOptions.from_request(action)
    page = await driver.page()
    markdown = await scrape_page(page, options)
    if not options.structured:
        return ModelActionOutcome(ActionOutcome(True, "Scraped the page", data=markdown))
    chosen = require(layer, "the scrape action with `instructions` or `response_format`")
    options = dataclasses.replace(options, model=chosen.resolve(options.model))
    structured = await extract(chosen, markdown, page.url, options, caller)
    message = "Scraped the page" if structured["success"] else f"scrape failed: {structured['error']}"
    return ModelActionOutcome(ActionOutcome(bool(structured["success"]), message, data=markdown), structured)


async def _fields(driver: PageDriver) -> list[dict[str, Any]]:
    """The page's fields as observe numbers them (their ids then work in later actions)."""
    page = await driver.page()
    actions = await page_actions(page)
    await driver.remember(page, actions)
    return [a for a in actions if a["type"] in _FIELD_TYPES]


def _listing(fields: list[dict[str, Any]]) -> str:
    return "\n".join(f"{f['id']}: {f['description']}" for f in fields)


async def _ask(layer: ModelLayer, system: str, prompt: str, caller: Caller) -> Any:
    try:
        return await layer.json_answer(system, prompt, caller=caller, purpose="form_fill")
    except LLMAnswerNotJSON as exc:
        raise LLMUnavailable(f"form filling: {exc}") from exc


async def _fill_one(driver: PageDriver, field: dict[str, Any], value: str, timeout_ms: float) -> None:
    element = (await driver.page()).locator(field["selector"]).first
    if field["type"] == "select_dropdown_option":
        await element.select_option(label=value, timeout=timeout_ms)
    elif field["type"] == "check":
        await element.set_checked(value.lower() in ("1", "true", "yes", "on"), timeout=timeout_ms)
    else:
        await element.fill(value, timeout=timeout_ms)


async def _form_fill(driver: PageDriver, action: dict[str, Any], layer: ModelLayer, caller: Caller) -> ActionOutcome:
    values = action.get("value")
    if not isinstance(values, dict) or not values or not all(isinstance(v, str) for v in values.values()):
        raise InvalidInput("form_fill needs `value`: an object of kinds of value (email, first_name...) to strings")
    fields = await _fields(driver)
    if not fields:
        return ActionOutcome(False, "form_fill failed: the page has no fields")
    prompt = f"Kinds of value to enter: {', '.join(values)}\n\nThe form's fields:\n{_listing(fields)}"
    answer = await _ask(layer, FORM_SYSTEM, prompt, caller)
    mapping = answer.get("fields") if isinstance(answer, dict) else None
    if not isinstance(mapping, dict):
        raise LLMUnavailable(f'form filling: the model did not answer {{"fields": {{...}}}}: {str(answer)[:200]}')
    by_id = {f["id"]: f for f in fields}
    resolver = vault_fill.Resolver(driver.vault, (await driver.page()).url)
    filled, missing = [], []
    for kind, value in values.items():
        field = by_id.get(str(mapping.get(kind)))
        if field is None:
            missing.append(kind)
            continue
        await _fill_one(driver, field, await resolver.resolve(value, kind), driver.timeout_ms(action))
        filled.append(f"{kind} -> {field['id']}")
    if missing:
        return ActionOutcome(False, f"form_fill failed: no field found for {', '.join(missing)} (filled: {filled})")
    return ActionOutcome(True, f"Filled {', '.join(filled)}")


async def _fallback_fill(
    driver: PageDriver, action: dict[str, Any], layer: ModelLayer | None, caller: Caller
) -> ActionOutcome:
    value = action.get("value")
    if not isinstance(value, str):
        raise InvalidInput("fallback_fill needs `value`: a string")
    page = await driver.page()
    if action.get("id") or action.get("selector"):
        element = await driver.locator(action)
        if await element.count():
            await element.fill(
                await vault_fill.fill_value(driver.vault, page, element, value), timeout=driver.timeout_ms(action)
            )
            return ActionOutcome(True, "Filled")
    description = " ".join(
        str(action[key]) for key in ("text_label", "accessible_name", "id", "selector") if action.get(key)
    )
    if not description:
        raise InvalidInput("fallback_fill needs an `id`, a `selector` or a `text_label` naming the field")
    chosen = require(layer, "fallback_fill of a field not found by id or selector")
    fields = [f for f in await _fields(driver) if f["type"] == "fill"]
    prompt = f"The field wanted: {description}\n\nThe page's fields:\n{_listing(fields)}"
    answer = await _ask(chosen, FALLBACK_SYSTEM, prompt, caller)
    found = next((f for f in fields if isinstance(answer, dict) and f["id"] == answer.get("id")), None)
    if found is None:
        return ActionOutcome(False, f"fallback_fill failed: no field of the page matches {description!r}")
    element = page.locator(found["selector"]).first
    await element.fill(
        await vault_fill.fill_value(driver.vault, page, element, value), timeout=driver.timeout_ms(action)
    )
    return ActionOutcome(True, f"Filled {found['id']} ({found['description']})")
