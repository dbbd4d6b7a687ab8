"""Every error leaves as `{"status": <code>, "message": "..."}` (422s may add `detail`)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from browserfn import storage_errors
from browserfn.errors import BrowserfnError, ServiceUnavailable, TooManyRequests
from browserfn.logsetup import IN_MESSAGE
from browserfn.metrics import is_store_error

log = logging.getLogger(__name__)


def error_response(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": status, "message": message, **extra}, status_code=status, headers=headers)


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def _problem(error: dict[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    if loc == ("body",) and error.get("type") in ("model_attributes_type", "dict_type", "missing"):
        # FastAPI reads a JSON body only when Content-Type says so; anything else arrives as no object.
        return "body: must be a JSON object, sent with 'Content-Type: application/json'"
    if error.get("type") == "string_pattern_mismatch" and "\x00" in str(error.get("input", "")):
        return f"{_where(loc)}: contains the NUL character (\\u0000), which cannot be stored"
    if error.get("type") == "json_invalid":
        return f"body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})"
    return f"{_where(loc)}: {error.get('msg', 'invalid')}"


def _validation_message(errors: list[dict[str, Any]]) -> str:
    return "invalid request: " + "; ".join(_problem(e) for e in errors)


def too_large_message(limit: int | None) -> str:
    return f"request body too large: the limit is {limit} bytes"


class _TooLargeInOurShape:
    """FastAPI's `max_body_size` answers an over-limit body itself, outside every handler, with a
    plain-text 413. This outermost layer rewrites that one answer as our JSON error."""

    def __init__(self, app: ASGIApp, limit: int | None) -> None:
        self.app = app
        self.message = too_large_message(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rewriting = False

        async def send_ours(message: Message) -> None:
            nonlocal rewriting
            if message["type"] == "http.response.start" and message["status"] == 413:
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                rewriting = not content_type.startswith(b"application/json")
            if not rewriting:
                await send(message)
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                await error_response(413, self.message)(scope, receive, send)

        await self.app(scope, receive, send_ours)


class _StorageFailuresLogged:
    """A storage failure (full disk...) has been answered 503 by `on_unexpected` and logged in one
    line; Starlette raises it again after answering, which would log a traceback per request while
    the disk stays full. Stop it here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if scope["type"] != "http" or not storage_errors.is_storage_failure(exc):
                raise


def install(app: FastAPI) -> None:
    build_stack = app.build_middleware_stack

    def build_with_json_413() -> ASGIApp:
        return _StorageFailuresLogged(_TooLargeInOurShape(build_stack(), app.max_body_size))

    app.build_middleware_stack = build_with_json_413  # type: ignore[method-assign]

    @app.exception_handler(BrowserfnError)
    async def on_browserfn_error(_: Request, exc: BrowserfnError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooManyRequests) else None
        if isinstance(exc, ServiceUnavailable):
            headers = {"Retry-After": str(storage_errors.RETRY_AFTER_S)}
        return error_response(exc.status_code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        detail = jsonable_encoder([{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors])
        return error_response(422, _validation_message(errors), detail=detail)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 413:  # the body limit, found while reading a body sent without a length
            return error_response(413, too_large_message(request.app.max_body_size))
        if exc.status_code == 400:  # the framework could not parse the body (e.g. broken multipart)
            return error_response(422, f"invalid request: the body cannot be parsed ({exc.detail})")
        return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if storage_errors.is_storage_failure(exc):  # the machine's problem, not a bug: no traceback
            log.warning("%s %s: storage failure: %r", request.method, request.url.path, exc)
            request.app.state.services.metrics.store_error("api")
            headers = {"Retry-After": str(storage_errors.RETRY_AFTER_S)}
            return error_response(503, storage_errors.unavailable_message(exc), headers)
        context = {"method": request.method, "path": request.url.path, "error": type(exc).__name__}
        said = {IN_MESSAGE: ("method", "path")}
        log.exception("unexpected error on %s %s", request.method, request.url.path, extra={**context, **said})
        if is_store_error(exc):
            request.app.state.services.metrics.store_error("api")
        return error_response(500, "internal server error; the server log has the details")
