"""Webhooks: when a run ends, a signed POST to each of its function's webhooks and to the run's own
`callback_url`, retried with exponential backoff, every attempt kept in the delivery log.

Signature: `X-Browserfn-Signature: sha256=<hex>`, the HMAC-SHA256 with the webhook's secret (the
account's webhook secret for a `callback_url`) of `<timestamp>.<body>`, where `<timestamp>` is the
`X-Browserfn-Timestamp` header (Unix seconds). A receiver recomputes it and refuses old timestamps.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable

import httpx

from browserfn import tokens, wire
from browserfn.automation import CALLBACK_TARGET, DeliveryAttempt, DeliveryStatus, Webhook, WebhookDelivery
from browserfn.config import Settings
from browserfn.errors import InvalidInput
from browserfn.models import Run, utcnow
from browserfn.netpolicy import AddressPolicy
from browserfn.store.base import Store

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Browserfn-Signature"
TIMESTAMP_HEADER = "X-Browserfn-Timestamp"
EVENT = "run.ended"
#: A claimed delivery is someone else's for this long (covers the request's own timeout).
LEASE_MARGIN_S = 5.0
#: Deliveries attempted per pass.
BATCH = 20
#: What the delivery log says of any failure to get an HTTP answer (refused, timed out, reset, not
#: HTTP...): one message, so that the log cannot tell a tenant which ports are open where.
UNREACHABLE = "the receiver could not be reached or gave no valid HTTP answer"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def payload(run: Run, delivery_id: str) -> str:
    """The body sent for an ended run: its FunctionRunResponse plus what an operator wants to know."""
    return json.dumps(
        {
            "event": EVENT,
            "delivery_id": delivery_id,
            **wire.function_run_response(run),
            "reason": run.reason,
            "origin": run.origin,
            "variables": run.variables,
            "created_at": run.created_at.isoformat(),
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        },
        ensure_ascii=False,
    )


class WebhookDispatcher:
    def __init__(
        self,
        store: Store,
        *,
        max_attempts: int,
        backoff_base_s: float,
        backoff_max_s: float,
        request_timeout_s: float,
        poll_s: float,
        policy: AddressPolicy | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._store = store
        #: Where deliveries may go (public addresses unless the operator allows more).
        self.policy = policy if policy is not None else AddressPolicy()
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._timeout_s = request_timeout_s
        self._poll_s = poll_s
        self._clock = clock
        self._wake = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> WebhookDispatcher:
        return cls(
            store,
            max_attempts=settings.webhook_max_attempts,
            backoff_base_s=settings.webhook_backoff_base_s,
            backoff_max_s=settings.webhook_backoff_max_s,
            request_timeout_s=settings.webhook_timeout_s,
            poll_s=settings.webhook_poll_s,
            policy=AddressPolicy(settings.outbound_allowed_hosts),
        )

    async def check_url(self, url: str) -> None:
        """Raise InvalidInput unless `url` is an absolute http(s) URL whose host the policy allows."""
        try:
            await self.policy.check_url(url)
        except InvalidInput as exc:
            raise InvalidInput(f"webhook URL refused: {exc.message}") from exc

    # -- owed deliveries --------------------------------------------------------------------------
    async def create_webhook(self, function_id: str, account_id: str, url: str) -> Webhook:
        webhook = Webhook(tokens.new_id(), function_id, account_id, url, new_secret(), utcnow())
        return await self._store.create_webhook(webhook)

    async def account_secret(self, account_id: str) -> str:
        return await self._store.account_webhook_secret(account_id, new_secret())

    async def register_callback(self, run_id: str, url: str) -> None:
        """Remember a run's `callback_url`. A run may end before this is stored, so check."""
        await self._store.set_run_callback(run_id, url)
        run = await self._store.get_run(run_id)
        if run is not None and not run.state.is_active:
            await self.run_ended(run_id, run)

    async def run_ended(self, run_id: str, ended: Run | None) -> None:
        """The executor's run-ended listener: owe one delivery per receiver."""
        run = ended or await self._store.get_run(run_id)
        if run is None:
            return
        webhooks, callback = await self._store.run_receivers(run.function_id, run_id)
        # A function's webhooks hear only of its own account's runs: another account running a
        # shared function does not send its variables and result to the author.
        receivers = [(w.webhook_id, w.url, w.secret) for w in webhooks if w.account_id == run.account_id]
        if callback is not None:
            receivers.append((CALLBACK_TARGET, callback, await self.account_secret(run.account_id)))
        now = self._clock()
        deliveries = []
        for target, url, secret in receivers:
            delivery_id = tokens.new_id()
            deliveries.append(
                WebhookDelivery(
                    delivery_id=delivery_id,
                    run_id=run_id,
                    function_id=run.function_id,
                    account_id=run.account_id,
                    target=target,
                    url=url,
                    secret=secret,
                    payload=payload(run, delivery_id),
                    status=DeliveryStatus.PENDING,
                    attempts=(),
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        if await self._store.enqueue_deliveries(deliveries):
            self._wake.set()

    # -- sending ----------------------------------------------------------------------------------
    def start(self) -> None:
        # No proxies from the environment: the connection goes to the address the policy checked.
        self._client = httpx.AsyncClient(timeout=self._timeout_s, follow_redirects=False, trust_env=False)
        self._task = asyncio.create_task(self._loop(), name="webhooks")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _loop(self) -> None:
        while True:
            try:
                while await self.deliver_due():
                    pass
            except NotImplementedError as exc:
                log.warning("webhooks are off: %s", exc)
                return
            except Exception:  # a bad pass must not end deliveries for good
                log.exception("webhook delivery pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)
            self._wake.clear()

    async def deliver_due(self) -> int:
        """Attempt every delivery that is due; returns how many were attempted."""
        lease_s = self._timeout_s + LEASE_MARGIN_S
        due = await self._store.claim_due_deliveries(self._clock(), lease_s, BATCH)
        await asyncio.gather(*(self._attempt(d) for d in due))
        return len(due)

    def backoff_s(self, attempts: int) -> float:
        """Wait after the `attempts`-th failed attempt: base, twice that, four times... capped."""
        return float(min(self._backoff_base_s * 2 ** (attempts - 1), self._backoff_max_s))

    async def _attempt(self, delivery: WebhookDelivery) -> None:
        assert self._client is not None, "dispatcher not started"
        body = delivery.payload.encode()
        timestamp = int(self._clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "browserfn-webhooks",
            SIGNATURE_HEADER: sign(delivery.secret, timestamp, body),
            TIMESTAMP_HEADER: str(timestamp),
            "X-Browserfn-Event": EVENT,
            "X-Browserfn-Delivery": delivery.delivery_id,
        }
        status_code: int | None = None
        error: str | None = None
        detail: str | None = None
        try:
            response = await self._post(delivery.url, body, headers)
            status_code = response.status_code
            if not response.is_success:
                error = f"receiver answered {status_code}"
        except InvalidInput as exc:  # the address is no longer allowed (its name resolves elsewhere now)
            error = detail = exc.message
        except (httpx.HTTPError, TimeoutError) as exc:
            error = UNREACHABLE
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        now = self._clock()
        attempts = len(delivery.attempts) + 1
        if error is None:
            status, next_at = DeliveryStatus.DELIVERED, None
        elif attempts >= self._max_attempts:
            status, next_at = DeliveryStatus.FAILED, None
        else:
            status, next_at = DeliveryStatus.PENDING, now + dt.timedelta(seconds=self.backoff_s(attempts))
        await self._store.record_delivery_attempt(
            delivery.delivery_id, DeliveryAttempt(now, status_code, error), status, next_at
        )
        if error is not None:
            log.info(
                "webhook %s to %s: attempt %d failed: %s", delivery.delivery_id, delivery.url, attempts, detail or error
            )

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST to `url` at an address its host resolves to now, checked by the policy: the
        connection goes to that address (the name is not resolved again, so a DNS answer that
        changes meanwhile cannot redirect it); the Host header and TLS name stay the URL's."""
        assert self._client is not None, "dispatcher not started"
        async with asyncio.timeout(self._timeout_s):  # a resolver that does not answer is a failure too
            target = await self.policy.check_url(url)
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise InvalidInput(f"URL {url!r} is not valid: {exc}") from exc
        headers = {**headers, "Host": parsed.netloc.decode("ascii")}
        failure: httpx.HTTPError | None = None
        for address in target.addresses:
            try:
                return await self._client.post(
                    parsed.copy_with(host=address),
                    content=body,
                    headers=headers,
                    extensions={"sni_hostname": target.host},
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # the next address may answer
                failure = exc
        assert failure is not None
        raise failure
