"""The webhooks side of the AutomationStore contract, one suite for every backend (see
store/automation.py): whole records, idempotent enqueueing, leases two dispatchers never share."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from browserfn.automation import CALLBACK_TARGET, DeliveryAttempt, DeliveryStatus, Webhook, WebhookDelivery
from browserfn.store.base import Store
from browserfn.tokens import new_id

NOW = dt.datetime(2026, 3, 1, 9, 0, 0, 125_000, tzinfo=dt.UTC)
LEASE_S = 30.0


def _webhook(function_id: str, account_id: str, seconds: int) -> Webhook:
    made = NOW + dt.timedelta(seconds=seconds)
    return Webhook(new_id(), function_id, account_id, f"https://example.test/{seconds}", f"whsec_{seconds}", made)


def _delivery(run_id: str, target: str, *, due_in_s: float = 0.0) -> WebhookDelivery:
    return WebhookDelivery(
        delivery_id=new_id(),
        run_id=run_id,
        function_id="fn-1",
        account_id="acct-1",
        target=target,
        url=f"https://example.test/{target}",
        secret=f"whsec_{target}",
        payload='{"event": "run.ended", "x": "\\u00e9"}',
        status=DeliveryStatus.PENDING,
        attempts=(),
        next_attempt_at=NOW + dt.timedelta(seconds=due_in_s),
        created_at=NOW,
        updated_at=NOW,
    )


def _leased(delivery: WebhookDelivery, at: dt.datetime) -> WebhookDelivery:
    return dataclasses.replace(delivery, next_attempt_at=at + dt.timedelta(seconds=LEASE_S))


async def test_webhooks_create_list_delete(store: Store) -> None:
    first, second = _webhook("fn-1", "acct-1", 0), _webhook("fn-1", "acct-1", 1)
    other = _webhook("fn-2", "acct-1", 2)
    for webhook in (second, other, first):
        assert await store.create_webhook(webhook) == webhook
    assert await store.list_webhooks("fn-1") == [first, second]
    assert await store.run_receivers("fn-1", "run-9") == ([first, second], None)  # the same, at a run's end
    assert await store.delete_webhook("fn-2", first.webhook_id) is False
    assert await store.delete_webhook("fn-1", first.webhook_id) is True
    assert await store.delete_webhook("fn-1", first.webhook_id) is False
    assert await store.list_webhooks("fn-1") == [second]
    assert await store.list_webhooks("fn-2") == [other]


async def test_account_secret_is_stable_and_run_callbacks(store: Store) -> None:
    assert await store.account_webhook_secret("acct-1", "whsec_a") == "whsec_a"
    assert await store.account_webhook_secret("acct-1", "whsec_b") == "whsec_a"
    assert await store.account_webhook_secret("acct-2", "whsec_c") == "whsec_c"
    assert await store.run_receivers("fn-1", "run-1") == ([], None)
    await store.set_run_callback("run-1", "https://example.test/one")
    await store.set_run_callback("run-1", "https://example.test/two")
    assert await store.run_receivers("fn-1", "run-1") == ([], "https://example.test/two")
    assert await store.run_receivers("fn-1", "run-2") == ([], None)


async def test_enqueue_is_idempotent_per_run_and_target(store: Store) -> None:
    hook, callback = _delivery("run-1", "wh-1"), _delivery("run-1", CALLBACK_TARGET)
    assert await store.enqueue_deliveries([hook, callback]) == 2
    again = [_delivery("run-1", "wh-1"), _delivery("run-1", CALLBACK_TARGET), _delivery("run-2", "wh-1")]
    assert await store.enqueue_deliveries(again) == 1
    assert await store.enqueue_deliveries([]) == 0
    assert await store.list_deliveries("fn-1", 10) == [again[2], callback, hook]
    assert await store.list_deliveries("fn-1", 1) == [again[2]]
    assert await store.list_deliveries("fn-2", 10) == []


async def test_claim_due_leases_what_it_returns(store: Store) -> None:
    due = [_delivery(f"run-{i}", "wh-1", due_in_s=-i) for i in range(3)]
    later = _delivery("run-later", "wh-1", due_in_s=60)
    await store.enqueue_deliveries([*due, later])

    oldest_two = await store.claim_due_deliveries(NOW, LEASE_S, 2)
    assert set(oldest_two) == {_leased(due[2], NOW), _leased(due[1], NOW)}
    assert await store.claim_due_deliveries(NOW, LEASE_S, 10) == [_leased(due[0], NOW)]
    assert await store.claim_due_deliveries(NOW, LEASE_S, 10) == []  # all leased
    # Once the lease runs out (and the later one is due), they come back.
    after = NOW + dt.timedelta(seconds=LEASE_S + 31)
    back = await store.claim_due_deliveries(after, LEASE_S, 10)
    assert set(back) == {_leased(d, after) for d in (*due, later)}


async def test_racing_dispatchers_never_take_the_same_delivery(store: Store) -> None:
    deliveries = [_delivery(f"run-{i}", "wh-1") for i in range(12)]
    await store.enqueue_deliveries(deliveries)
    batches = await asyncio.gather(*(store.claim_due_deliveries(NOW, LEASE_S, 3) for _ in range(6)))
    taken = [d.delivery_id for batch in batches for d in batch]
    assert len(taken) == len(set(taken)) == 12


async def test_record_delivery_attempt(store: Store) -> None:
    delivery = _delivery("run-1", "wh-1")
    await store.enqueue_deliveries([delivery])
    failed_at = NOW + dt.timedelta(seconds=1)
    retry_at = failed_at + dt.timedelta(seconds=2)
    failure = DeliveryAttempt(failed_at, 500, "receiver answered 500")
    pending = await store.record_delivery_attempt(delivery.delivery_id, failure, DeliveryStatus.PENDING, retry_at)
    assert pending == dataclasses.replace(delivery, attempts=(failure,), next_attempt_at=retry_at, updated_at=failed_at)
    assert await store.claim_due_deliveries(failed_at, LEASE_S, 10) == []  # not due before retry_at

    success = DeliveryAttempt(retry_at, 200, None)
    delivered = await store.record_delivery_attempt(delivery.delivery_id, success, DeliveryStatus.DELIVERED, None)
    assert delivered == dataclasses.replace(
        delivery,
        attempts=(failure, success),
        status=DeliveryStatus.DELIVERED,
        next_attempt_at=None,
        updated_at=retry_at,
    )
    assert await store.list_deliveries("fn-1", 10) == [delivered]
    assert await store.claim_due_deliveries(retry_at + dt.timedelta(days=1), LEASE_S, 10) == []
    assert await store.record_delivery_attempt("no-such-delivery", success, DeliveryStatus.DELIVERED, None) is None
