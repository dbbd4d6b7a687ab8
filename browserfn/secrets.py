"""Secrets of an account or of one function: stored encrypted (Fernet, key file in the data dir,
mode 0600), given to runs as environment variables, and masked as `***` in what a run leaves
behind (logs, result, error).

Ciphertexts live in the store (both backends); the key never does. In the embedded mode the
key is a file in the data directory, which is made 0700, so a run (another uid, see
sandbox/isolation.py) cannot read the key or the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from browserfn.config import Settings
from browserfn.errors import Conflict, InvalidInput
from browserfn.store.base import Store

MASK = "***"
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
MAX_VALUE_BYTES = 64 * 1024
#: Names a run's environment already uses: a secret may not replace them.
RESERVED_NAMES = frozenset({"PATH", "HOME", "TMPDIR", "LANG", "NOTTE_API_KEY", "NOTTE_API_URL", "DISABLE_TELEMETRY"})
RESERVED_PREFIXES = ("BROWSERFN_", "PYTHON", "LD_")
#: A secret shorter than this is not masked (masking "a" would garble every log line).
MIN_MASKED_CHARS = 4
_ACCOUNT_SCOPE = ""


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


class Sealer:
    """Encrypts and decrypts with the server's secrets key: the one door of every secret kept at
    rest (function and account secrets, vault credentials and cards, profiles' browser state). The
    key is the setting `secrets_key` (the same on every machine of a scale-out deployment), or in
    the embedded mode a key file made in the data directory (0600, the directory 0700)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._fernet: Fernet | None = None

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            self._fernet = Fernet(self._key())
        return self._fernet

    def _key(self) -> bytes:
        if self._settings.secrets_key:
            return self._settings.secrets_key.encode()
        if self._settings.database_url:
            raise Conflict(
                "secrets in the scale-out mode need a shared key: set BROWSERFN_SECRETS_KEY (a Fernet key) "
                "to the same value on every machine"
            )
        data_dir = self._settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        key_path = data_dir / "secrets.key"
        with contextlib.suppress(FileExistsError):
            _private_file(key_path, Fernet.generate_key())
        return key_path.read_bytes().strip()

    def ready(self) -> None:
        """Conflict now if this server cannot seal (the scale-out mode without a shared key)."""
        self._cipher()

    def seal(self, text: str) -> bytes:
        return self._cipher().encrypt(text.encode())

    def seal_json(self, value: Any) -> bytes:
        """A JSON value (a vault's credential or card, a profile's state), sealed."""
        return self.seal(json.dumps(value))

    def unseal_json(self, token: bytes) -> Any:
        return json.loads(self.unseal(token))

    def unseal(self, token: bytes) -> str:
        try:
            return self._cipher().decrypt(token).decode()
        except InvalidToken:
            raise Conflict(
                "stored data was sealed with another secrets key than this server's: BROWSERFN_SECRETS_KEY "
                "must be the same on every machine, and the key it was sealed with must be kept"
            ) from None


class SecretVault(Sealer):
    """Encrypts secrets into the store and decrypts them for runs."""

    def __init__(self, settings: Settings, store: Store) -> None:
        super().__init__(settings)
        self._store = store

    async def put(self, account_id: str, function_id: str | None, name: str, value: str) -> None:
        token = self.seal(check_value(value))
        await self._store.put_secret(account_id, function_id or _ACCOUNT_SCOPE, check_name(name), token)

    async def names(self, account_id: str, function_id: str | None) -> list[str]:
        return await self._store.secret_names(account_id, function_id or _ACCOUNT_SCOPE)

    async def delete(self, account_id: str, function_id: str | None, name: str) -> bool:
        return await self._store.delete_secret(account_id, function_id or _ACCOUNT_SCOPE, name)

    def unseal_run_secrets(self, found: list[tuple[str, str, bytes]]) -> dict[str, str]:
        """A run's secrets by name, from their (scope, name, ciphertext) as the store read them
        (ops/secrets.py `of_run`); a function's secret wins over the account's of that name."""
        ordered = sorted(found, key=lambda r: r[0] != _ACCOUNT_SCOPE)  # account first, function overrides
        return {name: self.unseal(token) for _, name, token in ordered}


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
