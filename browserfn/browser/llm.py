"""The language model behind structured scrape and observe with instructions: a client of the
OpenAI chat-completions wire format (`llm_provider = "openai"`), which OpenAI and most self-hosted
servers speak (vLLM, llama.cpp's server, Ollama, LiteLLM...). Answers are asked for as JSON
(`response_format`: a JSON schema when there is one, else a JSON object) and parsed here; checking
them against a schema is the caller's business."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx

from browserfn.config import Settings
from browserfn.errors import BrowserfnError

PROVIDERS = ("openai",)


class NeedsLLM(BrowserfnError):
    """A call that needs a language model on a server configured without one."""

    status_code = 501


class LLMUnavailable(BrowserfnError):
    """The provider could not be reached or did not answer with a completion."""

    status_code = 502


class LLMAnswerNotJSON(Exception):
    """The model answered, but not with JSON (reported to the caller as a failed extraction)."""


@dataclasses.dataclass(frozen=True)
class ChatClient:
    base_url: str  #: e.g. https://api.openai.com/v1 (the client POSTs to <base_url>/chat/completions)
    model: str
    api_key: str | None
    timeout_s: float

    async def json_answer(self, system: str, user: str, schema: dict[str, Any] | None = None) -> Any:
        """The model's answer to one exchange, parsed as JSON. LLMUnavailable when the provider
        fails; LLMAnswerNotJSON when the model's text is not JSON."""
        response_format: dict[str, Any] = (
            {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
            if schema is not None
            else {"type": "json_object"}
        )
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0,
            "response_format": response_format,
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = f"{self.base_url.rstrip('/')}/chat/completions"
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise LLMUnavailable(f"the LLM provider at {url} could not be reached: {exc!r}") from exc
        if response.status_code != 200:
            raise LLMUnavailable(
                f"the LLM provider at {url} answered {response.status_code}: {response.text[:300].strip()}"
            )
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, LookupError, TypeError) as exc:
            raise LLMUnavailable(f"the LLM provider at {url} did not answer with a chat completion") from exc
        if not isinstance(content, str):
            raise LLMUnavailable(f"the LLM provider at {url} answered without text content")
        try:
            return json.loads(content)
        except ValueError as exc:
            raise LLMAnswerNotJSON(f"the model did not answer with JSON: {content[:200]!r}") from exc


def from_settings(settings: Settings) -> ChatClient | None:
    """The configured client, None without a provider; an unknown provider stops the server."""
    if settings.llm_provider is None or settings.llm_provider == "":
        return None
    if settings.llm_provider not in PROVIDERS:
        raise ValueError(f"llm_provider {settings.llm_provider!r} is not supported; supported: {', '.join(PROVIDERS)}")
    return ChatClient(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout_s)


def require(llm: ChatClient | None, what: str) -> ChatClient:
    """`llm`, or the 501 that says `what` needs one."""
    if llm is None:
        raise NeedsLLM(f"{what} needs an LLM, and this server has no LLM provider configured (setting llm_provider)")
    return llm
