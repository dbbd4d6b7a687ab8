"""`browserfn schedules [list|set|delete|ticks]`: run functions on a cron."""

from __future__ import annotations

import argparse
from typing import Any

import httpx

from browserfn.cli import output
from browserfn.cli.http import checked, handler, http_options
from browserfn.cli.runs_cmd import parse_variables


def add_parsers(commands: Any) -> None:
    parser = commands.add_parser("schedules", help="run functions on a cron")
    actions = parser.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", parents=[http_options()], help="every schedule of your account")
    listing.set_defaults(handler=handler(list_schedules))

    put = actions.add_parser("set", parents=[http_options()], help="set (or replace) a function's schedule")
    put.add_argument("function_id")
    put.add_argument("cron", help="5 fields, or 6 with seconds last; quote it")
    put.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    put.add_argument("--timezone", default="UTC", help="IANA name the cron is read in (default UTC)")
    put.add_argument("--allow-overlap", action="store_true", help="fire even while the previous run is active")
    put.set_defaults(handler=handler(set_schedule))

    delete = actions.add_parser("delete", parents=[http_options()], help="remove a function's schedule")
    delete.add_argument("function_id")
    delete.set_defaults(handler=handler(delete_schedule))

    ticks = actions.add_parser("ticks", parents=[http_options()], help="what each tick of a schedule did")
    ticks.add_argument("function_id")
    ticks.add_argument("--limit", type=int, default=20)
    ticks.set_defaults(handler=handler(list_ticks))


def _rows(items: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            s["function_id"],
            s["cron"],
            s["timezone"],
            output.when(s["next_tick_at"]),
            "yes" if s["allow_overlap"] else "no",
            ", ".join(f"{k}={v}" for k, v in s["variables"].items()) or "-",
        ]
        for s in items
    ]


HEADERS = ["FUNCTION", "CRON", "TIMEZONE", "NEXT", "OVERLAP", "VARIABLES"]


def list_schedules(args: argparse.Namespace, client: httpx.Client) -> int:
    page = checked(client.get("/schedules"))
    if args.json:
        output.print_json(page)
    else:
        output.table(HEADERS, _rows(page["items"]))
    return 0


def set_schedule(args: argparse.Namespace, client: httpx.Client) -> int:
    body = {
        "cron": args.cron,
        "variables": parse_variables(args.var),
        "timezone": args.timezone,
        "allow_overlap": args.allow_overlap,
    }
    answer = checked(client.post(f"/functions/{args.function_id}/schedule", json=body))
    if args.json:
        output.print_json(answer)
    else:
        output.table(HEADERS, _rows([answer["schedule"]]))
    return 0


def delete_schedule(args: argparse.Namespace, client: httpx.Client) -> int:
    answer = checked(client.delete(f"/functions/{args.function_id}/schedule"))
    output.print_json(answer) if args.json else print(answer["message"])
    return 0


def list_ticks(args: argparse.Namespace, client: httpx.Client) -> int:
    page = checked(client.get(f"/functions/{args.function_id}/schedule/ticks", params={"limit": args.limit}))
    if args.json:
        output.print_json(page)
        return 0
    rows = [
        [output.when(t["tick"]), t["outcome"], t["function_run_id"] or "-", t["reason"] or ""] for t in page["items"]
    ]
    output.table(["TICK", "OUTCOME", "RUN", "REASON"], rows)
    return 0
