"""What an agent says to the model and how its answers become actions: the prompt of one step
(the task, the steps so far, the page: URL, title, Markdown and the actions it offers by id) and
the check of the model's answer (JSON with `state` and one Notte `action` the page allows, or a
`completion` whose answer fits the response format). An answer that fails the check is explained
in words, which go back to the model on a retry."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import urlsplit

from browserfn.browser.llm import LLMAnswerNotJSON, parse_json
from browserfn.browser.scrape import schema_mismatch

#: Page Markdown beyond this many characters is cut before it goes to the model.
PAGE_CHARS = 6000
#: Actions of the page listed to the model, at most.
PAGE_ACTIONS = 150

SYSTEM = """You are a web agent driving a real browser to do a user's task. At each step you see the task, \
the steps taken so far, and the current page: its URL, title, text (Markdown) and the actions it offers, each \
with an id. Answer with the next action, as JSON only, no prose:
{"state": {"previous_goal_status": "success" | "failure" | "unknown", "previous_goal_eval": "<did the last \
action do what you wanted?>", "page_summary": "<the page in one sentence>", "relevant_interactions": \
[{"id": "<id>", "reason": "<why>"}], "memory": "<what you have learnt so far>", "next_goal": "<what this \
action is for>"}, "action": <one action>}
The actions:
{"type": "click", "id": "<id>"}
{"type": "fill", "id": "<id>", "value": "<text>", "press_enter": false}
{"type": "check", "id": "<id>", "value": true}
{"type": "select_dropdown_option", "id": "<id>", "value": "<option text>"}
{"type": "press_key", "key": "Enter"}
{"type": "goto", "url": "<http(s) URL>"}
{"type": "go_back"}
{"type": "scroll_down"}
{"type": "scroll_up"}
{"type": "wait", "time_ms": 1000}
{"type": "completion", "success": true, "answer": "<the answer to the task>"} when the task is done, or \
with "success": false and the reason when it cannot be done.
Use only ids of the current page's actions."""

_INTERACTIONS = ("click", "fill", "check", "select_dropdown_option")
_BROWSER = ("press_key", "goto", "go_back", "scroll_down", "scroll_up", "wait")
ACTION_TYPES = (*_INTERACTIONS, *_BROWSER, "completion")
_GOAL_STATUSES = ("success", "failure", "unknown")


@dataclasses.dataclass(frozen=True)
class PageView:
    """What the agent sees of the page at one step."""

    url: str
    title: str
    markdown: str
    actions: list[dict[str, Any]]  #: observe's actions, with their ids


class BadAnswer(Exception):
    """The model's answer is not a valid next action (the message says why, for the retry)."""


@dataclasses.dataclass(frozen=True)
class Decision:
    state: dict[str, Any]
    action: dict[str, Any]

    @property
    def completed(self) -> bool:
        return self.action["type"] == "completion"


def initial_state(next_goal: str = "Start working on the task") -> dict[str, Any]:
    return {
        "previous_goal_status": "unknown",
        "previous_goal_eval": "Nothing performed yet",
        "page_summary": "No page summary yet",
        "relevant_interactions": [],
        "memory": "No memory yet",
        "next_goal": next_goal,
    }


def system_prompt(response_format: dict[str, Any] | None, identity: str = "") -> str:
    """The action format, then what the agent knows of who it acts for, then the answer's schema."""
    prompt = f"{SYSTEM}\n{identity}" if identity else SYSTEM
    if response_format is None:
        return prompt
    return (
        f"{prompt}\nThe completion's answer must be a JSON object matching this JSON schema:\n"
        f"{json.dumps(response_format)}"
    )


def user_prompt(task: str, history: list[str], page: PageView) -> str:
    listing = "\n".join(f"{a['id']}: {a['description']}" for a in page.actions[:PAGE_ACTIONS])
    done = "\n".join(history) if history else "(none yet)"
    markdown = page.markdown[:PAGE_CHARS] + ("\n[... cut]" if len(page.markdown) > PAGE_CHARS else "")
    return (
        f"Task: {task}\n\nSteps so far:\n{done}\n\nCurrent page: {page.url}\nTitle: {page.title}\n\n"
        f"Actions of the page:\n{listing or '(none)'}\n\nThe page (Markdown):\n{markdown}"
    )


