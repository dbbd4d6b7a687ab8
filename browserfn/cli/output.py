"""Terminal output: tables, colours (only on a terminal, never with NO_COLOR), a spinner on
stderr while waiting, JSON for scripts, and the shapes of times and durations."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

COLOURS = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36, "grey": 90, "bold": 1}
STATUS_COLOURS = {"closed": "green", "failed": "red", "active": "yellow"}
LEVEL_COLOURS = {"ERROR": "red", "CRITICAL": "red", "WARNING": "yellow", "SUCCESS": "green", "DEBUG": "grey"}
SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPINNER_INTERVAL_S = 0.08


def colour_on(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


def paint(text: str, colour: str | None, stream: TextIO = sys.stdout) -> str:
    if colour is None or not colour_on(stream):
        return text
    return f"\033[{COLOURS[colour]}m{text}\033[0m"


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], colour_column: int | None = None) -> None:
    """Columns padded to their widest cell; `colour_column` holds statuses to colour."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    print(paint("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), "bold"))
    for row in rows:
        cells = []
        for i, (cell, width) in enumerate(zip(row, widths, strict=True)):
            padded = cell.ljust(width)
            cells.append(paint(padded, STATUS_COLOURS.get(cell)) if i == colour_column else padded)
        print("  ".join(cells).rstrip())


def when(value: str | None) -> str:
    """An ISO time as local `YYYY-MM-DD HH:MM:SS`."""
    if not value:
        return "-"
    return dt.datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def duration(start: str | None, end: str | None) -> str:
    if not start:
        return "-"
    stop = dt.datetime.fromisoformat(end) if end else dt.datetime.now(dt.UTC)
    seconds = (stop - dt.datetime.fromisoformat(start)).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def log_line(line: str, stream: TextIO = sys.stdout) -> str:
    """A run's log line (`time | LEVEL | source | message`) with its level coloured."""
    parts = line.split(" | ", 3)
    if len(parts) != 4:
        return line
    moment, level, source, message = parts
    colour = LEVEL_COLOURS.get(level.strip())
    return f"{paint(moment, 'grey', stream)} | {paint(level, colour, stream)} | {source} | {message}"


@contextlib.contextmanager
def spinner(message: str) -> Iterator[None]:
    """A spinner on stderr while the block runs (nothing when stderr is not a terminal)."""
    if not sys.stderr.isatty():
        yield
        return
    done = threading.Event()

    def spin() -> None:
        for frame in itertools.cycle(SPINNER_FRAMES):
            sys.stderr.write(f"\r{paint(frame, 'cyan', sys.stderr)} {message}")
            sys.stderr.flush()
            if done.wait(SPINNER_INTERVAL_S):
                break
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
