"""Who an agent acts for: the vault it may log in with and the persona it may be.

The model never receives a stored secret. It is told which sites the vault holds credentials for
and the placeholders that stand for them (Notte's: `mycoolpassword` for the password...); a `fill`
with a placeholder types the real value in the browser only (browser/vault_fill.py, as for a
session started with a vault). Every secret of the account's vaults is masked (`***`) in what is
sent to the model, and what the agent types from the vault is masked in its steps and the
session's replay. A persona's identity (names, e-mail) is in the prompt, and its inbox is read
with the agent's `email_read` action.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from browserfn import inbox_actions
from browserfn.browser.sessions import Session
from browserfn.browser.vault_fill import PLACEHOLDERS, VaultLookup
from browserfn.errors import InvalidInput
from browserfn.models import Principal
from browserfn.personas import PersonaRecord, PersonaService
from browserfn.secrets import Masker
from browserfn.vaults import SessionVault, VaultService

#: The e-mails `email_read` gives the model: the newest this many, within this long.
EMAILS_READ = 5
EMAILS_WITHIN = dt.timedelta(hours=1)
#: Characters of the e-mails shown to the model, at most.
EMAILS_CHARS = 4000
_PLACEHOLDER_OF = {field: placeholder for placeholder, field in PLACEHOLDERS.items()}
_LOGIN = {"email": "the e-mail", "username": "the username", "password": "the password", "mfa_secret": "a 2FA code"}
_CARD = {"card_holder_name": "its holder", "card_number": "its number", "card_cvv": "its CVV",
         "card_full_expiration": "its expiration"}  # fmt: skip


def _placeholders(names: dict[str, str]) -> str:
    return ", ".join(f"{_PLACEHOLDER_OF[field]} for {name}" for field, name in names.items())


@dataclasses.dataclass
class AgentIdentity:
    vault_id: str | None = None
    vault: VaultLookup | None = None
    persona: PersonaRecord | None = None
    personas: PersonaService | None = None
    sites: list[str] = dataclasses.field(default_factory=list)  #: sites the vault has credentials for
    has_card: bool = False
    masker: Masker = dataclasses.field(default_factory=lambda: Masker(()))  #: the account's vault secrets

    @property
    def action_types(self) -> tuple[str, ...]:
        """Actions the model may take beyond the browser's."""
        return ("email_read",) if self.persona is not None else ()

    def prompt(self) -> str:
        """What the system message says of the vault and the persona ("" for neither)."""
        parts: list[str] = []
        if self.persona is not None:
            p = self.persona
            parts.append(
                f"You act for this person; use these details wherever the task or a form asks for them: first name "
                f"{p.first_name}, last name {p.last_name}, e-mail {p.email}, no phone number. To read their mailbox "
                '(a verification code or link sent by e-mail), take the action {"type": "email_read"}: the newest '
                "e-mails are shown in the steps so far."
            )
        if self.vault is not None:
            where = ", ".join(self.sites) if self.sites else "no site yet"
            text = (
                f"A vault holds login credentials for these sites: {where}. You never see them: to type one, fill the "
                f"input with its exact placeholder and the browser types the real value: {_placeholders(_LOGIN)} (a "
                "password only into a password input)."
            )
            if self.has_card:
                text += f" It holds a credit card too: {_placeholders(_CARD)}."
            parts.append(text)
        return "\n".join(parts)

    def mask(self, text: str) -> str:
        """`text` without any secret of the account's vaults or typed from the vault."""
        text = self.masker.text(text)
        return Masker(self.vault.used).text(text) if self.vault is not None else text

    async def read_emails(self) -> dict[str, Any]:
        """`email_read`: the persona's newest e-mails, for the model to read at its next step."""
        assert self.persona is not None and self.personas is not None
        read = await inbox_actions.read_emails(self.personas, self.persona, EMAILS_READ, EMAILS_WITHIN, False)
        emails = (read.markdown or "[]")[:EMAILS_CHARS]
        return {"success": read.success, "message": f"{read.message}: {emails}"}


async def resolve(
    vaults: VaultService,
    personas: PersonaService,
    principal: Principal,
    session: Session,
    vault_id: str | None,
    persona_id: str | None,
) -> AgentIdentity:
    """The agent's vault and persona, checked: the caller's own (another account's: 404), a vault
    agreeing with the persona's and the session's. Without either, the session's vault if any."""
    account = principal.account_id
    persona = await personas.get(account, persona_id) if persona_id else None
    chosen = vault_id or (persona.vault_id if persona is not None else None)
    if persona is not None and persona.vault_id and chosen != persona.vault_id:
        raise InvalidInput(f"vault_id {vault_id} is not the vault of persona {persona.persona_id} ({persona.vault_id})")
    on_session = session.options.get("vault_id")
    if chosen and on_session and chosen != on_session:
        raise InvalidInput(f"vault_id: session {session.session_id} was started with vault {on_session}; use that one")
    chosen = chosen or (str(on_session) if on_session else None)
    identity = AgentIdentity(persona=persona, personas=personas if persona is not None else None)
    if chosen:
        await vaults.get(account, chosen)
        identity.vault_id, identity.vault = chosen, vaults.for_session(account, chosen)
        identity.sites = [c.url for c in await vaults.list_credentials(account, chosen)]
        identity.has_card = await vaults.card_or_none(account, chosen) is not None
        identity.masker = Masker(await vaults.secret_values(account))
    return identity


def attach(identity: AgentIdentity, session: Session) -> None:
    """The session fills from the agent's vault (and masks what it types) from now on, unless it
    already fills from one (the same: `resolve` checked it), which the agent then uses."""
    driver = session.driver
    if identity.vault is None or driver is None:
        return
    if driver.vault is None and isinstance(identity.vault, SessionVault):
        identity.vault.attach(session)
    elif driver.vault is not None:
        identity.vault = driver.vault
