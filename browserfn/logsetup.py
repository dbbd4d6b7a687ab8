"""The server's own log: one configuration for `serve` and `worker`, text (the default) or one
JSON object per line (`log_format = "json"`, for log collectors), at `log_level`. Records carry
their context as `extra` fields (`log.warning("...", extra={"run_id": ...})`): text lines end
with them as `key=value` (but those named in `IN_MESSAGE`, which the message already says),
JSON lines hold them as keys."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from browserfn.config import Settings

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
#: Libraries whose info lines say nothing an operator needs.
_QUIET = ("httpx", "httpcore", "procrastinate", "alembic", "uvicorn.error", "uvicorn.access", "asyncio", "aiosqlite")


#: The `extra` key listing context fields a record's message already holds (not repeated in text).
IN_MESSAGE = "in_message"


def context_of(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and k != IN_MESSAGE}


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        said = getattr(record, IN_MESSAGE, ())
        context = {k: v for k, v in context_of(record).items() if k not in said}
        if not context:
            return line
        head, newline, rest = line.partition("\n")  # a traceback stays below the line
        pairs = " ".join(f"{k}={v}" for k, v in context.items())
        return f"{head} {pairs}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **context_of(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Route every logger to stderr in the configured format (the process's only log setup)."""
    if settings.log_format not in LOG_FORMATS:
        raise SystemExit(f"log_format must be one of {', '.join(LOG_FORMATS)}, not {settings.log_format!r}")
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise SystemExit(f"log_level must be debug, info, warning or error, not {settings.log_level!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def startup_context(settings: Settings) -> dict[str, Any]:
    """What the listening line tells an operator: where, on what, with which pool sizes."""
    return {
        "address": f"http://{settings.host}:{settings.port}",
        "public_url": settings.base_url,
        "data_dir": str(settings.data_dir.resolve()),
        "backend": "postgres " + without_password(settings.database_url) if settings.database_url else "sqlite",
        "executor": ("procrastinate" if settings.database_url else "local") if settings.run_worker else "none",
        "warm_processes": settings.warm_processes,
        "browser_pool_size": settings.browser_pool_size,
        "max_sessions": settings.max_sessions,
        "account_concurrency": settings.account_concurrency,
    }
