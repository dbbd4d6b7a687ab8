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

import functools
import json
import re
import secrets as token_source
from typing import Any

import pyotp

from browserfn.config import Settings
from browserfn.errors import Conflict, InvalidInput, NotFound
from browserfn.models import utcnow
from browserfn.secrets import MIN_MASKED_CHARS, Sealer
from browserfn.store.base import Store
from browserfn.store.ops import vaults as ops
from browserfn.store.ops.vaults import CardRecord, CredentialRecord, VaultRecord

#: The credential fields Notte defines; the secret ones are sealed.
CREDENTIAL_FIELDS = ("email", "username", "password", "mfa_secret")
SECRET_CREDENTIAL_FIELDS = ("password", "mfa_secret")
CARD_FIELDS = ("card_holder_name", "card_number", "card_cvv", "card_full_expiration")
MAX_FIELD_CHARS = 1024
MAX_NAME_CHARS = 256
MAX_CREDENTIALS_PER_VAULT = 1000
_HOST = re.compile(r"[A-Za-z0-9_.\[\]:-]+")


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

    def __init__(self, settings: Settings, store: Store) -> None:
        self._store = store
        self._door = Sealer(settings)

    def new_vault(self, account_id: str, name: str, *, for_persona: bool = False) -> VaultRecord:
        return VaultRecord(f"vault_{token_source.token_hex(12)}", account_id, check_name(name), for_persona, utcnow())

    async def create(self, account_id: str, name: str) -> VaultRecord:
        vault = self.new_vault(account_id, name)
        await self._store.call(ops.create, vault)
        return vault

    async def list_vaults(self, account_id: str, offset: int, limit: int) -> list[VaultRecord]:
        return await self._store.call(ops.listing, account_id, offset, limit)

    async def get(self, account_id: str, vault_id: str) -> VaultRecord:
        found = await self._store.call(ops.get, account_id, vault_id)
        if found is None:
            raise NotFound(f"vault {vault_id} not found")
        return found

    async def rename(self, account_id: str, vault_id: str, name: str) -> VaultRecord:
        return await self._store.call(ops.rename, account_id, vault_id, check_name(name))

    async def delete(self, account_id: str, vault_id: str) -> None:
        """The vault with its credentials and card; a persona's vault goes with its persona only."""
        if (await self.get(account_id, vault_id)).for_persona:
            raise Conflict(f"vault {vault_id} belongs to a persona: delete the persona to delete it")
        await self._store.call(ops.delete, account_id, vault_id)

    async def add_credentials(self, account_id: str, vault_id: str, url: str, fields: dict[str, Any]) -> None:
        checked, site = check_credentials(fields), site_of(url)
        secret = {name: checked[name] for name in SECRET_CREDENTIAL_FIELDS if name in checked}
        sealed = self._door.seal(json.dumps(secret))
        record = CredentialRecord(vault_id, site, checked.get("email"), checked.get("username"), sealed, utcnow())
        await self._store.call(ops.put_credential, account_id, record, MAX_CREDENTIALS_PER_VAULT)

    async def list_credentials(self, account_id: str, vault_id: str) -> list[CredentialRecord]:
        return await self._store.call(ops.credentials, account_id, vault_id)

    async def credentials(self, account_id: str, vault_id: str, url: str) -> dict[str, str]:
        """The whole credential of `url`'s site, secrets included (for its own account's caller)."""
        found = await self.credentials_or_none(account_id, vault_id, url)
        if found is None:
            raise NotFound(f"vault {vault_id} holds no credentials for {site_of(url)}")
        return found

    async def credentials_or_none(self, account_id: str, vault_id: str, url: str) -> dict[str, str] | None:
        record = await self._store.call(ops.get_credential, account_id, vault_id, site_of(url))
        if record is None:
            return None
        plain = {"email": record.email, "username": record.username}
        return {k: v for k, v in plain.items() if v} | json.loads(self._door.unseal(record.sealed))

    async def delete_credentials(self, account_id: str, vault_id: str, url: str) -> None:
        if not await self._store.call(ops.delete_credential, account_id, vault_id, site_of(url)):
            raise NotFound(f"vault {vault_id} holds no credentials for {site_of(url)}")

    async def set_card(self, account_id: str, vault_id: str, fields: dict[str, Any]) -> None:
        sealed = self._door.seal(json.dumps(check_card(fields)))
        await self._store.call(ops.put_card, account_id, CardRecord(vault_id, sealed, utcnow()))

    async def card(self, account_id: str, vault_id: str) -> dict[str, str]:
        found = await self.card_or_none(account_id, vault_id)
        if found is None:
            raise NotFound(f"vault {vault_id} holds no credit card")
        return found

    async def card_or_none(self, account_id: str, vault_id: str) -> dict[str, str] | None:
        record = await self._store.call(ops.get_card, account_id, vault_id)
        return None if record is None else dict(json.loads(self._door.unseal(record.sealed)))

    async def delete_card(self, account_id: str, vault_id: str) -> None:
        if not await self._store.call(ops.delete_card, account_id, vault_id):
            raise NotFound(f"vault {vault_id} holds no credit card")

    def unseal_masked(self, sealed_secrets: list[bytes]) -> list[str]:
        """Every secret an account's vaults hold (passwords, MFA secrets, card numbers, CVVs,
        expirations), for masking what a run leaves behind, from the sealed credentials and cards
        the store read (ops/vaults.py `sealed_secrets`)."""
        values: list[str] = []
        for sealed in sealed_secrets:
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
        """The site's credentials; the vault deleted since the session started: NotFound."""
        return await self._service.credentials_or_none(self.account_id, self.vault_id, url)

    async def card(self) -> dict[str, str] | None:
        return await self._service.card_or_none(self.account_id, self.vault_id)
