"""An agent's steps as a script of plain actions that replays them with no model: what
`GET /agents/{id}/workflow/code` answers. The elements the agent clicked by observe id are named
by their CSS selectors (ids are only valid for one observation)."""

from __future__ import annotations

from typing import Any

from browserfn.agents.model import Agent


def json_actions(agent: Agent) -> list[dict[str, Any]]:
    """The actions that did what they should, in order, ready for `page/execute`."""
    found: list[dict[str, Any]] = []
    if agent.start_url and not (agent.steps and agent.steps[0]["action"].get("type") == "goto"):
        found.append({"type": "goto", "url": agent.start_url})
    for step in agent.steps:
        action, result = dict(step["action"]), step.get("result") or {}
        if action.get("type") in ("completion", "email_read") or not result.get("success"):
            continue
        if step.get("selector"):
            action.pop("id", None)
            action["selector"] = step["selector"]
        found.append(action)
    return found


def _call(action: dict[str, Any]) -> str:
    arguments = ", ".join(f"{key}={value!r}" for key, value in action.items())
    return f"session.execute({arguments})"


def python_script(agent: Agent, as_workflow: bool) -> str:
    """The replay as Python for the official client: a whole function script (`run()` opening
    its own session and returning the last page as Markdown), or only the execute lines."""
    calls = [_call(action) for action in json_actions(agent)]
    if not as_workflow:
        return "\n".join(calls) + "\n"
    body = "\n".join(f"        {line}" for line in calls) or "        pass"
    task = " ".join(agent.task.split())[:200].replace('"""', "'''")
    vault = f"vault_id={agent.vault_id!r}" if agent.vault_id else ""  # its placeholders fill from the vault
    return (
        f'"""Replays agent {agent.agent_id} with no model. Its task: {task}"""\n\n'
        "from notte_sdk import NotteClient\n\n"
        "client = NotteClient()\n\n\n"
        "def run():\n"
        f"    with client.Session({vault}) as session:\n"
        f"{body}\n"
        "        return session.scrape()\n"
    )
