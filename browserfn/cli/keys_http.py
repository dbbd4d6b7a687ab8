"""`browserfn keys list|new|revoke`: the caller's API keys, over the server's /keys endpoints."""

from __future__ import annotations

import argparse
from typing import Any

import httpx

from browserfn.cli import output
from browserfn.cli.http import checked, handler, http_options


def add_actions(actions: Any) -> None:
    listing = actions.add_parser("list", parents=[http_options()], help="your account's keys")
    listing.set_defaults(handler=handler(list_keys))
    new = actions.add_parser("new", parents=[http_options()], help="create a key with the server's API")
    new.add_argument("name", help="a label for the key")
    new.set_defaults(handler=handler(new_key))
    revoke = actions.add_parser("revoke", parents=[http_options()], help="revoke a key")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=handler(revoke_key))


def list_keys(args: argparse.Namespace, client: httpx.Client) -> int:
    page = checked(client.get("/keys"))
    if args.json:
        output.print_json(page)
        return 0
    rows = [
        [k["key_id"], k["name"], k["prefix"] + "…", output.when(k["created_at"]), output.when(k.get("revoked_at"))]
        for k in page["items"]
    ]
    output.table(["KEY", "NAME", "PREFIX", "CREATED", "REVOKED"], rows)
    return 0


def new_key(args: argparse.Namespace, client: httpx.Client) -> int:
    key = checked(client.post("/keys", json={"name": args.name}))
    if args.json:
        output.print_json(key)
    else:
        print(f"key {key['key_id']} ({key['name']}): shown once, store it now")
        print(key["key"])
    return 0


def revoke_key(args: argparse.Namespace, client: httpx.Client) -> int:
    answer = checked(client.delete(f"/keys/{args.key_id}"))
    output.print_json(answer) if args.json else print(f"revoked {args.key_id}")
    return 0
