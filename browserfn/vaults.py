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
import re
import secrets as token_source
from typing import TYPE_CHECKING, Annotated, Any

import pyotp
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from browserfn.config import Settings
from browserfn.errors import Conflict, InvalidInput, NotFound
from browserfn.models import utcnow
from browserfn.secrets import MIN_MASKED_CHARS, Masker, Sealer
from browserfn.store.base import Store
from browserfn.store.ops import vaults as ops
from browserfn.store.ops.vaults import CardRecord, CredentialRecord, VaultRecord

if TYPE_CHECKING:
    from browserfn.browser.sessions import Session

#: The secret credential fields, sealed.
SECRET_CREDENTIAL_FIELDS = ("password", "mfa_secret")
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
    ("github.com" for https://www.github.com/login; an IP address, "localhost" or a public suffix
    as is). Every URL matching SITE_URL_PATTERN has one."""
    parts = _domain_extractor()(url.strip())
    # A public suffix alone ("co.uk") has no registrable domain: the host is the site.
    site = ".".join(part for part in (parts.domain, parts.suffix) if part) if parts.domain else parts.suffix
    if not _HOST.fullmatch(site):
        raise InvalidInput(f"url {url[:200]!r} has no domain name")
    return str(site).lower()


#: White space as str.strip reads it, spelled out: regex engines disagree on `\s` (ECMA's has
#: U+FEFF but not U+0085, Python's has U+001C-U+001F...).
SPACE_CHARS = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: A name must show something: a character that is not white space.
NOT_BLANK_PATTERN = rf"[^{SPACE_CHARS}]"
#: What no URL character is: white space or a control character.
NOT_IN_URL = rf"{SPACE_CHARS}\x00-\x1f\x7f-\x9f\ufeff"
#: What a vault's text fields may hold: 1 to MAX_FIELD_CHARS characters, no NUL (which no store keeps).
VaultText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_FIELD_CHARS, pattern=r"^[^\x00]+$")]
_B32 = "[A-Za-z2-7]"
#: A base32 TOTP secret as pyotp decodes it: whole 8-character groups and a tail of 2, 4, 5 or 7
#: characters (padding optional), at least 112 bits (the minimum pyotp enforces).
MFA_SECRET_PATTERN = (
    rf"^(?:{_B32}{{8}}){{2}}(?:{_B32}{{7}}=?|{_B32}{{8}}(?:{_B32}{{8}})*"
    rf"(?:{_B32}{{2}}(?:======)?|{_B32}{{4}}(?:====)?|{_B32}{{5}}(?:===)?|{_B32}{{7}}=?)?)$"
)
MfaSecret = Annotated[
    str,
    Field(pattern=MFA_SECRET_PATTERN, description="A base32 TOTP secret (at least 112 bits), not a one-time code"),
]
#: A URL (or bare host name) with a host: what a credential is keyed by (`site_of`).
SITE_URL_PATTERN = (
    rf"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:[^{NOT_IN_URL}/?#@]+@)?"
    r"(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\])"
    rf"(?::[0-9]{{1,5}})?(?:[/?#][^{NOT_IN_URL}]*)?$"
)


class _Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: VaultText
    mfa_secret: MfaSecret | None = None


class CredentialsByEmail(_Credentials):
    """Notte's CredentialsDict signing in with an e-mail."""

    email: VaultText
    username: None = None


class CredentialsByUsername(_Credentials):
    """Notte's CredentialsDict signing in with a username."""

    email: None = None
    username: VaultText


#: Notte's CredentialsDict: a password, exactly one of email and username, maybe an MFA secret.
Credentials = CredentialsByEmail | CredentialsByUsername


class CreditCard(BaseModel):
    """Notte's CreditCardDict: every field required."""

    model_config = ConfigDict(extra="forbid")
    card_holder_name: VaultText
    card_number: VaultText
    card_cvv: VaultText
    card_full_expiration: VaultText


_CREDENTIALS: TypeAdapter[Credentials] = TypeAdapter(Credentials)


_PATTERN_MEANS = {"mfa_secret": "must be a base32 TOTP secret of at least 112 bits, not a one-time code"}


def _invalid(what: str, exc: ValidationError) -> InvalidInput:
    """One line naming each wrong field once (a union's branches repeat them)."""
    problems: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][-1]) if error["loc"] else "value"
        if error["type"] == "string_pattern_mismatch":
            problems[field] = _PATTERN_MEANS.get(field, "must not contain NUL")
        else:
            problems.setdefault(field, error["msg"])
    return InvalidInput(f"{what}: " + "; ".join(f"{field}: {msg}" for field, msg in problems.items()))


def check_credentials(fields: dict[str, Any]) -> dict[str, str]:
    """The credentials as stored (no empty fields), or InvalidInput naming what is wrong."""
    try:
        checked = _CREDENTIALS.validate_python(fields)
    except ValidationError as exc:
        raise _invalid("credentials (a password and exactly one of email and username)", exc) from exc
    return checked.model_dump(exclude_none=True)


def check_card(fields: dict[str, Any]) -> dict[str, str]:
    try:
        return CreditCard.model_validate(fields).model_dump()
    except ValidationError as exc:
        raise _invalid("credit_card", exc) from exc


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
        sealed = self._door.seal_json(secret)
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
        return {k: v for k, v in plain.items() if v} | self._door.unseal_json(record.sealed)

    async def delete_credentials(self, account_id: str, vault_id: str, url: str) -> None:
        if not await self._store.call(ops.delete_credential, account_id, vault_id, site_of(url)):
            raise NotFound(f"vault {vault_id} holds no credentials for {site_of(url)}")

    async def set_card(self, account_id: str, vault_id: str, fields: dict[str, Any]) -> None:
        sealed = self._door.seal_json(check_card(fields))
        await self._store.call(ops.put_card, account_id, CardRecord(vault_id, sealed, utcnow()))

    async def card(self, account_id: str, vault_id: str) -> dict[str, str]:
        found = await self.card_or_none(account_id, vault_id)
        if found is None:
            raise NotFound(f"vault {vault_id} holds no credit card")
        return found

    async def card_or_none(self, account_id: str, vault_id: str) -> dict[str, str] | None:
        record = await self._store.call(ops.get_card, account_id, vault_id)
        return None if record is None else dict(self._door.unseal_json(record.sealed))

    async def delete_card(self, account_id: str, vault_id: str) -> None:
        if not await self._store.call(ops.delete_card, account_id, vault_id):
            raise NotFound(f"vault {vault_id} holds no credit card")

    def unseal_masked(self, sealed_secrets: list[bytes]) -> list[str]:
        """Every secret an account's vaults hold (passwords, MFA secrets, card numbers, CVVs,
        expirations), for masking what a run leaves behind, from the sealed credentials and cards
        the store read (ops/vaults.py `sealed_secrets`)."""
        values: list[str] = []
        for sealed in sealed_secrets:
            values += [v for v in self._door.unseal_json(sealed).values() if isinstance(v, str)]
        return [v for v in values if len(v) >= MIN_MASKED_CHARS]

    async def secret_values(self, account_id: str) -> list[str]:
        """Every secret the account's vaults hold, read now (an agent masks them in what it sends
        to its model)."""
        return self.unseal_masked(await self._store.read(ops.sealed_secrets, account_id))

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

    def attach(self, session: Session) -> None:
        """Have the session's actions fill placeholders from this vault, and mask what they type
        from it in the session's replay."""
        assert session.driver is not None
        session.driver.vault = self
        if session.recorder is not None:
            session.recorder.mask_text = lambda text: Masker(self.used).text(text)
