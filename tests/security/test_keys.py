"""API keys: create (secret shown once), list (prefix only), revoke (401 at once); rate limit."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.live_server import LiveServer


def test_create_list_revoke(server: LiveServer) -> None:
    account_key = server.create_key(f"keys-{uuid.uuid4().hex[:8]}")
    with server.client(account_key) as api:
        created = api.post("/keys", json={"name": "ci"})
        assert created.status_code == 200
        body = created.json()
        assert set(body) == {"key_id", "name", "prefix", "created_at", "revoked_at", "key"}
        assert (body["name"], body["revoked_at"]) == ("ci", None)
        assert body["key"].startswith(body["prefix"]) and len(body["key"]) > len(body["prefix"]) + 20
        new_key = body["key"]

        listed = api.get("/keys").json()["items"]
        assert [k["name"] for k in listed] == ["test", "ci"]
        assert all(set(k) == {"key_id", "name", "prefix", "created_at", "revoked_at"} for k in listed)
        assert new_key not in api.get("/keys").text

        with server.client(new_key) as fresh:
            assert fresh.get("/functions/").status_code == 200
            assert api.delete(f"/keys/{body['key_id']}").json() == {
                "status": "success",
                "message": f"key {body['key_id']} revoked",
            }
            refused = fresh.get("/functions/")
            assert refused.status_code == 401
            assert refused.json() == {"status": 401, "message": "invalid or revoked API key"}
        again = api.delete(f"/keys/{body['key_id']}")
        assert again.status_code == 404
        revoked = [k for k in api.get("/keys").json()["items"] if k["key_id"] == body["key_id"]]
        assert revoked[0]["revoked_at"] is not None


def test_another_accounts_key_cannot_be_revoked(server: LiveServer) -> None:
    mine = server.create_key(f"mine-{uuid.uuid4().hex[:8]}")
    theirs = server.create_key(f"theirs-{uuid.uuid4().hex[:8]}")
    with server.client(mine) as api, server.client(theirs) as other:
        their_id = other.get("/keys").json()["items"][0]["key_id"]
        assert api.delete(f"/keys/{their_id}").status_code == 404
        assert other.get("/keys").status_code == 200
        assert api.delete("/keys/..%2F..%2Fetc").status_code in (404, 422)


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSERFN_RATE_LIMIT_PER_S", "2")  # burst of 4, then 2 per second
    live = LiveServer(tmp_path / "server", warm_processes=0).start()
    try:
        key = live.create_key("burst")
        with live.client(key) as api, live.client() as other:
            statuses = [api.get("/keys") for _ in range(12)]
            assert other.get("/keys").status_code == 200  # another key has its own bucket
        codes = [r.status_code for r in statuses]
        assert codes[:4] == [200] * 4 and 429 in codes[4:], codes
        limited = next(r for r in statuses if r.status_code == 429)
        assert limited.headers["Retry-After"] == "1"
        assert limited.json() == {"status": 429, "message": "rate limit of 2 requests per second for this key exceeded"}
    finally:
        live.stop()
