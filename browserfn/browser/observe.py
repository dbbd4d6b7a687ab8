"""`page/observe`: Notte's Observation of the current tab. The actions are found deterministically
in the live DOM (visible links, buttons, fields, checkboxes, dropdowns), each with an id (`L1`,
`B2`, `I3`, as Notte numbers them) that `page/execute` accepts afterwards, and a CSS selector. The
LLM is used only with `instructions` (Notte's deprecated filter): it picks and orders the actions
that serve them, by id, from that list."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from browserfn.browser.llm import Caller, LLMAnswerNotJSON, LLMUnavailable, ModelLayer

#: Runs in the page: the visible, enabled interactive elements in document order.
_FIND_ELEMENTS = """() => {
  const visible = el => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const path = el => { const parts = [];
    for (; el && el.nodeType === 1 && el !== document.documentElement; el = el.parentElement) {
      if (el.id) { parts.unshift('#' + CSS.escape(el.id)); break; }
      let n = 1; for (let s = el.previousElementSibling; s; s = s.previousElementSibling) n += s.tagName === el.tagName;
      parts.unshift(el.tagName.toLowerCase() + ':nth-of-type(' + n + ')'); }
    return parts.join(' > '); };
  const label = el => (el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].innerText)
    || (el.tagName !== 'SELECT' && el.innerText)
    || (el.tagName === 'INPUT' && ['submit', 'button'].includes(el.type) && el.value)
    || el.getAttribute('placeholder') || el.getAttribute('title') || el.getAttribute('alt')
    || el.getAttribute('name') || '').trim().replace(/\\s+/g, ' ').slice(0, 120);
  const kind = el => { const tag = el.tagName.toLowerCase(), type = (el.getAttribute('type') || '').toLowerCase();
    if (tag === 'a') return 'link'; if (tag === 'select') return 'select'; if (tag === 'textarea') return 'field';
    if (tag === 'input') { if (type === 'hidden') return null; if (['checkbox', 'radio'].includes(type)) return 'check';
      return ['submit', 'button', 'reset', 'image'].includes(type) ? 'button' : 'field'; }
    return 'button'; };
  const found = [];
  const query = 'a[href], button, input, select, textarea, [role=button], [role=link], [role=checkbox], [onclick]';
  for (const el of document.querySelectorAll(query)) {
    const k = kind(el);
    if (!k || el.disabled || !visible(el)) continue;
    found.push({kind: k, selector: path(el), label: label(el),
                options: k === 'select' ? [...el.options].map(o => o.text.trim()) : null});
  }
  return found;
}"""
_VIEWPORT = """() => ({scroll_x: Math.round(scrollX), scroll_y: Math.round(scrollY), viewport_width: innerWidth,
  viewport_height: innerHeight, total_width: document.documentElement.scrollWidth,
  total_height: document.documentElement.scrollHeight})"""
#: Notte's id prefix and action type per kind of element.
_KINDS = {"link": ("L", "click"), "button": ("B", "click"), "field": ("I", "fill"), "check": ("I", "check"),
          "select": ("I", "select_dropdown_option")}  # fmt: skip
PICK_SYSTEM = (
    "You choose, among the actions a web page offers, those that serve the user's instructions, most useful "
    'first. Answer with JSON only: {"ids": [<action ids>]}.'
)


def _action(element: dict[str, Any], action_id: str, action_type: str) -> dict[str, Any]:
    label = element["label"] or element["selector"]
    descriptions = {
        "click": f"Click '{label}'" + (" (link)" if element["kind"] == "link" else ""),
        "fill": f"Fill the field '{label}'",
        "check": f"Check or uncheck '{label}'",
        "select_dropdown_option": f"Select an option of '{label}': " + ", ".join(element["options"] or []),
    }
    action: dict[str, Any] = {
        "type": action_type,
        "category": "Interaction Actions",
        "id": action_id,
        "description": descriptions[action_type],
        "selector": element["selector"],
        "text_label": element["label"] or None,
    }
    if action_type == "fill":
        action["value"] = ""
    elif action_type == "check":
        action["value"] = True
    elif action_type == "select_dropdown_option":
        action["value"] = (element["options"] or [""])[0]
    return action


async def page_actions(page: Any) -> list[dict[str, Any]]:
    """Notte interaction actions for the page's interactive elements, numbered per id prefix."""
    counts: dict[str, int] = {}
    actions = []
    for element in await page.evaluate(_FIND_ELEMENTS):
        prefix, action_type = _KINDS[element["kind"]]
        counts[prefix] = counts.get(prefix, 0) + 1
        actions.append(_action(element, f"{prefix}{counts[prefix]}", action_type))
    return actions


async def pick(
    llm: ModelLayer, actions: list[dict[str, Any]], instructions: str, url: str, caller: Caller
) -> list[dict[str, Any]]:
    """The actions the LLM picks for `instructions`, in its order (ids it invents are dropped)."""
    listing = "\n".join(f"{a['id']}: {a['description']}" for a in actions)
    prompt = f"Page URL: {url}\n\nInstructions: {instructions}\n\nActions:\n{listing}"
    try:
        answer = await llm.json_answer(PICK_SYSTEM, prompt, caller=caller, purpose="observe")
    except LLMAnswerNotJSON as exc:
        raise LLMUnavailable(f"observe: {exc}") from exc
    ids = answer.get("ids") if isinstance(answer, dict) else None
    if not isinstance(ids, list):
        raise LLMUnavailable(f'observe: the model did not answer {{"ids": [...]}}: {str(answer)[:200]}')
    by_id = {a["id"]: a for a in actions}
    return [by_id[i] for i in dict.fromkeys(str(i) for i in ids) if i in by_id]


async def observation(
    page: Any, tabs: list[Any], actions: list[dict[str, Any]], started: dt.datetime
) -> dict[str, Any]:
    """Notte's Observation (ObserveResponse) of `page` offering `actions`."""
    title = await page.title()
    shot = await page.screenshot(type="jpeg", quality=70, timeout=10000)
    tab_data = [{"tab_id": index, "title": await tab.title(), "url": tab.url} for index, tab in enumerate(tabs)]
    return {
        "started_at": started.isoformat(),
        "ended_at": dt.datetime.now(dt.UTC).isoformat(),
        "metadata": {
            "title": title,
            "url": page.url,
            "viewport": await page.evaluate(_VIEWPORT),
            "tabs": tab_data,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        },
        "screenshot": {"raw": base64.b64encode(shot).decode(), "bboxes": []},
        "space": {
            "description": f"{title}: {len(actions)} actions ({page.url})",
            "interaction_actions": actions,
            "category": None,
        },
    }
