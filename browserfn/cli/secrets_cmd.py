"""`browserfn secrets [list|set|delete]`: values runs get as environment variables (a function's
own, or the account's with no --function). Values go in, never come out."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from browserfn.cli import output
from browserfn.cli.http import CliError, checked, handler, http_options


def add_parsers(commands: Any) -> None:
    parser = commands.add_parser("secrets", help="manage secrets given to runs")
    actions = parser.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", parents=[http_options()], help="secret names")
    listing.add_argument("--function", dest="function_id", help="a function's secrets (default: the account's)")
    listing.set_defaults(handler=handler(list_secrets))

    put = actions.add_parser("set", parents=[http_options()], help="set a secret (value from stdin with '-')")
    put.add_argument("name")
    put.add_argument("value", help="the value, or '-' to read it from stdin")
    put.add_argument("--function", dest="function_id")
    put.set_defaults(handler=handler(set_secret))

    delete = actions.add_parser("delete", parents=[http_options()], help="delete a secret")
    delete.add_argument("name")
    delete.add_argument("--function", dest="function_id")
    delete.set_defaults(handler=handler(delete_secret))


def _base(args: argparse.Namespace) -> str:
    return f"/functions/{args.function_id}/secrets" if args.function_id else "/secrets"


def list_secrets(args: argparse.Namespace, client: httpx.Client) -> int:
    page = checked(client.get(_base(args)))
    if args.json:
        output.print_json(page)
    else:
        for name in page["items"]:
            print(name)
    return 0


def set_secret(args: argparse.Namespace, client: httpx.Client) -> int:
    value = sys.stdin.read().rstrip("\n") if args.value == "-" else args.value
    if not value:
        raise CliError("empty secret value")
    answer = checked(client.put(f"{_base(args)}/{args.name}", json={"value": value}))
    output.print_json(answer) if args.json else print(f"set {args.name}")
    return 0


def delete_secret(args: argparse.Namespace, client: httpx.Client) -> int:
    answer = checked(client.delete(f"{_base(args)}/{args.name}"))
    output.print_json(answer) if args.json else print(f"deleted {args.name}")
    return 0
