"""Webhooks against a real server and a real receiver: signatures, retries, the delivery log."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from browserfn.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, UNREACHABLE, verify
from tests.conftest import deploy
from tests.live_server import LiveServer, free_port
from tests.operator.receiver import Received, Receiver

#: The receivers listen on loopback, which webhooks may reach only where the operator allows it:
#: 127.0.0.1, and ::1 too, because Debian's stock /etc/hosts resolves `localhost` to both (every
#: address a name resolves to must be allowed).
ALLOW_RECEIVERS = {"BROWSERFN_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1,::1", "BROWSERFN_RATE_LIMIT_PER_S": "0"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("webhooks"), env=ALLOW_RECEIVERS).start()
    yield live
    live.stop()


def signed_by(received: Received, secret: str) -> bool:
    timestamp = int(received.headers[TIMESTAMP_HEADER])
    return verify(secret, timestamp, received.body, received.headers[SIGNATURE_HEADER])


def test_function_webhook_is_signed_and_retried_after_a_failure(api: httpx.Client) -> None:
    fid = deploy(api, "def run(name: str):\n    return {'hello': name}\n", name="hooked")["function_id"]
    with Receiver(statuses=[500]) as receiver:
        created = api.post(f"/functions/{fid}/webhooks", json={"url": receiver.url})
        assert created.status_code == 200, created.text
        webhook = created.json()
        assert webhook["secret"].startswith("whsec_")
        listed = api.get(f"/functions/{fid}/webhooks").json()["items"]
        assert listed == [{k: v for k, v in webhook.items() if k != "secret"}]

        started = api.post(
            f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {"name": "ada"}, "stream": False}
        ).json()
        first, second = receiver.wait_for(2, timeout_s=20)

    for received in (first, second):
        assert signed_by(received, webhook["secret"])
        assert not signed_by(received, webhook["secret"] + "x")
        assert abs(int(received.headers[TIMESTAMP_HEADER]) - time.time()) < 60
    assert first.body == second.body  # the same delivery, sent again
    assert first.headers["X-Browserfn-Delivery"] == second.headers["X-Browserfn-Delivery"]
    assert second.at - first.at >= 0.9  # backed off (base 1 s) before retrying
    payload = json.loads(first.body)
    assert {k: payload[k] for k in ("event", "function_id", "function_run_id", "status", "state", "result")} == {
        "event": "run.ended",
        "function_id": fid,
        "function_run_id": started["function_run_id"],
        "status": "closed",
        "state": "succeeded",
        "result": {"hello": "ada"},
    }

    log = api.get(f"/functions/{fid}/webhooks/deliveries").json()["items"]
    assert len(log) == 1
    delivery = log[0]
    assert (delivery["status"], delivery["target"], delivery["function_run_id"]) == (
        "delivered",
        webhook["webhook_id"],
        started["function_run_id"],
    )
    assert [(a["status_code"], a["error"]) for a in delivery["attempts"]] == [
        (500, "receiver answered 500"),
        (200, None),
    ]
    assert delivery["payload"].encode() == first.body
    assert delivery["next_attempt_at"] is None

    assert api.delete(f"/functions/{fid}/webhooks/{webhook['webhook_id']}").json()["status"] == "success"
    assert api.get(f"/functions/{fid}/webhooks").json()["items"] == []


def test_callback_url_is_signed_with_the_account_secret(api: httpx.Client) -> None:
    fid = deploy(api, "def run():\n    raise RuntimeError('boom')\n", name="callback")["function_id"]
    secret = api.get("/webhooks/secret").json()["secret"]
    assert api.get("/webhooks/secret").json()["secret"] == secret  # stable
    with Receiver() as receiver:
        started = api.post(
            f"/functions/{fid}/runs/start",
            json={"workflow_id": fid, "variables": {}, "stream": False, "callback_url": receiver.url},
        ).json()
        (received,) = receiver.wait_for(1, timeout_s=20)
    assert signed_by(received, secret)
    payload = json.loads(received.body)
    assert (payload["function_run_id"], payload["status"], payload["state"]) == (
        started["function_run_id"],
        "failed",
        "failed",
    )
    (delivery,) = api.get(f"/functions/{fid}/webhooks/deliveries").json()["items"]
    assert (delivery["target"], delivery["status"], len(delivery["attempts"])) == ("callback", "delivered", 1)


def test_webhook_urls_must_be_http(api: httpx.Client) -> None:
    fid = deploy(api, "def run():\n    return 1\n", name="badhook")["function_id"]
    assert api.post(f"/functions/{fid}/webhooks", json={"url": "file:///etc/passwd"}).status_code == 422
    bad = api.post(
        f"/functions/{fid}/runs/start",
        json={"workflow_id": fid, "variables": {}, "stream": False, "callback_url": "not a url"},
    )
    assert bad.status_code == 422
    assert "http(s)" in bad.json()["message"]


def _first_attempt(api: httpx.Client, fid: str, timeout_s: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items = api.get(f"/functions/{fid}/webhooks/deliveries").json()["items"]
        if items and items[0]["attempts"]:
            attempt: dict[str, object] = items[0]["attempts"][0]
            return attempt
        time.sleep(0.1)
    raise AssertionError("no delivery attempt recorded")


def test_delivery_errors_do_not_tell_open_ports_from_closed_ones(api: httpx.Client) -> None:
    """A closed port, and an open port that speaks no HTTP, read the same in the delivery log."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(30)
        open_port = listener.getsockname()[1]
        seen = []
        for port in (free_port(), open_port):
            fid = deploy(api, "def run():\n    return 1\n", name=f"port{port}")["function_id"]
            url = f"http://127.0.0.1:{port}/hook"
            assert api.post(f"/functions/{fid}/webhooks", json={"url": url}).status_code == 200
            api.post(f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {}, "stream": False})
            if port == open_port:
                conn, _ = listener.accept()
                conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
                conn.close()
            seen.append(_first_attempt(api, fid))
    assert [(a["status_code"], a["error"]) for a in seen] == [(None, UNREACHABLE), (None, UNREACHABLE)]


