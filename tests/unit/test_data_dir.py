"""The embedded store makes its data directory private as soon as it opens it."""

from __future__ import annotations

import os
from pathlib import Path

from browserfn.store.sqlite import SQLiteStore


async def test_the_data_directory_is_private_from_the_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = SQLiteStore(data_dir / "browserfn.sqlite3")
    await store.open()
    try:
        assert os.stat(data_dir).st_mode & 0o777 == 0o700
    finally:
        await store.close()
