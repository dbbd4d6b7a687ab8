"""A session's executed actions as a Python script using the official SDK (`workflow/code`): each
action becomes one `session.execute(...)` call with the same fields, so running the script
repeats them on a new session. As a workflow it is a whole function file (`run()` opens the
session), deployable as is; otherwise only the steps, for a `session` the reader already has."""

from __future__ import annotations

from typing import Any

#: Fields the SDK fills in itself (descriptions, categories): left out of the script.
_NOISE = frozenset({"category", "description", "param"})


def _call(action: dict[str, Any]) -> str:
    fields = {k: v for k, v in action.items() if k not in _NOISE and v is not None}
    # repr of JSON values (str, numbers, bools, lists, dicts) is valid Python.
    arguments = ", ".join(f"{key}={value!r}" for key, value in fields.items() if key.isidentifier())
    return f"session.execute({arguments})"


def _steps(action: dict[str, Any]) -> list[str]:
    if action.get("type") == "upload_file":
        # The file was uploaded to the recorded session; a new session needs its own copy.
        return [f"session.storage.upload({str(action.get('file_path'))!r})  # a local path to this file", _call(action)]
    return [_call(action)]


def python_script(actions: list[dict[str, Any]], as_workflow: bool) -> str:
    steps = [step for action in actions for step in _steps(action)] or ["pass  # the session executed no action"]
    if not as_workflow:
        return "\n".join(steps) + "\n"
    body = "\n".join(f"        {step}" for step in steps)
    return (
        "from notte_sdk import NotteClient\n"
        "\n"
        "client = NotteClient()\n"
        "\n"
        "\n"
        "def run():\n"
        "    with client.Session() as session:\n"
        f"{body}\n"
    )
