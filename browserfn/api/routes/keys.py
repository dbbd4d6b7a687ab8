"""API keys of the caller's account: create (the secret is shown once), list (prefix only), revoke."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from browserfn import tokens
from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.errors import NotFound
from browserfn.models import ApiKey

router = APIRouter(prefix="/keys", tags=["keys"])
KeyIdPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class CreateKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("default", min_length=1, max_length=100, pattern=r"^[^\x00]+$", description="A label for the key")


class KeyRecord(BaseModel):
    key_id: str
    name: str
    prefix: str = Field(description="The key's first characters: enough to recognise it, useless to use it")
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None

    @classmethod
    def of(cls, key: ApiKey) -> KeyRecord:
        return cls(
            key_id=key.key_id, name=key.name, prefix=key.prefix, created_at=key.created_at, revoked_at=key.revoked_at
        )


class CreatedKey(KeyRecord):
    key: str = Field(description="The secret itself: shown this once, stored only as a hash")


class KeyList(BaseModel):
    items: list[KeyRecord]


class Revoked(BaseModel):
    status: str
    message: str


@router.post("")
async def create_key(svc: ServicesDep, principal: PrincipalDep, body: CreateKeyRequest) -> CreatedKey:
    """A new key of the caller's account."""
    secret = tokens.new_api_key()
    key = await svc.store.create_api_key(
        principal.account_id, body.name, tokens.hash_secret(secret), tokens.shown_prefix(secret)
    )
    return CreatedKey(**KeyRecord.of(key).model_dump(), key=secret)


@router.get("")
async def list_keys(svc: ServicesDep, principal: PrincipalDep) -> KeyList:
    """The account's keys, revoked ones included, without their secrets."""
    return KeyList(items=[KeyRecord.of(k) for k in await svc.store.list_api_keys(principal.account_id)])


@router.delete("/{key_id}")
async def revoke_key(svc: ServicesDep, principal: PrincipalDep, key_id: KeyIdPath) -> Revoked:
    """Revoke a key: every request with it fails with 401 from now on."""
    if not await svc.store.revoke_api_key(principal.account_id, key_id):
        raise NotFound(f"key {key_id} not found or already revoked")
    return Revoked(status="success", message=f"key {key_id} revoked")
