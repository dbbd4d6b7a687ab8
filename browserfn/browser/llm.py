"""The one door to language models: every call browserfn makes to a model (structured scrape,
observe with instructions, agents, form filling) goes through `ModelLayer`, which picks the model,
calls it through LiteLLM (so any provider LiteLLM knows works, named the LiteLLM way:
`openai/gpt-4o-mini`, `gemini/gemini-2.0-flash`, `anthropic/claude-...`, `ollama/llama3`, or a
local OpenAI-compatible server as `openai/<name>` with a base URL) and records what each call cost
(model, tokens in and out, duration) for the account, run, session and agent that made it.

Models: the operator's default (`llm_model`) and those `llm_allowed_models` allows (exact names or
shell-style patterns such as `openai/*`); a request naming another gets a 422 naming the field. A
request naming a model that Notte's clients send when their user chose none
(`llm_client_default_models`) runs on the default. No model configured: the features that need one
answer 501."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import fnmatch
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from browserfn.config import Settings
from browserfn.errors import BrowserfnError, InvalidInput

log = logging.getLogger(__name__)


class NeedsLLM(BrowserfnError):
    """A call that needs a language model on a server configured without one."""

    status_code = 501


class LLMUnavailable(BrowserfnError):
    """The provider could not be reached or did not answer with a completion."""

    status_code = 502


class LLMAnswerNotJSON(Exception):
    """The model answered, but not with JSON (reported to the caller as a failed extraction)."""


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who a model call is made for: its cost is recorded against them."""

    account_id: str
    run_id: str | None = None
    session_id: str | None = None
    agent_id: str | None = None


@dataclasses.dataclass(frozen=True)
class ModelCall:
    """One call to a model, as recorded for usage."""

    account_id: str
    run_id: str | None
    session_id: str | None
    agent_id: str | None
    purpose: str  #: scrape | observe | agent | form_fill
    model: str
    tokens_in: int
    tokens_out: int
    duration_ms: int
    ok: bool
    error: str | None
    at: dt.datetime

    def usage(self) -> dict[str, Any]:
        """What an answer shows of it."""
        return {
            "model": self.model,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "duration_ms": self.duration_ms,
        }


Recorder = Callable[[ModelCall], Awaitable[None]]

_LITELLM: Any = None


def _litellm() -> Any:
    """LiteLLM, imported on first use (it takes seconds), set to stay off the network except
    for the provider: the model price list it would download is the one it ships."""
    global _LITELLM
    if _LITELLM is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):  # a line per call at INFO
            logging.getLogger(name).setLevel(logging.WARNING)
        _LITELLM = litellm
    return _LITELLM


#: How a JSON schema may be asked of a model (Settings.llm_schema_format).
SCHEMA_FORMATS = ("json_schema", "json_object")


def _provider(model: str) -> str:
    return model.split("/", 1)[0] if "/" in model else ""


