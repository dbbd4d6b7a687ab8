"""Options shared by the commands that open the store themselves (serve, keys)."""

from __future__ import annotations

import argparse
from pathlib import Path

from browserfn.config import Settings


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="where the SQLite store lives")


def settings_from(args: argparse.Namespace, **overrides: object) -> Settings:
    return Settings(data_dir=args.data_dir, **overrides)  # type: ignore[arg-type]
