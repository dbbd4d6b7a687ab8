"""`browserfn serve`: the API and the embedded executor in one process."""

from __future__ import annotations

import argparse
from typing import Any

from browserfn.cli.common import add_store_options, settings_from
from browserfn.config import DEFAULT_PORT


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("serve", help="start the server")
    # Flags default to None: then BROWSERFN_<SETTING>, then the built-in default applies.
    parser.add_argument("--host", help="default 127.0.0.1")
    parser.add_argument("--port", type=int, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--public-url", help="URL clients reach this server at (the base of the links it gives)")
    parser.add_argument(
        "--internal-url", help="URL its runs and the other servers reach it at (default: from --host and --port)"
    )
    parser.add_argument("--warm-processes", type=int, help="run processes kept ready (default 2)")
    parser.add_argument(
        "--account-concurrency", type=int, help="runs of one account executing at once; more wait in its queue"
    )
    parser.add_argument(
        "--queue-limit", type=int, help="runs of one account waiting in its queue; a start beyond it answers 429"
    )
    parser.add_argument("--browser-pool-size", type=int, help="Chromium processes kept ready (default 2)")
    parser.add_argument(
        "--account-max-sessions", type=int, help="browser sessions one account may have open here (default 8)"
    )
    parser.add_argument(
        "--no-worker", action="store_true", help="with --database-url: serve the API only, run nothing here"
    )
    add_store_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from browserfn.api.app import create_app
    from browserfn.cli.listener import AnnouncingServer
    from browserfn.logsetup import configure_logging

    settings = settings_from(
        args,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        internal_url=args.internal_url,
        warm_processes=args.warm_processes,
        account_concurrency=args.account_concurrency,
        account_queue_limit=args.queue_limit,
        browser_pool_size=args.browser_pool_size,
        account_max_sessions=args.account_max_sessions,
        run_worker=False if args.no_worker else None,
    )
    configure_logging(settings)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # ours (configure_logging), in the operator's format
        log_level="warning",
        access_log=False,  # browserfn.access writes one line per request
    )
    server = AnnouncingServer(config, settings)
    server.run()
    return 0 if server.started else 1
