"""Vaults: an account's credentials per site and one credit card per vault, used by a session's
actions (`fill` with the SDK's placeholders, `form_fill`, `multi_factor_fill`) without the script
ever holding them.

Secrets go through one door (browserfn/secrets.py): each credential's secret part (password,
MFA secret) and each card are sealed with the server's secrets key before they reach the store;
only the site, e-mail and username (what Notte lists as not secret) are kept in the clear. A
credential is keyed by its site's registrable domain ("github.com" for https://www.github.com/login),
as the SDK keys it, so a page anywhere on that site finds it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
import secrets as token_source
from typing import Any, Protocol

import pyotp

from browserfn.config import Settings
from browserfn.errors import Conflict, InvalidInput, NotFound
from browserfn.models import utcnow
from browserfn.secrets import MIN_MASKED_CHARS, Sealer

#: The credential fields Notte defines; the secret ones are sealed.
CREDENTIAL_FIELDS = ("email", "username", "password", "mfa_secret")
SECRET_CREDENTIAL_FIELDS = ("password", "mfa_secret")
CARD_FIELDS = ("card_holder_name", "card_number", "card_cvv", "card_full_expiration")
MAX_FIELD_CHARS = 1024
MAX_NAME_CHARS = 256
MAX_CREDENTIALS_PER_VAULT = 1000
_HOST = re.compile(r"[A-Za-z0-9_.\[\]:-]+")


@dataclasses.dataclass(frozen=True)
class VaultRecord:
    vault_id: str
    account_id: str
    name: str
    for_persona: bool
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class CredentialRecord:
    vault_id: str
    url: str  #: the site's registrable domain
    email: str | None
    username: str | None
    sealed: bytes  #: {"password", "mfa_secret"?} as JSON, sealed with the secrets key
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class CardRecord:
    vault_id: str
    sealed: bytes  #: the four card fields as JSON, sealed
    created_at: dt.datetime


class VaultRepository(Protocol):
    """What the store keeps for vaults (store/vaults.py). Calls naming an account see only its rows."""

    async def insert_vault(self, vault: VaultRecord) -> None: ...
    async def list_vaults(self, account_id: str, offset: int, limit: int) -> list[VaultRecord]: ...
    async def get_vault(self, account_id: str, vault_id: str) -> VaultRecord | None: ...
    async def rename_vault(self, account_id: str, vault_id: str, name: str) -> VaultRecord | None: ...
    async def delete_vault(self, account_id: str, vault_id: str) -> bool: ...
    async def put_credential(self, credential: CredentialRecord) -> None: ...
    async def count_credentials(self, vault_id: str) -> int: ...
    async def list_credentials(self, vault_id: str) -> list[CredentialRecord]: ...
    async def get_credential(self, vault_id: str, url: str) -> CredentialRecord | None: ...
    async def delete_credential(self, vault_id: str, url: str) -> bool: ...
    async def put_card(self, card: CardRecord) -> None: ...
    async def get_card(self, vault_id: str) -> CardRecord | None: ...
    async def delete_card(self, vault_id: str) -> bool: ...
    async def sealed_secrets(self, account_id: str) -> list[bytes]: ...


@functools.cache
def _domain_extractor() -> Any:
    import tldextract

    # The public suffix list bundled with tldextract: no download, no cache directory (as notte_core does).
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())


def site_of(url: str) -> str:
    """The key a URL's credentials are stored under: its registrable domain, as the SDK computes it
    ("github.com" for https://www.github.com/login; an IP address or "localhost" as is)."""
    parts = _domain_extractor()(url.strip())
    site = ".".join(part for part in (parts.domain, parts.suffix) if part) if parts.domain else ""
    if not _HOST.fullmatch(site):
        raise InvalidInput(f"url {url[:200]!r} has no domain name")
    return str(site).lower()


def _text(fields: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = fields.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"{name} is required")
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_FIELD_CHARS or "\x00" in value:
        raise InvalidInput(f"{name} must be a non-empty string of at most {MAX_FIELD_CHARS} characters")
    return value


def check_credentials(fields: dict[str, Any]) -> dict[str, str]:
    """Notte's CredentialsDict: a password, exactly one of email and username, maybe an MFA secret
    (a base32 TOTP secret, not a one-time code)."""
    unknown = sorted(set(fields) - set(CREDENTIAL_FIELDS))
    if unknown:
        raise InvalidInput(f"credentials: unknown fields {unknown}; known: {list(CREDENTIAL_FIELDS)}")
    email, username = _text(fields, "email", required=False), _text(fields, "username", required=False)
    if (email is None) == (username is None):
        raise InvalidInput("credentials: give exactly one of email and username")
    checked = {"password": _text(fields, "password", required=True) or ""}
    mfa_secret = _text(fields, "mfa_secret", required=False)
    if mfa_secret is not None:
        try:
            pyotp.TOTP(mfa_secret).now()
        except Exception as exc:  # pyotp raises binascii.Error, ValueError... for a non-base32 secret
            raise InvalidInput("credentials: mfa_secret must be a base32 TOTP secret, not a one-time code") from exc
        checked["mfa_secret"] = mfa_secret
    return checked | ({"email": email} if email else {"username": username or ""})


def check_card(fields: dict[str, Any]) -> dict[str, str]:
    unknown = sorted(set(fields) - set(CARD_FIELDS))
    if unknown:
        raise InvalidInput(f"credit_card: unknown fields {unknown}; known: {list(CARD_FIELDS)}")
    return {name: _text(fields, name, required=True) or "" for name in CARD_FIELDS}


def check_name(name: str) -> str:
    if not name.strip() or len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"name must be 1 to {MAX_NAME_CHARS} characters")
    return name


