"""Secrets of an account or of one function: stored encrypted (Fernet, key file in the data dir,
mode 0600), given to runs as environment variables, and masked as `***` in what a run leaves
behind (logs, result, error).

The vault keeps its own SQLite file beside the store's (data_dir/secrets.sqlite3): the embedded
mode. The data directory is made 0700, so a run (another uid, see sandbox/isolation.py) cannot
read the key, the vault or the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from browserfn.config import Settings
from browserfn.errors import InvalidInput

MASK = "***"
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
MAX_VALUE_BYTES = 64 * 1024
#: Names a run's environment already uses: a secret may not replace them.
RESERVED_NAMES = frozenset({"PATH", "HOME", "TMPDIR", "LANG", "NOTTE_API_KEY", "NOTTE_API_URL", "DISABLE_TELEMETRY"})
RESERVED_PREFIXES = ("BROWSERFN_", "PYTHON", "LD_")
#: A secret shorter than this is not masked (masking "a" would garble every log line).
MIN_MASKED_CHARS = 4
_ACCOUNT_SCOPE = ""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS secrets (
    account_id TEXT NOT NULL,
    function_id TEXT NOT NULL,
    name TEXT NOT NULL,
    ciphertext BLOB NOT NULL,
    PRIMARY KEY (account_id, function_id, name)
) WITHOUT ROWID;
"""


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise InvalidInput("secret names are environment variable names: letters, digits and '_', at most 128")
    if name.upper() in RESERVED_NAMES or name.upper().startswith(RESERVED_PREFIXES):
        raise InvalidInput(f"secret name {name!r} is reserved for browserfn's own run environment")
    return name


def check_value(value: str) -> str:
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise InvalidInput(f"a secret value is at most {MAX_VALUE_BYTES} bytes")
    if "\x00" in value:
        raise InvalidInput("a secret value cannot hold NUL characters (it becomes an environment variable)")
    return value


def _private_file(path: Path, make: bytes | None = None) -> None:
    """Create (with `make`) or tighten a file to 0600."""
    if make is not None and not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(make)
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, 0o600)


class SecretVault:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        key_path = data_dir / "secrets.key"
        with contextlib.suppress(FileExistsError):
            _private_file(key_path, Fernet.generate_key())
        self._fernet = Fernet(key_path.read_bytes().strip())
        db_path = data_dir / "secrets.sqlite3"
        self._conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        _private_file(db_path)
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def _run(self, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    async def put(self, account_id: str, function_id: str | None, name: str, value: str) -> None:
        token = self._fernet.encrypt(check_value(value).encode())
        sql = "INSERT OR REPLACE INTO secrets(account_id, function_id, name, ciphertext) VALUES (?, ?, ?, ?)"
        await asyncio.to_thread(self._run, sql, (account_id, function_id or _ACCOUNT_SCOPE, check_name(name), token))

    async def names(self, account_id: str, function_id: str | None) -> list[str]:
        sql = "SELECT name FROM secrets WHERE account_id = ? AND function_id = ? ORDER BY name"
        rows = await asyncio.to_thread(self._run, sql, (account_id, function_id or _ACCOUNT_SCOPE))
        return [r[0] for r in rows]

    async def delete(self, account_id: str, function_id: str | None, name: str) -> bool:
        sql = "DELETE FROM secrets WHERE account_id = ? AND function_id = ? AND name = ? RETURNING name"
        rows = await asyncio.to_thread(self._run, sql, (account_id, function_id or _ACCOUNT_SCOPE, name))
        return bool(rows)

    async def for_run(self, account_id: str, function_id: str) -> dict[str, str]:
        """The run's secrets by name; a function's secret wins over the account's of that name."""
        sql = "SELECT function_id, name, ciphertext FROM secrets WHERE account_id = ? AND function_id IN (?, ?)"
        rows = await asyncio.to_thread(self._run, sql, (account_id, function_id, _ACCOUNT_SCOPE))
        ordered = sorted(rows, key=lambda r: r[0] != _ACCOUNT_SCOPE)  # account first, function overrides
        return {r[1]: self._fernet.decrypt(r[2]).decode() for r in ordered}


_VAULTS: dict[Path, SecretVault] = {}
_VAULTS_LOCK = threading.Lock()


def vault_for(settings: Settings) -> SecretVault:
    """One vault per data directory and process (it holds a SQLite connection)."""
    path = settings.data_dir.resolve()
    with _VAULTS_LOCK:
        if path not in _VAULTS:
            _VAULTS[path] = SecretVault(path)
        return _VAULTS[path]


class Masker:
    """Replaces every secret value with `***` in text and in JSON values."""

    def __init__(self, values: Iterable[str]) -> None:
        kept = sorted({v for v in values if len(v) >= MIN_MASKED_CHARS}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in kept)) if kept else None

    def text(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(MASK, text)

    def value(self, value: Any) -> Any:
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        return value
