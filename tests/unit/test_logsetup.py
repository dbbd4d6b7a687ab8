"""The server's log formats: text lines end with their context, JSON lines hold it as keys;
fields the message already says are not repeated; a bad setting stops the start."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from browserfn.config import Settings
from browserfn.logsetup import IN_MESSAGE, JsonFormatter, TextFormatter, configure_logging, startup_context


def record(message: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("browserfn.test", logging.WARNING, __file__, 1, message, None, None)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


def test_text_lines_end_with_their_context_but_not_what_the_message_says() -> None:
    line = TextFormatter().format(record("run ended badly", run_id="r1", state="failed"))
    assert line.endswith(" WARNING browserfn.test: run ended badly run_id=r1 state=failed")
    said = TextFormatter().format(
        record("GET /x 200", method="GET", path="/x", status=200, **{IN_MESSAGE: ("method", "path")})
    )
    assert said.endswith("browserfn.test: GET /x 200 status=200")


def test_json_lines_hold_the_context_and_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failing = record("it broke", run_id="r1", **{IN_MESSAGE: ("run_id",)})
        failing.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(failing))
    assert {k: entry[k] for k in ("level", "logger", "message", "run_id")} == {
        "level": "WARNING",
        "logger": "browserfn.test",
        "message": "it broke",
        "run_id": "r1",
    }
    assert IN_MESSAGE not in entry and "ValueError: boom" in entry["exception"]
    assert entry["time"].endswith("+00:00")


def test_bad_settings_stop_the_start() -> None:
    with pytest.raises(SystemExit, match="log_format must be one of text, json, not 'xml'"):
        configure_logging(Settings(log_format="xml"))
    with pytest.raises(SystemExit, match="log_level must be"):
        configure_logging(Settings(log_level="loud"))


def test_the_listening_line_masks_the_database_password() -> None:
    context = startup_context(Settings(database_url="postgresql://app:s3cret@db:5432/bfn", data_dir=Path("/srv/bfn")))
    assert context["backend"] == "postgres postgresql://app:***@db:5432/bfn"
    assert (context["executor"], context["data_dir"]) == ("procrastinate", "/srv/bfn")