def totp_now(mfa_secret: str) -> str:
    """The current one-time code of a stored MFA secret (RFC 6238, 30 s, 6 digits, as Notte's)."""
    return str(pyotp.TOTP(mfa_secret).now())


class VaultService:
    """Vaults of one server: every call names the caller's account; another account's vault is
    a 404, as an unknown one."""

    def __init__(self, settings: Settings, repository: VaultRepository) -> None:
        self._repo = repository
        self._door = Sealer(settings)

    async def create(self, account_id: str, name: str, *, for_persona: bool = False) -> VaultRecord:
        vault = VaultRecord(f"vault_{token_source.token_hex(12)}", account_id, check_name(name), for_persona, utcnow())
        await self._repo.insert_vault(vault)
        return vault

    async def list_vaults(self, account_id: str, offset: int, limit: int) -> list[VaultRecord]:
        return await self._repo.list_vaults(account_id, offset, limit)

    async def get(self, account_id: str, vault_id: str) -> VaultRecord:
        found = await self._repo.get_vault(account_id, vault_id)
        if found is None:
            raise NotFound(f"vault {vault_id} not found")
        return found

    async def rename(self, account_id: str, vault_id: str, name: str) -> VaultRecord:
        found = await self._repo.rename_vault(account_id, vault_id, check_name(name))
        if found is None:
            raise NotFound(f"vault {vault_id} not found")
        return found

    async def delete(self, account_id: str, vault_id: str, *, of_persona: bool = False) -> None:
        """The vault with its credentials and card; a persona's vault goes with its persona only."""
        vault = await self.get(account_id, vault_id)
        if vault.for_persona and not of_persona:
            raise Conflict(f"vault {vault_id} belongs to a persona: delete the persona to delete it")
        if not await self._repo.delete_vault(account_id, vault_id):
            raise NotFound(f"vault {vault_id} not found")

    async def add_credentials(self, account_id: str, vault_id: str, url: str, fields: dict[str, Any]) -> None:
        await self.get(account_id, vault_id)
        checked, site = check_credentials(fields), site_of(url)
        is_new = await self._repo.get_credential(vault_id, site) is None
        if is_new and await self._repo.count_credentials(vault_id) >= MAX_CREDENTIALS_PER_VAULT:
            raise InvalidInput(f"a vault holds at most {MAX_CREDENTIALS_PER_VAULT} credentials")
        secret = {name: checked[name] for name in SECRET_CREDENTIAL_FIELDS if name in checked}
        sealed = self._door.seal(json.dumps(secret))
        record = CredentialRecord(vault_id, site, checked.get("email"), checked.get("username"), sealed, utcnow())
        await self._repo.put_credential(record)

    async def list_credentials(self, account_id: str, vault_id: str) -> list[CredentialRecord]:
        await self.get(account_id, vault_id)
        return await self._repo.list_credentials(vault_id)

    async def credentials(self, account_id: str, vault_id: str, url: str) -> dict[str, str]:
        """The whole credential of `url`'s site, secrets included (for its own account's caller)."""
        await self.get(account_id, vault_id)
        found = await self._credential(vault_id, url)
        if found is None:
            raise NotFound(f"vault {vault_id} holds no credentials for {site_of(url)}")
        return found

    async def _credential(self, vault_id: str, url: str) -> dict[str, str] | None:
        record = await self._repo.get_credential(vault_id, site_of(url))
        if record is None:
            return None
        plain = {"email": record.email, "username": record.username}
        return {k: v for k, v in plain.items() if v} | json.loads(self._door.unseal(record.sealed))

    async def delete_credentials(self, account_id: str, vault_id: str, url: str) -> None:
        await self.get(account_id, vault_id)
        if not await self._repo.delete_credential(vault_id, site_of(url)):
            raise NotFound(f"vault {vault_id} holds no credentials for {site_of(url)}")

    async def set_card(self, account_id: str, vault_id: str, fields: dict[str, Any]) -> None:
        await self.get(account_id, vault_id)
        sealed = self._door.seal(json.dumps(check_card(fields)))
        await self._repo.put_card(CardRecord(vault_id, sealed, utcnow()))

    async def card(self, account_id: str, vault_id: str) -> dict[str, str]:
        await self.get(account_id, vault_id)
        found = await self._card(vault_id)
        if found is None:
            raise NotFound(f"vault {vault_id} holds no credit card")
        return found

    async def _card(self, vault_id: str) -> dict[str, str] | None:
        record = await self._repo.get_card(vault_id)
        return None if record is None else dict(json.loads(self._door.unseal(record.sealed)))

    async def delete_card(self, account_id: str, vault_id: str) -> None:
        await self.get(account_id, vault_id)
        if not await self._repo.delete_card(vault_id):
            raise NotFound(f"vault {vault_id} holds no credit card")

    async def secret_values(self, account_id: str) -> list[str]:
        """Every secret the account's vaults hold (passwords, MFA secrets, card numbers, CVVs,
        expirations), for masking what a run leaves behind."""
        values: list[str] = []
        for sealed in await self._repo.sealed_secrets(account_id):
            values += [v for v in json.loads(self._door.unseal(sealed)).values() if isinstance(v, str)]
        return [v for v in values if len(v) >= MIN_MASKED_CHARS]

    def for_session(self, account_id: str, vault_id: str) -> SessionVault:
        return SessionVault(self, account_id, vault_id)


class SessionVault:
    """What a session's actions may read from the vault the session was started with: the
    credential of the page's site and the card (browser/vault_fill.py's VaultLookup)."""

    def __init__(self, service: VaultService, account_id: str, vault_id: str) -> None:
        self._service = service
        self.account_id = account_id
        self.vault_id = vault_id
        #: Every value this session typed from the vault: masked in what the session shows.
        self.used: set[str] = set()

    async def credentials(self, url: str) -> dict[str, str] | None:
        await self._service.get(self.account_id, self.vault_id)  # deleted since the session started: 404
        return await self._service._credential(self.vault_id, url)

    async def card(self) -> dict[str, str] | None:
        await self._service.get(self.account_id, self.vault_id)
        return await self._service._card(self.vault_id)
