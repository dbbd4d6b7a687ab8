"""What every HTTP command shares: the server URL and key (flags, else the official SDK's
NOTTE_API_URL / NOTTE_API_KEY), one client, and errors turned into a message and an exit code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

import httpx

DEFAULT_SERVER_URL = "http://127.0.0.1:8000"
REQUEST_TIMEOUT_S = 60.0
#: Exit codes: 1 the run failed, 2 usage (argparse), 3 the server refused or could not be reached.
EXIT_RUN_FAILED = 1
EXIT_API_ERROR = 3


class CliError(Exception):
    """Printed as `error: <message>` with exit code 3."""


def http_options() -> argparse.ArgumentParser:
    """A parent parser with the options of every command that talks to a server."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--server-url", default=None, help=f"default: $NOTTE_API_URL, else {DEFAULT_SERVER_URL}")
    parent.add_argument("--api-key", default=None, help="default: $NOTTE_API_KEY")
    parent.add_argument("--json", action="store_true", help="print JSON for scripts instead of tables")
    return parent


def client_from(args: argparse.Namespace) -> httpx.Client:
    url = args.server_url or os.environ.get("NOTTE_API_URL") or DEFAULT_SERVER_URL
    key = args.api_key or os.environ.get("NOTTE_API_KEY")
    if not key:
        raise CliError("no API key: pass --api-key or set NOTTE_API_KEY")
    headers = {"Authorization": f"Bearer {key}", "x-notte-request-origin": "browserfn-cli"}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=REQUEST_TIMEOUT_S)


def checked(response: httpx.Response) -> Any:
    """The JSON body of a 2xx answer; otherwise CliError with the server's message."""
    if response.is_success:
        return response.json() if response.content else {}
    try:
        message = response.json().get("message") or response.text
    except ValueError:
        message = response.text
    raise CliError(f"{response.request.method} {response.request.url.path}: {response.status_code} {message}")


def handler(command: Callable[[argparse.Namespace, httpx.Client], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a command: open the client, print CliError and connection failures as one line."""

    def handle(args: argparse.Namespace) -> int:
        try:
            with client_from(args) as client:
                return command(args, client)
        except CliError as exc:
            print(f"error: {exc}", file=sys.stderr)
        except httpx.TransportError as exc:
            print(f"error: cannot reach the server: {exc}", file=sys.stderr)
        return EXIT_API_ERROR

    return handle