def test_redirects_are_not_followed(api: httpx.Client) -> None:
    fid = deploy(api, "def run():\n    return 1\n", name="redirected")["function_id"]
    with Receiver() as elsewhere, Receiver(statuses=[307, 307, 307], location=elsewhere.url) as receiver:
        assert api.post(f"/functions/{fid}/webhooks", json={"url": receiver.url}).status_code == 200
        api.post(f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {}, "stream": False})
        receiver.wait_for(1, timeout_s=20)
        assert _first_attempt(api, fid)["error"] == "receiver answered 307"
        time.sleep(1)
        assert elsewhere.received == []


def test_a_loopback_webhook_is_refused_again_at_delivery_once_no_longer_allowed(tmp_path: Path) -> None:
    """Allowed when registered, then the operator drops the allowance: the owed delivery is refused
    at delivery time, and the receiver never hears from the server."""
    live = LiveServer(tmp_path / "server", warm_processes=0, env=ALLOW_RECEIVERS).start()
    try:
        with live.client() as api, Receiver() as receiver:
            fid = deploy(api, "def run():\n    return 1\n", name="later")["function_id"]
            assert api.post(f"/functions/{fid}/webhooks", json={"url": receiver.url}).status_code == 200
            live.stop()
            live.env = {}
            live.start()
            api.post(f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {}, "stream": False})
            attempt = _first_attempt(api, fid)
            assert attempt["status_code"] is None
            assert "loopback" in str(attempt["error"]), attempt
            assert receiver.received == []
    finally:
        live.stop()


def test_a_name_is_delivered_to_its_checked_address_with_its_own_host_header(api: httpx.Client) -> None:
    """The delivery connects to an address the policy checked (127.0.0.1, allowed here; ::1 first
    where `localhost` resolves to it too, refused by the receiver, then 127.0.0.1), and the
    receiver still sees the URL's host name (the name is not resolved a second time)."""
    fid = deploy(api, "def run():\n    return 1\n", name="byname")["function_id"]
    with Receiver() as receiver:
        url = receiver.url.replace("127.0.0.1", "localhost")
        assert api.post(f"/functions/{fid}/webhooks", json={"url": url}).status_code == 200
        api.post(f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {}, "stream": False})
        (received,) = receiver.wait_for(1, timeout_s=20)
    assert received.headers["Host"] == f"localhost:{receiver.port}"
