"""Operations of Notte's cloud with nothing to act on here answer what is true, through the
official Python client: a session's managed-auth readiness is its status; payments, managed auth
connections and the `anything` builder are clear errors, never a bare route 404; another account's
session stays invisible to all of them."""

from __future__ import annotations

import httpx
import pytest
from notte_sdk import NotteClient

from tests.live_server import LiveServer


def test_a_sessions_auth_readiness_is_its_status(browser_server: LiveServer) -> None:
    client = NotteClient(api_key=browser_server.key, server_url=browser_server.url)
    other = {"Authorization": f"Bearer {browser_server.create_key('cloud-only-other')}"}
    with client.Session() as session:
        sid = session.session_id
        ready = client.sessions.auth_readiness(sid)
        assert (ready.session_id, ready.status, ready.operations, ready.error) == (sid, "active", [], None)
        with pytest.raises(Exception, match="no payment provider"):
            client.sessions.create_payment(
                sid,
                idempotency_key="k1",
                amount=12.5,
                currency="usd",
                merchant_url="https://shop.example/",
                merchant_name="Shop",
                description="A test purchase that this server cannot make, described at the length Notte asks. " * 2,
            )
        for method, path in (("GET", f"/sessions/{sid}/auth"), ("POST", f"/sessions/{sid}/payments")):
            hidden = httpx.request(method, f"{browser_server.url}{path}", headers=other, json={})
            assert hidden.status_code == 404, (path, hidden.text)
            assert hidden.json()["message"] == f"session {sid} not found", path
    assert client.sessions.auth_readiness(sid).status == "closed"


def test_managed_auth_and_the_anything_builder_say_why(browser_server: LiveServer) -> None:
    with browser_server.client() as api:
        for action in ("check", "refresh", "reauthenticate"):
            answer = api.post(f"/managed-auth/connections/c1/{action}")
            assert answer.status_code == 404, answer.text
            assert answer.json()["message"].startswith("managed auth connection c1 not found: managed auth is Notte")
        operation = api.get("/managed-auth/operations/op1")
        assert operation.status_code == 404 and "this server has no managed auth" in operation.json()["message"]
        anything = api.post("/anything/start", json={"task": "book a table"})
        assert anything.status_code == 501 and "POST /agents/start" in anything.json()["message"]
        assert api.post("/anything/start", json={}).status_code == 422
    assert httpx.post(f"{browser_server.url}/anything/start", json={"task": "x"}).status_code == 401
