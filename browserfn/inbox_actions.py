"""The session actions that read a persona's inbox instead of acting on the browser:
`email_read` (the persona whose vault the session uses), `email_verification_read` (the code or
link of the newest message from `sender_domain` in the mailbox `mailbox_id`: a persona's id or
address), and `sms_read` (501: no SMS provider)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from browserfn.config import Settings
from browserfn.errors import InvalidInput
from browserfn.models import utcnow
from browserfn.personas import EmailRecord, PersonaRecord, PersonaService, sms_not_available
from browserfn.verification import verification_of

TYPES = frozenset({"email_read", "email_verification_read", "sms_read"})


class _EmailRead(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: int = Field(default=10, ge=1, le=100)
    timedelta: dt.timedelta | None = dt.timedelta(minutes=5)
    only_unread: bool = True


class _VerificationRead(BaseModel):
    model_config = ConfigDict(extra="ignore")
    mailbox_id: str = Field(min_length=1, max_length=320)
    sender_domain: str = Field(min_length=1, max_length=253)
    max_age_seconds: int = Field(default=300, ge=30, le=900)


@dataclasses.dataclass(frozen=True)
class InboxOutcome:
    success: bool
    message: str
    markdown: str | None = None
    structured: dict[str, Any] | None = None


def _parse(model: type[BaseModel], action: dict[str, Any]) -> Any:
    try:
        return model.model_validate(action)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"{action.get('type')}: {problems}") from exc


def _email_data(email: EmailRecord) -> dict[str, Any]:
    return {
        "email_id": email.email_id,
        "subject": email.subject,
        "sender_email": email.sender_email,
        "sender_name": email.sender_name,
        "created_at": email.received_at.isoformat(),
        "text_content": email.text_content,
    }


def _from_domain(email: EmailRecord, domain: str) -> bool:
    sender = (email.sender_email or "").lower().rpartition("@")[2]
    domain = domain.lower().strip().lstrip("@")
    return sender == domain or sender.endswith("." + domain)


async def read_emails(
    personas: PersonaService, persona: PersonaRecord, limit: int, within: dt.timedelta | None, only_unread: bool
) -> InboxOutcome:
    """The persona's newest e-mails (newest first), as `email_read` answers them."""
    found = await personas.emails(
        persona.account_id, persona.persona_id, limit=limit, within=within, only_unread=only_unread
    )
    emails = [_email_data(e) for e in found]
    return InboxOutcome(True, f"Read {len(emails)} emails from {persona.email}", json.dumps(emails), {"emails": emails})


async def execute(
    settings: Settings, personas: PersonaService, account_id: str, vault_id: str | None, action: dict[str, Any]
) -> InboxOutcome:
    kind = str(action.get("type"))
    if kind == "sms_read":
        raise sms_not_available(settings)
    if kind == "email_read":
        request: _EmailRead = _parse(_EmailRead, action)
        persona = await personas.of_vault(account_id, vault_id) if vault_id else None
        if persona is None:
            return InboxOutcome(False, "email_read needs a session started with the vault_id of a persona's vault")
        return await read_emails(personas, persona, request.limit, request.timedelta, request.only_unread)
    verification: _VerificationRead = _parse(_VerificationRead, action)
    persona = await personas.resolve(account_id, verification.mailbox_id)
    recent = await personas.emails(
        account_id, persona.persona_id, limit=100, within=dt.timedelta(seconds=verification.max_age_seconds),
        only_unread=False,
    )  # fmt: skip
    cutoff = utcnow() - dt.timedelta(seconds=verification.max_age_seconds)
    matching = [e for e in recent if _from_domain(e, verification.sender_domain) and e.received_at >= cutoff]
    if not matching:
        return InboxOutcome(
            False,
            f"no email from {verification.sender_domain} in the last {verification.max_age_seconds} s "
            f"for {persona.email}",
        )
    newest = matching[0]
    verified = verification_of(newest)
    if verified.code is None and verified.link is None:
        return InboxOutcome(False, f"the newest email from {verification.sender_domain} holds no code or link")
    data = {"code": verified.code, "link": verified.link, "email_id": newest.email_id, "subject": newest.subject}
    message = "Found the verification " + ("code" if verified.code else "link")
    return InboxOutcome(True, message, verified.code or verified.link, data)
