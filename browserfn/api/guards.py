"""Hostile JSON bodies are refused before any handler parses them: too many bytes (413), nested
too deeply (422), not UTF-8 or not JSON (422), an integer too long to read (422), each with a
message saying which. A pure ASGI middleware, so the body is read once and handed on unchanged."""

from __future__ import annotations

import json
import sys
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from browserfn.api.errors import error_response, too_large_message


def nesting_depth(value: Any) -> int:
    """Depth of a parsed JSON value, iteratively (a deep value must not exhaust our stack)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


class JsonGuard:
    def __init__(self, app: ASGIApp, max_bytes: int, max_depth: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._is_json(scope):
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await error_response(413, too_large_message(self.max_bytes))(scope, receive, send)
                return
        problem = self._problem(body)
        if problem is not None:
            await error_response(422, problem)(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_deep(self) -> str:
        return f"invalid request: body: JSON nested more than {self.max_depth} levels deep"

    @staticmethod
    def _is_json(scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"content-type":
                media = value.split(b";", 1)[0].strip().lower()
                return media == b"application/json" or media.endswith(b"+json")
        return False

    def _problem(self, body: bytes) -> str | None:
        if not body:
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"invalid request: body is not valid UTF-8 (bad byte at offset {exc.start})"
        try:
            value = json.loads(text)
        except RecursionError:
            return self._too_deep()
        except json.JSONDecodeError as exc:
            return f"invalid request: body is not valid JSON ({exc.msg} at offset {exc.pos})"
        except ValueError:  # Python refuses to read an integer this long (CVE-2020-10735)
            return f"invalid request: body: a JSON integer has more than {sys.get_int_max_str_digits()} digits"
        if nesting_depth(value) > self.max_depth:
            return self._too_deep()
        return None
