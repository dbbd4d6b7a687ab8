"""`browserfn worker --database-url ...`: execute runs on this machine (scale-out mode).

SIGTERM or Ctrl-C: stop taking runs, let running ones finish for `--grace` seconds, then stop them."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from typing import Any

from browserfn.cli.common import add_store_options, settings_from


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("worker", help="execute runs (needs --database-url)")
    # Flags default to None: then BROWSERFN_<SETTING>, then the built-in default applies.
    parser.add_argument("--concurrency", type=int, help="runs executed at once by this worker (default 8)")
    parser.add_argument("--grace", type=float, help="seconds running runs get on SIGTERM (default 30)")
    parser.add_argument("--warm-processes", type=int, help="run processes kept ready (default 2)")
    parser.add_argument("--public-url", help="URL of an API server that runs call back (BROWSERFN_PUBLIC_URL)")
    add_store_options(parser)
    parser.set_defaults(handler=run)


async def _work(args: argparse.Namespace) -> None:
    from browserfn.api.app import build_services

    settings = settings_from(
        args,
        worker_concurrency=args.concurrency,
        worker_grace_s=args.grace,
        warm_processes=args.warm_processes,
        public_url=args.public_url,
    )
    services = build_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await services.store.open()
    await services.bus.start()
    await services.executor.start()
    logging.getLogger("browserfn.worker").info("worker started")
    try:
        await stop.wait()
    finally:
        await services.executor.close()
        await services.bus.close()
        await services.store.close()


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.database_url:
        raise SystemExit("browserfn worker needs --database-url (or $BROWSERFN_DATABASE_URL)")
    if not (args.public_url or os.environ.get("BROWSERFN_PUBLIC_URL")):
        raise SystemExit("browserfn worker needs --public-url (or $BROWSERFN_PUBLIC_URL): the API URL runs call")
    asyncio.run(_work(args))
    return 0
