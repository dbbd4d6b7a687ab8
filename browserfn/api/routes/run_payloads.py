"""Large run payloads: what the SDK does when a reported run's result, logs or variables exceed
its inline limit (1 MiB). It asks for an upload (`POST .../payloads/{field}/upload` with the
size and SHA-256), PUTs the bytes to the signed link it gets (with no API key), then reports the
run with a reference in `payloads`; the server checks the bytes against the reference and
records the field as if it had been sent inline. `GET .../payloads/{field}` gives a field's JSON.

The SDK sends payloads only to an HTTPS link: the server's `public_url` must be https (behind a
TLS-terminating proxy). Payloads are kept in the store until the run is reported, so any API
server may take the upload and the report; one payload may be as large as `max_body_bytes`."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from browserfn import tokens
from browserfn.api.access import requires
from browserfn.api.deps import LinkBaseDep, PrincipalDep, ServicesDep
from browserfn.api.routes.session_data import signed
from browserfn.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from browserfn.models import Principal, RunState, Scope
from browserfn.store.base import Store
from browserfn.store.ops import run_payloads as slots
from browserfn.wire import result_text

router = APIRouter(prefix="/functions/{function_id}/runs/{run_id}/payloads", tags=["runs"])
Field_ = Literal["result", "logs", "variables"]
LINK_TTL_S = 3600
SHA256_B64 = r"^[A-Za-z0-9+/]{43}=$"
UPLOAD_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class PayloadUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size_bytes: int = Field(gt=0)
    sha256: str = Field(pattern=SHA256_B64, description="base64 of the payload's SHA-256 digest")


class PayloadReference(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size_bytes: int = Field(gt=0)
    sha256: str = Field(pattern=SHA256_B64)
    upload_id: str = Field(pattern=UPLOAD_ID)


def _parts(function_id: str, run_id: str, field: str, upload_id: str) -> tuple[str, ...]:
    return ("run-payload", function_id, run_id, field, upload_id)


@router.post("/{field}/upload")
async def prepare_upload(
    svc: ServicesDep,
    principal: PrincipalDep,
    base_url: LinkBaseDep,
    function_id: str,
    run_id: str,
    field: Field_,
    body: PayloadUploadRequest,
) -> dict[str, Any]:
    """An upload slot for one field of a created run, and the signed link to PUT its bytes to."""
    run = await svc.runs.get(principal, function_id, run_id)
    if run.state is not RunState.CREATED:
        raise Conflict(f"run {run_id} is {run.state.value}: payloads are for reporting a created run")
    limit = svc.settings.max_body_bytes
    if body.size_bytes > limit:
        raise PayloadTooLarge(f"a run payload may be at most {limit} bytes (max_body_bytes), not {body.size_bytes}")
    upload_id = str(uuid.uuid4())
    account = principal.account_id
    await svc.store.call(slots.create, upload_id, run_id, account, field, body.size_bytes, body.sha256)
    expires = int(time.time()) + LINK_TTL_S
    signature = tokens.sign(
        await svc.store.server_secret(), *_parts(function_id, run_id, field, upload_id), str(expires)
    )
    url = f"{base_url}/functions/{function_id}/runs/{run_id}/payloads/{field}/uploads/{upload_id}"
    return {
        "reference": {"size_bytes": body.size_bytes, "sha256": body.sha256, "upload_id": upload_id},
        "url": f"{url}?expires={expires}&signature={signature}",
        "headers": {"Content-Type": "application/octet-stream"},
    }


@router.put("/{field}/uploads/{upload_id}")
async def receive_upload(
    svc: ServicesDep,
    request: Request,
    function_id: str,
    run_id: str,
    field: Field_,
    upload_id: str,
    expires: int = 0,
    signature: str = "",
) -> dict[str, Any]:
    """The payload's bytes, behind the signed link (no key: the signature is the credential)."""
    secret = await svc.store.server_secret()
    valid = signed(secret, signature, expires, *_parts(function_id, run_id, field, upload_id))
    found = await svc.store.call(slots.get, upload_id) if valid and re.match(UPLOAD_ID, upload_id) else None
    if found is None or found.run_id != run_id or found.field != field:
        raise NotFound("no such payload upload (the link is wrong or expired)")
    content = await request.body()
    _check(content, found.size_bytes, found.sha256)
    if not await svc.store.call(slots.fill, upload_id, content):
        raise Conflict(f"payload upload {upload_id} was already received")
    return {"success": True, "upload_id": upload_id}


def _check(content: bytes, size_bytes: int, sha256: str) -> None:
    if len(content) != size_bytes:
        raise InvalidInput(f"the payload is {len(content)} bytes, not the {size_bytes} announced")
    if base64.b64encode(hashlib.sha256(content).digest()).decode() != sha256:
        raise InvalidInput("the payload's SHA-256 is not the one announced")


async def resolve(store: Store, principal: Principal, run_id: str, payloads: Mapping[Any, Any]) -> dict[str, Any]:
    """The fields a report's `payloads` stand for, from their uploads (each checked again)."""
    fields: dict[str, Any] = {}
    for field, raw in payloads.items():
        reference = PayloadReference.model_validate(raw)
        found = await store.call(slots.get, reference.upload_id)
        if found is None or found.run_id != run_id or found.account_id != principal.account_id or found.field != field:
            raise InvalidInput(f"payloads.{field}: no upload {reference.upload_id} for this run's {field}")
        if found.content is None:
            raise InvalidInput(f"payloads.{field}: upload {reference.upload_id} has not been received")
        if (found.size_bytes, found.sha256) != (reference.size_bytes, reference.sha256):
            raise InvalidInput(f"payloads.{field}: the reference does not match upload {reference.upload_id}")
        _check(found.content, reference.size_bytes, reference.sha256)
        try:
            fields[field] = json.loads(found.content)
        except ValueError as exc:
            raise InvalidInput(f"payloads.{field}: the upload is not JSON ({exc})") from None
    return fields


async def discard(store: Store, run_id: str) -> None:
    await store.call(slots.delete_for_run, run_id)


@router.get("/{field}", dependencies=[requires(Scope.READ_OWN_RUN)])
async def download_payload(
    svc: ServicesDep, principal: PrincipalDep, function_id: str, run_id: str, field: Field_
) -> Response:
    """One field of a run as JSON: its result (the JSON text `GET run` gives), logs or variables."""
    run = await svc.runs.get(principal, function_id, run_id)
    value: Any
    if field == "result":
        value = result_text(run)
    elif field == "variables":
        value = run.variables
    else:
        value = await svc.runs.logs(run_id)
    if value is None:
        raise NotFound(f"run {run_id} has no {field}")
    return Response(json.dumps(value, ensure_ascii=False), media_type="application/json")
