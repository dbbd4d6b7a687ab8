"""`browserfn worker --database-url ...`: execute runs on this machine (scale-out mode).

The worker also serves the API on a port of its own (`--port`, default 8001): its runs call it
(NOTTE_API_URL), so the browser sessions they open live on this machine, and API servers relay
the calls for those sessions here.

SIGTERM or Ctrl-C: stop taking runs, let running ones finish for `--grace` seconds, then stop them;
then close the sessions this worker hosts, and stop listening."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import signal
from typing import Any

import uvloop

from browserfn import heap
from browserfn.cli.common import add_store_options, settings_from
from browserfn.config import DEFAULT_WORKER_PORT, Settings
from browserfn.logsetup import configure_logging, startup_context

log = logging.getLogger("browserfn.worker")


def add_parser(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("worker", help="execute runs (needs --database-url)")
    # Flags default to None: then BROWSERFN_<SETTING>, then the built-in default applies.
    parser.add_argument("--concurrency", type=int, help="runs executed at once by this worker (default 8)")
    parser.add_argument("--grace", type=float, help="seconds running runs get on SIGTERM (default 30)")
    parser.add_argument("--warm-processes", type=int, help="run processes kept ready (default 2)")
    parser.add_argument("--host", help="address its API listens on (default 127.0.0.1; 0.0.0.0 for other machines)")
    parser.add_argument(
        "--port", type=int, help=f"port its API listens on (default {DEFAULT_WORKER_PORT}; BROWSERFN_WORKER_PORT)"
    )
    parser.add_argument(
        "--internal-url", help="URL its runs and the API servers reach it at (default: from --host and --port)"
    )
    parser.add_argument("--public-url", help="URL clients reach the API at: the base of the links it gives")
    add_store_options(parser)
    parser.set_defaults(handler=run)


def worker_settings(args: argparse.Namespace) -> Settings:
    """The settings of a worker: it always executes runs, and listens on `worker_port`."""
    settings = settings_from(
        args,
        worker_concurrency=args.concurrency,
        worker_grace_s=args.grace,
        warm_processes=args.warm_processes,
        host=args.host,
        worker_port=args.port,
        internal_url=args.internal_url,
        public_url=args.public_url,
    )
    return dataclasses.replace(settings, port=settings.worker_port, run_worker=True)


async def _work(settings: Settings) -> None:
    import uvicorn

    from browserfn.api.app import build_app, build_services
    from browserfn.cli.listener import Listener

    services = build_services(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    config = uvicorn.Config(
        build_app(services),
        host=settings.host,
        port=settings.port,
        lifespan="off",
        log_config=None,  # ours (configure_logging)
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    listener = Listener(config)
    await services.store.open()
    await services.bus.start()
    await services.sessions.start()
    listening = asyncio.create_task(listener.serve())
    try:
        while not listener.started:  # runs call this API: it is up before the first run is taken
            if listening.done():
                raise SystemExit(f"browserfn worker could not listen on {settings.host}:{settings.port}")
            await asyncio.sleep(0.02)
        await services.executor.start()
        heap.freeze_startup_heap()
        context = startup_context(settings)
        log.info("worker started; its API at %s", settings.internal_base_url, extra=context)
        await stop.wait()
    finally:
        await services.executor.close()  # graceful: running runs get worker_grace_s
        await services.sessions.close()
        listener.should_exit = True
        with contextlib.suppress(BaseException):
            await listening
        await services.bus.close()
        await services.store.close()


def run(args: argparse.Namespace) -> int:
    if not args.database_url:
        raise SystemExit("browserfn worker needs --database-url (or $BROWSERFN_DATABASE_URL)")
    settings = worker_settings(args)
    configure_logging(settings)
    # The loop `serve` runs on (uvicorn picks uvloop): a store call's hop to its thread and back
    # costs a third to a half of what it does on asyncio's own loop.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_work(settings))
    return 0