def history_line(number: int, action: dict[str, Any], success: bool, message: str, values: bool = True) -> str:
    """One action done, for the prompt: its type and what it acted on (an element by id if it had
    one, else by selector), and how it went; without what it typed unless `values` (the session's
    own actions may have typed a password: the model is not told)."""
    keys: tuple[str, ...] = ("type", "id", "url", "key") if action.get("id") else ("type", "selector", "url", "key")
    if values:
        keys = (*keys, "value")
    shown = {k: action[k] for k in keys if action.get(k) not in (None, "")}
    if isinstance(shown.get("selector"), dict):  # Notte's NodeSelectors, as the clients send them
        found = shown["selector"]
        shown["selector"] = found.get("playwright_selector") or found.get("css_selector") or found.get("xpath_selector")
    return f"{number}. {json.dumps(shown)} -> {'ok' if success else 'FAILED'}: {message}"


def _state(raw: Any) -> dict[str, Any]:
    """The model's state, completed where it left fields out (it is reported, not acted on)."""
    state = initial_state("")
    if isinstance(raw, dict):
        for key in ("previous_goal_eval", "page_summary", "memory", "next_goal"):
            if isinstance(raw.get(key), str):
                state[key] = raw[key]
        if raw.get("previous_goal_status") in _GOAL_STATUSES:
            state["previous_goal_status"] = raw["previous_goal_status"]
        interactions = raw.get("relevant_interactions")
        if isinstance(interactions, list):
            state["relevant_interactions"] = [
                {"id": str(i.get("id")), "reason": str(i.get("reason", ""))}
                for i in interactions
                if isinstance(i, dict)
            ]
    return state


def _need_string(action: dict[str, Any], key: str) -> str:
    value = action.get(key)
    if not isinstance(value, str) or (key != "value" and not value):
        raise BadAnswer(f"action {action['type']!r} needs {key!r}: a string")
    return value


def decide(
    text: str, page: PageView, response_format: dict[str, Any] | None, more_types: tuple[str, ...] = ()
) -> Decision:
    """The model's answer as a Decision; BadAnswer saying what is wrong with it. `more_types`:
    actions allowed beyond the browser's (`email_read` for an agent with a persona), taking no
    parameters."""
    try:
        answer = parse_json(text)
    except LLMAnswerNotJSON as exc:
        raise BadAnswer(f"{exc}; answer with one JSON object") from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("action"), dict):
        raise BadAnswer('the answer must be a JSON object with "state" and "action" (an object with a "type")')
    raw = answer["action"]
    kind = raw.get("type")
    if kind not in ACTION_TYPES + more_types:
        raise BadAnswer(f"unknown action type {kind!r}; use one of: {', '.join(ACTION_TYPES + more_types)}")
    action: dict[str, Any] = {"type": kind}
    if kind in _INTERACTIONS:
        ids = {a["id"]: a for a in page.actions}
        element = raw.get("id")
        if not isinstance(element, str) or element not in ids:
            known = ", ".join(list(ids)[:PAGE_ACTIONS]) or "none"
            raise BadAnswer(f"element id {element!r} is not an action of the current page; its ids: {known}")
        action["id"] = element
        action["selector"] = ids[element]["selector"]
        if kind in ("fill", "select_dropdown_option"):
            action["value"] = _need_string(raw, "value")
        if kind == "fill" and raw.get("press_enter"):
            action["press_enter"] = True
        if kind == "check":
            action["value"] = bool(raw.get("value", True))
    elif kind == "goto":
        url = _need_string(raw, "url")
        if urlsplit(url).scheme not in ("http", "https"):
            raise BadAnswer(f"goto needs an http(s) URL, not {url!r}")
        action["url"] = url
    elif kind == "press_key":
        action["key"] = _need_string(raw, "key")
    elif kind == "wait":
        time_ms = raw.get("time_ms", 1000)
        if not isinstance(time_ms, int) or not 0 <= time_ms <= 30000:
            raise BadAnswer("wait needs 'time_ms': an integer from 0 to 30000")
        action["time_ms"] = time_ms
    elif kind == "completion":
        action.update(_completion(raw, response_format))
    return Decision(_state(answer.get("state")), action)


def _completion(raw: dict[str, Any], response_format: dict[str, Any] | None) -> dict[str, Any]:
    success = raw.get("success")
    if not isinstance(success, bool):
        raise BadAnswer("completion needs 'success': true or false")
    answer = raw.get("answer")
    if success and response_format is not None:
        data = answer
        if isinstance(answer, str):
            try:
                data = json.loads(answer)
            except ValueError as exc:
                raise BadAnswer("the completion's answer must be JSON matching the response format") from exc
        if (problem := schema_mismatch(response_format, data)) is not None:
            raise BadAnswer(problem.replace("the model's answer", "the completion's answer"))
        return {"success": True, "answer": json.dumps(data)}
    if isinstance(answer, dict | list):
        answer = json.dumps(answer)
    if not isinstance(answer, str):
        raise BadAnswer("completion needs 'answer': a string")
    return {"success": success, "answer": answer}
