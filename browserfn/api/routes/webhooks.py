"""Webhooks of a function (told when any of its runs ends), their delivery log, and the account's
secret that signs `callback_url` deliveries."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from browserfn.api.deps import PrincipalDep, ServicesDep
from browserfn.automation import Webhook, WebhookDelivery
from browserfn.errors import NotFound
from browserfn.webhooks import EVENT, SIGNATURE_HEADER, TIMESTAMP_HEADER, check_url

router = APIRouter(tags=["webhooks"])
SIGNING = (
    f"Each POST carries `{SIGNATURE_HEADER}: sha256=<hex>`: HMAC-SHA256 with the secret of "
    f"`<{TIMESTAMP_HEADER}>.<raw body>`."
)


class WebhookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="http(s) URL that receives a signed POST when a run of the function ends")


class WebhookResponse(BaseModel):
    webhook_id: str
    function_id: str
    url: str
    created_at: dt.datetime
    secret_prefix: str = Field(description="The first characters of the signing secret")


class WebhookCreated(WebhookResponse):
    secret: str = Field(description="The signing secret (shown at creation only)")


class WebhookList(BaseModel):
    items: list[WebhookResponse]


class DeleteResponse(BaseModel):
    status: Literal["success"]
    message: str


class AttemptResponse(BaseModel):
    at: dt.datetime
    status_code: int | None = Field(description="The receiver's answer, or null if it could not be reached")
    error: str | None


class DeliveryResponse(BaseModel):
    delivery_id: str
    event: str = EVENT
    function_run_id: str
    target: str = Field(description="The webhook id, or 'callback' for the run's callback_url")
    url: str
    status: Literal["pending", "delivered", "failed"]
    attempts: list[AttemptResponse]
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime
    payload: str = Field(description="The exact body that is signed and sent")


class DeliveryList(BaseModel):
    items: list[DeliveryResponse]


class AccountSecretResponse(BaseModel):
    secret: str = Field(description="Signs deliveries to `callback_url`s given on run start. " + SIGNING)


def _webhook(webhook: Webhook) -> WebhookResponse:
    return WebhookResponse(
        webhook_id=webhook.webhook_id,
        function_id=webhook.function_id,
        url=webhook.url,
        created_at=webhook.created_at,
        secret_prefix=webhook.secret[:10],
    )


def _delivery(d: WebhookDelivery) -> DeliveryResponse:
    return DeliveryResponse(
        delivery_id=d.delivery_id,
        function_run_id=d.run_id,
        target=d.target,
        url=d.url,
        status=d.status.value,
        attempts=[AttemptResponse(at=a.at, status_code=a.status_code, error=a.error) for a in d.attempts],
        next_attempt_at=d.next_attempt_at,
        created_at=d.created_at,
        payload=d.payload,
    )


@router.post("/functions/{function_id}/webhooks", description="Add a webhook. " + SIGNING)
async def create_webhook(
    svc: ServicesDep, principal: PrincipalDep, function_id: str, body: WebhookRequest
) -> WebhookCreated:
    await svc.functions.get_owned(principal, function_id)
    check_url(body.url)
    webhook = await svc.webhooks.create_webhook(function_id, principal.account_id, body.url)
    return WebhookCreated(**_webhook(webhook).model_dump(), secret=webhook.secret)


@router.get("/functions/{function_id}/webhooks")
async def list_webhooks(svc: ServicesDep, principal: PrincipalDep, function_id: str) -> WebhookList:
    await svc.functions.get_owned(principal, function_id)
    return WebhookList(items=[_webhook(w) for w in await svc.store.list_webhooks(function_id)])


@router.get("/functions/{function_id}/webhooks/deliveries")
async def list_deliveries(
    svc: ServicesDep,
    principal: PrincipalDep,
    function_id: str,
    limit: int = Query(50, ge=1, le=500, description="Newest deliveries first"),
) -> DeliveryList:
    """The delivery log: every POST owed for the function's ended runs, with each attempt."""
    await svc.functions.get_owned(principal, function_id)
    found = await svc.store.list_deliveries(function_id, limit)
    # Not the callbacks of other accounts' runs of this (shared) function: their payloads are theirs.
    return DeliveryList(items=[_delivery(d) for d in found if d.account_id == principal.account_id])


@router.delete("/functions/{function_id}/webhooks/{webhook_id}")
async def delete_webhook(
    svc: ServicesDep, principal: PrincipalDep, function_id: str, webhook_id: str
) -> DeleteResponse:
    await svc.functions.get_owned(principal, function_id)
    if not await svc.store.delete_webhook(function_id, webhook_id):
        raise NotFound(f"webhook {webhook_id} of function {function_id} not found")
    return DeleteResponse(status="success", message=f"webhook {webhook_id} deleted")


@router.get("/webhooks/secret")
async def read_account_webhook_secret(svc: ServicesDep, principal: PrincipalDep) -> AccountSecretResponse:
    return AccountSecretResponse(secret=await svc.webhooks.account_secret(principal.account_id))
