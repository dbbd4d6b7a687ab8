"""Notte's vaults API: vaults, their credentials per site and their credit card. Secrets go in
sealed and come out only to their own account's callers (`GET .../credentials?url=`, `GET
.../card`); listings give sites, e-mails and usernames, never passwords."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from browserfn.api.access import requires
from browserfn.api.identities import PrincipalDep, VaultsDep
from browserfn.api.paging import offset, page_of
from browserfn.api.routes.functions import PageQuery, PageSizeQuery
from browserfn.models import Scope
from browserfn.vaults import (
    MAX_NAME_CHARS,
    NOT_BLANK_PATTERN,
    SITE_URL_PATTERN,
    CredentialRecord,
    Credentials,
    CreditCard,
    VaultRecord,
)

# A run of the account may use and keep its identities (a sign-up stores what it made); a guest
# run (another account's shared function) may not.
router = APIRouter(prefix="/vaults", tags=["vaults"], dependencies=[requires(Scope.BROWSER_DATA)])
VaultIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
_SITE_URL_DOC = "A URL of the site (or its host name): credentials are kept per registrable domain"
SiteUrl = Annotated[str, Field(min_length=1, max_length=2048, pattern=SITE_URL_PATTERN, description=_SITE_URL_DOC)]
UrlQuery = Annotated[str, Query(min_length=1, max_length=2048, pattern=SITE_URL_PATTERN, description=_SITE_URL_DOC)]


class VaultCreateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="default", min_length=1, max_length=MAX_NAME_CHARS, pattern=NOT_BLANK_PATTERN)


class VaultUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=NOT_BLANK_PATTERN)


class AddCredentialsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: SiteUrl
    credentials: Credentials


class AddCreditCardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    credit_card: CreditCard


def vault_response(vault: VaultRecord) -> dict[str, Any]:
    return {
        "name": vault.name,
        "created_at": vault.created_at.isoformat(),
        "vault_id": vault.vault_id,
        "for_persona": vault.for_persona,
    }


def _listed(credential: CredentialRecord) -> dict[str, Any]:
    return {"url": credential.url, "email": credential.email, "username": credential.username}


def _done(message: str) -> dict[str, str]:
    return {"status": "success", "message": message}


@router.post("/create")
async def create_vault(vaults: VaultsDep, principal: PrincipalDep, body: VaultCreateRequest | None = None) -> dict:
    vault = await vaults.create(principal.account_id, (body or VaultCreateRequest()).name)
    return vault_response(vault)


@router.get("")
@router.get("/", include_in_schema=False)
async def list_vaults(
    vaults: VaultsDep,
    principal: PrincipalDep,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 10,
    only_active: Annotated[bool, Query(description="Accepted for Notte's clients: no vault is inactive")] = True,
) -> dict[str, Any]:
    """The caller's vaults, newest first."""
    found = await vaults.list_vaults(principal.account_id, offset(page, page_size), page_size + 1)
    return page_of(found, page, page_size, vault_response)


@router.get("/{vault_id}")
async def list_credentials(vaults: VaultsDep, principal: PrincipalDep, vault_id: VaultIdPath) -> dict[str, Any]:
    """The sites the vault holds credentials for, with their e-mail or username (no secrets)."""
    found = await vaults.list_credentials(principal.account_id, vault_id)
    return {"credentials": [_listed(c) for c in found]}


@router.patch("/{vault_id}")
async def update_vault(
    vaults: VaultsDep, principal: PrincipalDep, vault_id: VaultIdPath, body: VaultUpdateRequest
) -> dict[str, Any]:
    return vault_response(await vaults.rename(principal.account_id, vault_id, body.name))


@router.delete("/{vault_id}")
async def delete_vault(vaults: VaultsDep, principal: PrincipalDep, vault_id: VaultIdPath) -> dict[str, str]:
    """The vault with its credentials and card."""
    await vaults.delete(principal.account_id, vault_id)
    return _done("Vault deleted successfully")


@router.post("/{vault_id}/credentials")
async def add_credentials(
    vaults: VaultsDep, principal: PrincipalDep, vault_id: VaultIdPath, body: AddCredentialsRequest
) -> dict[str, str]:
    """Set the credentials of the site of `url` (replacing the site's earlier ones)."""
    await vaults.add_credentials(principal.account_id, vault_id, body.url, body.credentials.model_dump())
    return {"status": "success"}


@router.get("/{vault_id}/credentials")
async def get_credentials(
    vaults: VaultsDep, principal: PrincipalDep, vault_id: VaultIdPath, url: UrlQuery
) -> dict[str, Any]:
    """The site's whole credentials, secrets included (404 if the vault holds none for it)."""
    return {"credentials": await vaults.credentials(principal.account_id, vault_id, url)}


@router.delete("/{vault_id}/credentials")
async def delete_credentials(
    vaults: VaultsDep, principal: PrincipalDep, vault_id: VaultIdPath, url: UrlQuery
) -> dict[str, str]:
    await vaults.delete_credentials(principal.account_id, vault_id, url)
    return _done("Credentials deleted successfully")


@router.post("/{vault_id}/card")
async def set_card(
    vaults: VaultsDep, principal: PrincipalDep, vault_id: VaultIdPath, body: AddCreditCardRequest
) -> dict[str, str]:
    """The vault's one card (replacing an earlier one)."""
    await vaults.set_card(principal.account_id, vault_id, body.credit_card.model_dump())
    return {"status": "success"}


@router.get("/{vault_id}/card")
async def get_card(vaults: VaultsDep, principal: PrincipalDep, vault_id: VaultIdPath) -> dict[str, Any]:
    return {"credit_card": await vaults.card(principal.account_id, vault_id)}


@router.delete("/{vault_id}/card")
async def delete_card(vaults: VaultsDep, principal: PrincipalDep, vault_id: VaultIdPath) -> dict[str, str]:
    await vaults.delete_card(principal.account_id, vault_id)
    return _done("Credit card deleted successfully")
