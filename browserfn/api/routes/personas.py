"""Notte's personas API: identities with an inbox this server receives mail for (see mail.py).
Phone numbers and SMS answer 501: they need a provider this server does not have."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from browserfn.api.access import requires
from browserfn.api.deps import ServicesDep
from browserfn.api.identities import PersonasDep, PrincipalDep
from browserfn.api.paging import offset, page_of
from browserfn.api.routes.functions import PageQuery, PageSizeQuery
from browserfn.models import Scope
from browserfn.personas import EmailRecord, PersonaRecord, sms_not_available
from browserfn.vaults import MAX_NAME_CHARS, NOT_BLANK_PATTERN

# A run of the account may use and keep its identities (a sign-up stores what it made); a guest
# run (another account's shared function) may not.
router = APIRouter(prefix="/personas", tags=["personas"], dependencies=[requires(Scope.BROWSER_DATA)])
PersonaIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
LimitQuery = Annotated[int, Query(ge=1, le=100, description="Maximum number of messages")]
WithinQuery = Annotated[
    dt.timedelta | None, Query(description="Only messages received this recently (ISO 8601 duration or seconds)")
]


class PersonaCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    create_vault: bool = False
    create_phone_number: bool = False
    email_provider: Literal["notte"] = Field(
        default="notte", description="Only 'notte': the mailbox is on this server's mail domain"
    )
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME_CHARS, pattern=NOT_BLANK_PATTERN)


class PersonaUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)


def persona_response(persona: PersonaRecord) -> dict[str, Any]:
    return {
        "persona_id": persona.persona_id,
        "status": persona.status,
        "first_name": persona.first_name,
        "last_name": persona.last_name,
        "email": persona.email,
        "internal_email": persona.internal_email,
        "vault_id": persona.vault_id,
        "phone_number": None,
        "email_provider": "notte",
        "name": persona.name,
        "created_at": persona.created_at.isoformat(),
    }


def email_response(email: EmailRecord) -> dict[str, Any]:
    return {
        "subject": email.subject,
        "email_id": email.email_id,
        "created_at": email.received_at.isoformat(),
        "sender_email": email.sender_email,
        "sender_name": email.sender_name,
        "text_content": email.text_content,
        "html_content": email.html_content,
    }


@router.post("/create")
async def create_persona(
    personas: PersonasDep, principal: PrincipalDep, body: PersonaCreateRequest | None = None
) -> dict[str, Any]:
    """A persona with an address on the operator's mail domain (501 without one), and a vault
    of its own with `create_vault`."""
    body = body or PersonaCreateRequest()
    persona = await personas.create(
        principal.account_id,
        body.name,
        create_vault=body.create_vault,
        create_phone_number=body.create_phone_number,
    )
    return persona_response(persona)


@router.get("")
@router.get("/", include_in_schema=False)
async def list_personas(
    personas: PersonasDep,
    principal: PrincipalDep,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 10,
    only_active: Annotated[bool, Query(description="Accepted for Notte's clients: every persona is active")] = True,
) -> dict[str, Any]:
    found = await personas.list_personas(principal.account_id, offset(page, page_size), page_size + 1)
    return page_of(found, page, page_size, persona_response)


@router.get("/{persona_id}")
async def get_persona(personas: PersonasDep, principal: PrincipalDep, persona_id: PersonaIdPath) -> dict[str, Any]:
    return persona_response(await personas.get(principal.account_id, persona_id))


@router.patch("/{persona_id}")
async def update_persona(
    personas: PersonasDep, principal: PrincipalDep, persona_id: PersonaIdPath, body: PersonaUpdateRequest
) -> dict[str, Any]:
    return persona_response(await personas.rename(principal.account_id, persona_id, body.name))


@router.delete("/{persona_id}")
async def delete_persona(personas: PersonasDep, principal: PrincipalDep, persona_id: PersonaIdPath) -> dict[str, str]:
    """The persona, its mail and its vault; its addresses refuse mail from then on."""
    await personas.delete(principal.account_id, persona_id)
    return {"status": "success", "message": "Persona deleted successfully"}


@router.get("/{persona_id}/emails")
async def list_emails(
    personas: PersonasDep,
    principal: PrincipalDep,
    persona_id: PersonaIdPath,
    limit: LimitQuery = 10,
    timedelta: WithinQuery = None,
    only_unread: bool = False,
) -> list[dict[str, Any]]:
    """The persona's received mail, newest first; those listed are marked read."""
    found = await personas.emails(
        principal.account_id, persona_id, limit=limit, within=timedelta, only_unread=only_unread
    )
    return [email_response(e) for e in found]


@router.get("/{persona_id}/sms")
async def list_sms(
    svc: ServicesDep, personas: PersonasDep, principal: PrincipalDep, persona_id: PersonaIdPath
) -> list[dict[str, Any]]:
    await personas.get(principal.account_id, persona_id)
    raise sms_not_available(svc.settings)


@router.post("/{persona_id}/sms/number")
async def create_number(
    svc: ServicesDep, personas: PersonasDep, principal: PrincipalDep, persona_id: PersonaIdPath
) -> dict[str, Any]:
    await personas.get(principal.account_id, persona_id)
    raise sms_not_available(svc.settings)


@router.delete("/{persona_id}/sms/number")
async def delete_number(
    svc: ServicesDep, personas: PersonasDep, principal: PrincipalDep, persona_id: PersonaIdPath
) -> dict[str, Any]:
    await personas.get(principal.account_id, persona_id)
    raise sms_not_available(svc.settings)
