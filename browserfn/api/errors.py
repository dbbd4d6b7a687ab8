"""Every error leaves as `{"status": <code>, "message": "..."}` (422s may add `detail`)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from browserfn.errors import BrowserfnError, TooManyRequests

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
    if error.get("type") == "json_invalid":
        return f"body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})"
    return f"{_where(loc)}: {error.get('msg', 'invalid')}"


def _validation_message(errors: list[dict[str, Any]]) -> str:
    return "invalid request: " + "; ".join(_problem(e) for e in errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(BrowserfnError)
    async def on_browserfn_error(_: Request, exc: BrowserfnError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooManyRequests) else None
        return error_response(exc.status_code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        detail = jsonable_encoder([{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors])
        return error_response(422, _validation_message(errors), detail=detail)

    @app.exception_handler(HTTPException)
    async def on_http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal server error; the server log has the details")
