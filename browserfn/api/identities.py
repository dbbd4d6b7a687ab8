"""The vault and persona services of a request, built on the server's store (cheap: they hold
no state of their own beyond the secrets key, read once per request)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Depends

from browserfn import inbox_actions
from browserfn.api.deps import PrincipalDep, Services, ServicesDep
from browserfn.browser.sessions import Session
from browserfn.errors import Forbidden, InvalidInput
from browserfn.models import Principal, Scope
from browserfn.personas import PersonaService
from browserfn.secrets import Masker
from browserfn.vaults import VaultService


def vault_service(svc: Services) -> VaultService:
    return VaultService(svc.settings, svc.store)


def persona_service(svc: Services) -> PersonaService:
    return PersonaService(svc.settings, svc.store, vault_service(svc))


async def _vaults(svc: ServicesDep) -> VaultService:
    return vault_service(svc)


async def _personas(svc: ServicesDep) -> PersonaService:
    return persona_service(svc)


VaultsDep = Annotated[VaultService, Depends(_vaults)]
PersonasDep = Annotated[PersonaService, Depends(_personas)]
__all__ = ["PersonasDep", "PrincipalDep", "VaultsDep", "persona_service", "vault_service"]


async def check_session_vault(svc: Services, account_id: str, vault_id: Any) -> None:
    """A session's `vault_id` must be one of its account's vaults (else 404, as any other's)."""
    if not isinstance(vault_id, str) or not vault_id:
        raise InvalidInput("vault_id must be a vault's id")
    await vault_service(svc).get(account_id, vault_id)


def attach_vault(svc: Services, session: Session) -> None:
    """Give the session's actions its vault (once), and mask what they type from it in its replay."""
    vault_id = session.options.get("vault_id")
    if not vault_id or session.driver is None or session.driver.vault is not None:
        return
    vault_service(svc).for_session(session.account_id, str(vault_id)).attach(session)


def mask_typed(session: Session, message: str, data: str | None) -> tuple[str, str | None]:
    """An action's answer with what the session typed from its vault masked (`***`)."""
    vault = session.driver.vault if session.driver is not None else None
    if vault is None or not vault.used:
        return message, data
    masker = Masker(vault.used)
    return masker.text(message), None if data is None else masker.text(data)


async def inbox_action(svc: Services, principal: Principal, session: Session, action: dict[str, Any]) -> dict[str, Any]:
    """`email_read`, `email_verification_read`, `sms_read`: Notte's execute response, read from
    the persona's inbox (no browser work). They read the account's personas, as `/personas` does:
    a guest run's key (it lacks Scope.BROWSER_DATA) is refused, although the session is its own."""
    if Scope.BROWSER_DATA not in principal.scopes:
        raise Forbidden(
            f"{action.get('type')}: a run of another account's shared function cannot read this account's "
            "personas' e-mail or SMS"
        )
    started = dt.datetime.now(dt.UTC)
    vault_id = session.options.get("vault_id")
    outcome = await inbox_actions.execute(
        svc.settings, persona_service(svc), session.account_id, str(vault_id) if vault_id else None, action
    )
    session.steps += 1
    structured = None if outcome.structured is None else {"success": True, "data": outcome.structured}
    return {
        "action": action,
        "success": outcome.success,
        "message": outcome.message,
        "data": None if outcome.markdown is None else {"markdown": outcome.markdown, "structured": structured},
        "started_at": started.isoformat(),
        "ended_at": dt.datetime.now(dt.UTC).isoformat(),
        "action_executed": outcome.success,
    }