class ModelLayer:
    def __init__(
        self,
        default_model: str,
        allowed: Sequence[str] = (),
        client_defaults: Sequence[str] = (),
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        schema_format: str = "json_schema",
    ) -> None:
        if schema_format not in SCHEMA_FORMATS:
            raise ValueError(f"llm_schema_format must be one of {SCHEMA_FORMATS}, not {schema_format!r}")
        self.default_model = default_model
        self._schema_format = schema_format
        self.allowed = tuple(allowed)
        self.client_defaults = tuple(client_defaults)
        self._base_url = base_url
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._recorders: list[Recorder] = []
        self._library: asyncio.Future[Any] | None = None
        #: The last calls made (newest last), for the tests and the operator's eyes; the store has them all.
        self.recent: list[ModelCall] = []

    def on_call(self, recorder: Recorder) -> None:
        """Have `recorder` keep every call made from now on."""
        self._recorders.append(recorder)

    def warm_up(self) -> None:
        """Start importing LiteLLM off the event loop (it takes seconds), so neither the server's
        start nor its first request waits for it more than needed."""
        if self._library is None:
            self._library = asyncio.ensure_future(asyncio.to_thread(_litellm))

    async def _litellm(self) -> Any:
        self.warm_up()
        assert self._library is not None
        return await asyncio.shield(self._library)

    def is_allowed(self, model: str) -> bool:
        return model == self.default_model or any(fnmatch.fnmatchcase(model, pattern) for pattern in self.allowed)

    def resolve(self, requested: str | None, field: str = "model") -> str:
        """The model a request runs on: the one it names if allowed, the default if it names
        none (or only its client's default); InvalidInput (422) naming `field` otherwise."""
        if requested is None or requested == "":
            return self.default_model
        if not isinstance(requested, str):
            raise InvalidInput(f"{field} must be a string (a model name such as 'openai/gpt-4o-mini')")
        if self.is_allowed(requested):
            return requested
        if requested in self.client_defaults:
            return self.default_model
        allowed = ", ".join((self.default_model, *self.allowed))
        raise InvalidInput(f"{field} {requested!r} is not allowed on this server; allowed: {allowed}")

    def _credentials(self, model: str) -> dict[str, Any]:
        """The operator's base URL and key go with the default model's provider; other providers
        use LiteLLM's own variables (OPENAI_API_KEY, GEMINI_API_KEY, OLLAMA_API_BASE...)."""
        if _provider(model) != _provider(self.default_model):
            return {}
        found: dict[str, Any] = {}
        if self._base_url:
            found["api_base"] = self._base_url
        if self._api_key:
            found["api_key"] = self._api_key
        return found

    def _where(self, model: str) -> str:
        return f"the model {model}" + (f" at {self._base_url}" if "api_base" in self._credentials(model) else "")

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        caller: Caller,
        purpose: str,
        model: str | None = None,
        schema: dict[str, Any] | None = None,
        calls: list[ModelCall] | None = None,
    ) -> str:
        """The model's text answer to `messages` (asked as JSON: against `schema` if given, else
        any JSON object). LLMUnavailable when the provider fails. Every call is recorded (and
        appended to `calls` if given)."""
        chosen = model or self.default_model
        response_format: dict[str, Any] = {"type": "json_object"}
        if schema is not None and self._schema_format == "json_object":
            response_format["schema"] = schema
        elif schema is not None:
            response_format = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        litellm = await self._litellm()
        started, at = time.monotonic(), dt.datetime.now(dt.UTC)
        tokens_in = tokens_out = 0
        error: str | None = None
        try:
            response = await litellm.acompletion(
                model=chosen,
                messages=messages,
                temperature=0,
                response_format=response_format,
                timeout=self._timeout_s,
                num_retries=0,
                **self._credentials(chosen),
            )
            usage = getattr(response, "usage", None)
            tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
            tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
            content = response.choices[0].message.content
            if not isinstance(content, str):
                error = f"{self._where(chosen)} answered without text content"
                raise LLMUnavailable(error)
            return content
        except LLMUnavailable:
            raise
        except asyncio.CancelledError:
            error = "cancelled"
            raise
        except Exception as exc:
            error = _explain(exc)
            raise LLMUnavailable(f"{self._where(chosen)} failed: {error}") from exc
        finally:
            call = ModelCall(
                caller.account_id, caller.run_id, caller.session_id, caller.agent_id, purpose, chosen,
                tokens_in, tokens_out, round((time.monotonic() - started) * 1000), error is None, error, at,
            )  # fmt: skip
            if calls is not None:
                calls.append(call)
            await self._record(call)

    async def _record(self, call: ModelCall) -> None:
        self.recent = [*self.recent[-199:], call]
        for recorder in self._recorders:
            try:
                await recorder(call)
            except Exception:
                log.exception("could not record a model call")

    async def json_answer(
        self,
        system: str,
        user: str,
        schema: dict[str, Any] | None = None,
        *,
        caller: Caller,
        purpose: str,
        model: str | None = None,
    ) -> Any:
        """The model's answer to one exchange, parsed as JSON. LLMUnavailable when the provider
        fails; LLMAnswerNotJSON when the model's text is not JSON."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        content = await self.complete(messages, caller=caller, purpose=purpose, model=model, schema=schema)
        return parse_json(content)


def parse_json(content: str) -> Any:
    """A model's JSON answer; models often wrap it in a Markdown code fence, which is dropped."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    try:
        return json.loads(text)
    except ValueError as exc:
        raise LLMAnswerNotJSON(f"the model did not answer with JSON: {content[:200]!r}") from exc


def _explain(exc: Exception) -> str:
    """A provider error in one line, without LiteLLM's decoration."""
    text = " ".join(str(exc).split())
    for prefix in ("litellm.", "OpenAIException - ", "APIConnectionError: ", "InternalServerError: "):
        text = text.replace(prefix, "")
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__} ({status}): {text[:400]}" if status else f"{type(exc).__name__}: {text[:400]}"


def default_model_name(settings: Settings) -> str | None:
    """The configured default model in LiteLLM's naming, None without one. `llm_provider`
    (the earlier setting) still works: `openai` + `llm_model = gpt-4o-mini` is `openai/gpt-4o-mini`."""
    model = settings.llm_model
    if settings.llm_provider:
        model = model or "gpt-4o-mini"
        return model if "/" in model else f"{settings.llm_provider}/{model}"
    return model or None


def from_settings(settings: Settings) -> ModelLayer | None:
    """The configured model layer, None without a model."""
    model = default_model_name(settings)
    if model is None:
        return None
    return ModelLayer(
        model,
        settings.llm_allowed_models,
        settings.llm_client_default_models,
        settings.llm_base_url,
        settings.llm_api_key,
        settings.llm_timeout_s,
        settings.llm_schema_format,
    )


def require(layer: ModelLayer | None, what: str) -> ModelLayer:
    """`layer`, or the 501 that says `what` needs a model."""
    if layer is None:
        raise NeedsLLM(
            f"{what} needs a language model, and this server has none configured"
            " (setting llm_model: BROWSERFN_LLM_MODEL)"
        )
    return layer
