"""Options shared by the commands that open the store themselves (serve, keys)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from browserfn.config import Settings, settings_from_env


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="where the SQLite store lives")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BROWSERFN_DATABASE_URL"),
        help="PostgreSQL URL (scale-out mode); default: $BROWSERFN_DATABASE_URL, else SQLite in --data-dir",
    )


def settings_from(args: argparse.Namespace, **overrides: object) -> Settings:
    """BROWSERFN_* environment variables, then the command's flags on top."""
    return settings_from_env(None, data_dir=args.data_dir, database_url=args.database_url, **overrides)
