"""`browserfn <command>`: each command group lives in its own module and adds its own parser."""

from __future__ import annotations

import argparse
import os
import sys

from browserfn.cli import functions_cmd, keys, runs_cmd, schedules_cmd, secrets_cmd, serve, worker
from browserfn.config import SettingsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="browserfn", description="Serverless browser automations.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve.add_parser(commands)
    keys.add_parser(commands)
    worker.add_parser(commands)
    functions_cmd.add_parsers(commands)
    runs_cmd.add_parsers(commands)
    schedules_cmd.add_parsers(commands)
    secrets_cmd.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader left (`browserfn runs --json | head`): stop quietly, as Unix tools do. Python
        # would flush stdout again at exit and print a traceback; point it at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by it
    except SettingsError as exc:  # the operator's to fix: one line, no traceback
        print(f"browserfn: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
