"""Messages from a run's process to the server: one JSON object per line. Stdlib only: the
child imports this, and nothing else of browserfn."""

from __future__ import annotations

import json
import time
from typing import Any

#: Longest log message kept whole; longer ones are cut, saying so.
MAX_LOG_MESSAGE_CHARS = 64 * 1024


def log_line(level: str, source: str, message: str, when: float | None = None) -> str:
    """Notte's log line: `time | LEVEL | source | message` (the SDK shows what follows the third `|`)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() if when is None else when))
    if len(message) > MAX_LOG_MESSAGE_CHARS:
        message = message[:MAX_LOG_MESSAGE_CHARS] + f" ... [cut: {len(message)} characters in all]"
    return f"{stamp} | {level: <8} | {source} | {message}"


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def log(level: str, source: str, message: str) -> dict[str, Any]:
    return {"type": "log", "line": log_line(level, source, message)}


def result_ok(value_json: str) -> dict[str, Any]:
    return {"type": "result", "ok": True, "value_json": value_json}


def result_error(error: str) -> dict[str, Any]:
    return {"type": "result", "ok": False, "error": error}


def ready(workdir: str, cgroup: str | None = None, workdir_private: bool = False) -> dict[str, Any]:
    """Sent by a run's process once confined, before it reads its job: the run's working
    directory and its memory cgroup, which the server removes after the process exits (the
    directory only if it is not in the run's own tmpfs, `workdir_private`, gone with it)."""
    return {"type": "ready", "workdir": workdir, "cgroup": cgroup, "workdir_private": workdir_private}


def exited(code: int | None, signal: int | None) -> dict[str, Any]:
    """The last message of a run's process, made by the server once it and all its descendants
    are gone (the fork server reports the exit status)."""
    return {"type": "exit", "code": code, "signal": signal}


def from_run(line: bytes) -> dict[str, Any]:
    """A line a run's process wrote on its events pipe, as a message the server can trust the shape
    of: a `log` with a string line, or a `result` (`ok` true with a string `value_json`, or false
    with a string `error`). The run's code can write anything there; anything else (not JSON, not
    an object, another type, fields of the wrong type) becomes a log line of its text instead."""
    try:
        message = json.loads(line)
    except ValueError:
        message = None
    if isinstance(message, dict):
        kind = message.get("type")
        if kind == "log" and isinstance(message.get("line"), str):
            return {"type": "log", "line": message["line"]}
        if kind == "result" and message.get("ok") is True and isinstance(message.get("value_json"), str):
            return result_ok(message["value_json"])
        if kind == "result" and message.get("ok") is False and isinstance(message.get("error"), str):
            return result_error(message["error"])
    text = line.decode("utf-8", "replace").rstrip("\n")
    return log("WARNING", "events", f"not a valid message, kept as text: {text}")
