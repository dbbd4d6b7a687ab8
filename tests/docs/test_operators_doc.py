"""The operators' guide names every setting with its environment variable (no silent drift)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from browserfn.config import Settings, settings_from_env
from browserfn.store.sqlite import SQLiteStore

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operators.md"


def test_every_setting_is_documented_with_its_variable() -> None:
    text = GUIDE.read_text()
    missing = [f.name for f in dataclasses.fields(Settings) if f"`BROWSERFN_{f.name.upper()}`" not in text]
    assert missing == []


def test_environment_variables_set_settings_and_flags_win() -> None:
    environ = {
        "BROWSERFN_ACCOUNT_CONCURRENCY": "3",
        "BROWSERFN_RUN_WORKER": "false",
        "BROWSERFN_WARM_IMPORTS": "loguru,requests",
        "BROWSERFN_PORT": "9000",
    }
    settings = settings_from_env(environ, port=9100)
    assert (settings.account_concurrency, settings.run_worker, settings.warm_imports, settings.port) == (
        3,
        False,
        ("loguru", "requests"),
        9100,
    )


def test_a_bad_environment_value_says_which_variable() -> None:
    with pytest.raises(ValueError, match=r"^BROWSERFN_ACCOUNT_CONCURRENCY='many' is not a valid int$"):
        settings_from_env({"BROWSERFN_ACCOUNT_CONCURRENCY": "many"})


async def test_the_embedded_store_is_as_durable_as_the_guide_says(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.sqlite3")
    await store.open()
    try:
        mode = await store.read(lambda tx: tx.value("PRAGMA journal_mode"))
        synchronous = await store.read(lambda tx: tx.value("PRAGMA synchronous"))
    finally:
        await store.close()
    assert (mode, synchronous) == ("wal", 1)  # 1: NORMAL
    assert "WAL mode with `synchronous=NORMAL`" in GUIDE.read_text()
