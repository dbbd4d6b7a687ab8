"""Personas: an identity (a name, an e-mail address on the operator's mail domain, maybe a vault)
whose mail the server receives itself (browserfn/mail.py) and a script reads back, for sign-ups
and e-mailed codes. Phone numbers and SMS need a provider this server does not have: they answer
501 naming the setting.

Each persona has two addresses on `mail_domain`: a readable one (`ada.lovelace.k3x9@domain`, the
`email` Notte shows) and `<persona_id>@domain` (`internal_email`); mail to either is the persona's.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets as token_source

from browserfn.config import Settings
from browserfn.errors import BrowserfnError, InvalidInput, NotFound
from browserfn.models import utcnow
from browserfn.store.base import Store
from browserfn.store.ops import personas as ops
from browserfn.store.ops.personas import EmailRecord, PersonaRecord
from browserfn.vaults import MAX_NAME_CHARS, VaultService

__all__ = ["EmailRecord", "NotConfigured", "PersonaRecord", "PersonaService", "sms_not_available"]

_FIRST_NAMES = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken")
_LAST_NAMES = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton", "Thompson")
_LOCAL_PART = re.compile(r"[^a-z0-9]+")
_WHOLE_MAILBOX = dt.timedelta(days=365 * 50)


class NotConfigured(BrowserfnError):
    """A feature that needs an operator's setting this server does not have."""

    status_code = 501


def sms_not_available(settings: Settings) -> NotConfigured:
    return NotConfigured(
        "phone numbers and SMS need an SMS provider (setting BROWSERFN_SMS_PROVIDER); this server has none"
        + (f" ({settings.sms_provider!r} is not a provider browserfn implements)" if settings.sms_provider else "")
    )


def _names(name: str | None) -> tuple[str, str]:
    words = (name or "").split()
    if len(words) >= 2:
        return words[0], " ".join(words[1:])
    return token_source.choice(_FIRST_NAMES), token_source.choice(_LAST_NAMES)


def readable_address(first: str, last: str, domain: str) -> str:
    local = _LOCAL_PART.sub(".", f"{first}.{last}".lower()).strip(".")[:40] or "persona"
    return f"{local}.{token_source.token_hex(2)}@{domain}"


class PersonaService:
    def __init__(self, settings: Settings, store: Store, vaults: VaultService) -> None:
        self._settings = settings
        self._store = store
        self._vaults = vaults

    def _domain(self) -> str:
        if not self._settings.mail_domain:
            raise NotConfigured(
                "personas need a mail domain to receive mail: set BROWSERFN_MAIL_DOMAIN (and BROWSERFN_MAIL_PORT "
                "to run the SMTP listener); see docs/operators.md"
            )
        return self._settings.mail_domain.lower()

    async def create(
        self, account_id: str, name: str | None, *, create_vault: bool, create_phone_number: bool
    ) -> PersonaRecord:
        """A persona with a mailbox on this server's mail domain (Notte's 'notte' provider)."""
        if create_phone_number:
            raise sms_not_available(self._settings)
        if name is not None and (not name.strip() or len(name) > MAX_NAME_CHARS):
            raise InvalidInput(f"name must be 1 to {MAX_NAME_CHARS} characters")
        domain = self._domain()
        first, last = _names(name)
        persona_id = f"persona_{token_source.token_hex(12)}"
        vault = (
            self._vaults.new_vault(account_id, f"persona {first} {last}", for_persona=True) if create_vault else None
        )
        persona = PersonaRecord(
            persona_id,
            account_id,
            name,
            first,
            last,
            readable_address(first, last, domain),
            f"{persona_id}@{domain}",
            vault.vault_id if vault else None,
            utcnow(),
        )
        await self._store.call(ops.create, persona, vault)
        return persona

    async def list_personas(self, account_id: str, offset: int, limit: int) -> list[PersonaRecord]:
        return await self._store.call(ops.listing, account_id, offset, limit)

    async def get(self, account_id: str, persona_id: str) -> PersonaRecord:
        return await self._store.call(ops.owned, account_id, persona_id)

    async def resolve(self, account_id: str, mailbox: str) -> PersonaRecord:
        """A persona named by its id or by one of its addresses (email_verification_read's mailbox_id)."""
        if "@" in mailbox:
            found = await self._store.call(ops.by_address, mailbox.strip())
            if found is None or found.account_id != account_id:
                raise NotFound(f"no persona has the address {mailbox}")
            return found
        return await self.get(account_id, mailbox)

    async def of_vault(self, account_id: str, vault_id: str) -> PersonaRecord | None:
        return await self._store.call(ops.by_vault, account_id, vault_id)

    async def rename(self, account_id: str, persona_id: str, name: str) -> PersonaRecord:
        if not name.strip() or len(name) > MAX_NAME_CHARS:
            raise InvalidInput(f"name must be 1 to {MAX_NAME_CHARS} characters")
        return await self._store.call(ops.rename, account_id, persona_id, name)

    async def delete(self, account_id: str, persona_id: str) -> None:
        """The persona, its mail, and the vault made for it; its addresses refuse mail from then on."""
        await self._store.call(ops.delete, account_id, persona_id)

    async def emails(
        self, account_id: str, persona_id: str, *, limit: int, within: dt.timedelta | None, only_unread: bool
    ) -> list[EmailRecord]:
        if not 1 <= limit <= 100:
            raise InvalidInput("limit must be between 1 and 100")
        if within is not None and within < dt.timedelta(0):
            raise InvalidInput("timedelta must not be negative")
        # Any window reaching before the first message could have come is the whole mailbox.
        since = utcnow() - within if within is not None and within < _WHOLE_MAILBOX else None
        return await self._store.call(ops.read_emails, account_id, persona_id, since, only_unread, limit)
