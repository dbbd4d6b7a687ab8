"""A local peer speaking the OpenAI chat-completions wire format on 127.0.0.1, for the model layer's
tests (no model can run on this machine). It checks what a real provider checks (bearer key, JSON
body with model, messages and a JSON response_format), records every request, and answers with the
replies a test queued (text, or a function of the request that writes it), as a real
chat.completion object whose usage counts tokens as OpenAI's tokenizer does (cl100k, the one
LiteLLM ships), so the tests measure what a step costs."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | Callable[[dict[str, Any]], str]

API_KEY = "sk-peer-test-key"


class _Handler(BaseHTTPRequestHandler):
    server: _PeerServer

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up waiting
            self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._answer(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})

    def do_POST(self) -> None:
        if self.path != "/v1/chat/completions":
            return self._error(404, f"Unknown request URL: POST {self.path}", "invalid_request_error")
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._error(401, "Incorrect API key provided", "invalid_request_error")
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        except ValueError:
            return self._error(400, "We could not parse the JSON body of your request", "invalid_request_error")
        problem = _check(body)
        if problem:
            return self._error(400, problem, "invalid_request_error")
        self.server.requests.append(body)
        if self.server.failures:
            status, message = self.server.failures.popleft()
            return self._error(status, message, "server_error")
        reply = self.server.replies.popleft() if self.server.replies else "{}"
        if self.server.delay_s:
            time.sleep(self.server.delay_s)
        content = reply(body) if callable(reply) else reply
        self._answer(200, {
            "id": f"chatcmpl-{len(self.server.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": _usage(body["messages"], content),
        })  # fmt: skip


def _usage(messages: list[dict[str, Any]], content: str) -> dict[str, int]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no download of its price list
    import litellm  # its token counter and the tokenizer it ships

    prompt = litellm.token_counter(model="gpt-4o-mini", messages=messages)
    completion = litellm.token_counter(model="gpt-4o-mini", text=content, count_response_tokens=True)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _check(body: Any) -> str | None:
    """What a real provider would refuse in a JSON-mode request, else None."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: expected a non-empty array"
    for message in messages:
        if message.get("role") not in ("system", "user", "assistant") or not isinstance(message.get("content"), str):
            return "messages: each needs a role and string content"
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema") or {}
        if not isinstance(schema.get("name"), str) or not isinstance(schema.get("schema"), dict):
            return "response_format.json_schema needs a name and a schema"
    elif response_format.get("type") != "json_object":
        return "this peer only answers JSON mode requests"
    return None


class _PeerServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.daemon_threads = True
        self.requests: list[dict[str, Any]] = []
        self.replies: deque[Reply] = deque()
        self.failures: deque[tuple[int, str]] = deque()
        self.delay_s = 0.0


class ChatPeer:
    def __init__(self) -> None:
        self._server = _PeerServer()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._server.requests

    def reply(self, *contents: Reply) -> None:
        """Queue the assistant's next answers: text, or a function of the request body."""
        self._server.replies.extend(contents)

    def clear(self) -> None:
        """Forget queued answers and failures (between tests sharing the peer)."""
        self._server.replies.clear()
        self._server.failures.clear()
        self._server.delay_s = 0.0

    def delay(self, seconds: float) -> None:
        """Answer every request only after `seconds` (a slow model)."""
        self._server.delay_s = seconds

    def fail(self, status: int, message: str) -> None:
        """The next request fails with this HTTP status."""
        self._server.failures.append((status, message))

    def start(self) -> ChatPeer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
