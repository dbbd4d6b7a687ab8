"""`browserfn keys create`: make an account's API key in the store directly (the key is printed once,
as the last line); `keys list|new|revoke` manage the caller's keys over HTTP (keys_http.py)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from browserfn import tokens
from browserfn.cli import keys_http
from browserfn.cli.common import add_store_options, settings_from
from browserfn.store import open_store


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("keys", help="manage API keys")
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create an API key")
    create.add_argument("--account", default="default", help="account name (created if missing)")
    create.add_argument("--name", default="default", help="a label for the key")
    add_store_options(create)
    create.set_defaults(handler=create_key)
    keys_http.add_actions(actions)


async def _create_key(args: argparse.Namespace) -> str:
    store = open_store(settings_from(args))
    await store.open()
    try:
        account = await store.ensure_account(args.account)
        secret = tokens.new_api_key()
        await store.create_api_key(
            account.account_id, args.name, tokens.hash_secret(secret), tokens.shown_prefix(secret)
        )
        return secret
    finally:
        await store.close()


def create_key(args: argparse.Namespace) -> int:
    secret = asyncio.run(_create_key(args))
    print(f"account: {args.account}  key name: {args.name}  (shown once; store it now)")
    print(secret)
    return 0
