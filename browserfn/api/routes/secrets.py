"""Secrets of a function (`/functions/{id}/secrets`) and of the account (`/secrets`). Values go
in and never come out: listings give names only; runs get them as environment variables."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from browserfn import secrets
from browserfn.api.deps import PrincipalDep, Services, ServicesDep
from browserfn.errors import NotFound

router = APIRouter(tags=["secrets"])
NamePath = Annotated[str, Path(max_length=128, pattern=secrets.NAME_PATTERN.pattern)]
FunctionIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class SecretValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(
        max_length=secrets.MAX_VALUE_BYTES,
        pattern=r"^[^\x00]*$",
        description="Given to runs as an environment variable (so no NUL character)",
    )


class SecretNames(BaseModel):
    items: list[str] = Field(description="Names only: values are never returned")


class SecretDone(BaseModel):
    status: str
    name: str


async def _owned(svc: ServicesDep, principal: PrincipalDep, function_id: str) -> str:
    await svc.functions.get_owned(principal, function_id)
    return function_id


def _vault(svc: Services) -> secrets.SecretVault:
    return secrets.SecretVault(svc.settings, svc.store)


@router.put("/functions/{function_id}/secrets/{name}")
async def put_function_secret(
    svc: ServicesDep, principal: PrincipalDep, function_id: FunctionIdPath, name: NamePath, body: SecretValue
) -> SecretDone:
    """Set a secret of one function (it overrides an account secret of the same name)."""
    await _owned(svc, principal, function_id)
    await _vault(svc).put(principal.account_id, function_id, name, body.value)
    return SecretDone(status="success", name=name)


@router.get("/functions/{function_id}/secrets")
async def list_function_secrets(svc: ServicesDep, principal: PrincipalDep, function_id: FunctionIdPath) -> SecretNames:
    await _owned(svc, principal, function_id)
    return SecretNames(items=await _vault(svc).names(principal.account_id, function_id))


@router.delete("/functions/{function_id}/secrets/{name}")
async def delete_function_secret(
    svc: ServicesDep, principal: PrincipalDep, function_id: FunctionIdPath, name: NamePath
) -> SecretDone:
    await _owned(svc, principal, function_id)
    if not await _vault(svc).delete(principal.account_id, function_id, name):
        raise NotFound(f"function {function_id} has no secret {name!r}")
    return SecretDone(status="success", name=name)


@router.put("/secrets/{name}")
async def put_account_secret(
    svc: ServicesDep, principal: PrincipalDep, name: NamePath, body: SecretValue
) -> SecretDone:
    """Set a secret every function of the account receives."""
    await _vault(svc).put(principal.account_id, None, name, body.value)
    return SecretDone(status="success", name=name)


@router.get("/secrets")
async def list_account_secrets(svc: ServicesDep, principal: PrincipalDep) -> SecretNames:
    return SecretNames(items=await _vault(svc).names(principal.account_id, None))


@router.delete("/secrets/{name}")
async def delete_account_secret(svc: ServicesDep, principal: PrincipalDep, name: NamePath) -> SecretDone:
    if not await _vault(svc).delete(principal.account_id, None, name):
        raise NotFound(f"the account has no secret {name!r}")
    return SecretDone(status="success", name=name)
