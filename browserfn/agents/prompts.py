"""Help with an agent's task, written by the server's model (Notte's `/prompts/improve` and
`/prompts/nudge`): a clearer task with the values that change between runs as `{{placeholders}}`,
and the one message that gets a stuck agent moving again."""

from __future__ import annotations

import json
import re
from typing import Any

from browserfn.browser.llm import Caller, LLMAnswerNotJSON, LLMUnavailable, ModelLayer

IMPROVE_SYSTEM = (
    "You rewrite the task given to a web-browsing AI agent so that it succeeds more often. Keep the "
    "user's intent and every fact they gave; make it specific and ordered: which site, what to do step "
    "by step, when the task is done and what to return. Write each value a user would change from one "
    "run to the next (search terms, names, e-mail addresses, dates, amounts) as a placeholder in double "
    'braces, such as {{city}}. Answer with a JSON object whose "prompt" is the rewritten task.'
)
NUDGE_SYSTEM = (
    "A web-browsing AI agent is working on a task and may be stuck: repeating an action, going in "
    "circles, or drifting off the task. Read the task and the agent's latest messages, and write the "
    "one short message to send the agent now that gets it moving: what to try instead, or what it has "
    'missed. Answer with a JSON object whose "prompt" is that message.'
)
PROMPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"prompt": {"type": "string", "minLength": 1}},
    "required": ["prompt"],
}
#: How much of a stuck agent's conversation the model reads: its latest messages, each cut short.
NUDGE_MESSAGES = 20
NUDGE_MESSAGE_CHARS = 2000
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def variables(prompt: str) -> list[str]:
    """The names of the `{{placeholders}}` in `prompt`, in order, each once."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(prompt)))


async def improve(layer: ModelLayer, prompt: str, caller: Caller) -> dict[str, Any]:
    """Notte's ImprovePromptResponse: the rewritten task and its placeholders' names (read from
    the rewritten text, not taken on the model's word)."""
    better = await _prompt(layer, IMPROVE_SYSTEM, f"The task:\n{prompt}", caller, "improve_prompt")
    return {"prompt": better, "variables": variables(better)}


async def nudge(layer: ModelLayer, task: str, messages: list[dict[str, Any]], caller: Caller) -> dict[str, Any]:
    """Notte's NudgePromptResponse: the message to send a stuck agent."""
    latest = messages[-NUDGE_MESSAGES:]
    shown = "\n".join(_message_line(message) for message in latest) or "(none yet)"
    user = f"The task:\n{task}\n\nThe agent's latest messages, oldest first:\n{shown}"
    return {"prompt": await _prompt(layer, NUDGE_SYSTEM, user, caller, "nudge_prompt")}


async def _prompt(layer: ModelLayer, system: str, user: str, caller: Caller, purpose: str) -> str:
    try:
        answer = await layer.json_answer(system, user, PROMPT_SCHEMA, caller=caller, purpose=purpose)
    except LLMAnswerNotJSON as exc:
        raise LLMUnavailable(f"{purpose}: {exc}") from exc
    text = answer.get("prompt") if isinstance(answer, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise LLMUnavailable(f'{purpose}: the model did not answer {{"prompt": "..."}}: {str(answer)[:200]}')
    return text.strip()


def _message_line(message: dict[str, Any]) -> str:
    """One message of an agent's conversation as a line: its role and its text (the text parts of
    a multi-part content; anything else as JSON), cut short."""
    role = str(message.get("role") or "message")
    content = message.get("content")
    if isinstance(content, list):
        parts = [part.get("text") for part in content if isinstance(part, dict)]
        text = " ".join(part for part in parts if isinstance(part, str))
    elif isinstance(content, str):
        text = content
    else:
        text = json.dumps(message, default=str)
    text = " ".join(text.split())
    if len(text) > NUDGE_MESSAGE_CHARS:
        text = text[:NUDGE_MESSAGE_CHARS] + "…"
    return f"[{role}] {text}"
