"""A guest run's key (a run of a function another account shared) may drive its own sessions but
not reach the account's browser data: no session started with a profile, no profile created or
read, no legacy uploads; a run of the account's own function may."""

from __future__ import annotations

import uuid

import httpx

from tests.live_server import LiveServer
from tests.security.helpers import deploy
from tests.security.run_keys import HOLDER, leaked_run_key


def test_a_guest_run_cannot_use_the_accounts_profiles_or_files(server: LiveServer) -> None:
    with server.client(server.create_key(f"profile-owner-{uuid.uuid4().hex[:8]}"), timeout=180) as account:
        profile = account.post("/profiles/create", json={"name": "mine"}).json()["profile_id"]
        with server.client(server.create_key(f"profile-author-{uuid.uuid4().hex[:8]}")) as author:
            shared = deploy(author, HOLDER, name="shared-holder")
            assert author.patch(f"/functions/{shared}", json={"shared": True}).json()["shared"] is True
        with leaked_run_key(account, shared) as guest, server.client(guest.key) as script:
            start = script.post("/sessions/start", json={"profile": {"id": profile, "persist": True}})
            assert start.status_code == 403 and "profiles" in start.json()["message"], start.text
            for call in (
                script.get(f"/profiles/{profile}"),
                script.post("/profiles/create", json={}),
                script.get("/storage/uploads"),
                script.post("/storage/uploads/x.txt", files={"file": ("x.txt", b"x")}),
            ):
                assert call.status_code == 403, call.text
        own = deploy(account, HOLDER, name="own-holder")
        with (
            leaked_run_key(account, own) as run_key,
            httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {run_key.key}"}) as script,
        ):
            assert script.get(f"/profiles/{profile}").json()["name"] == "mine"
            assert script.post("/storage/uploads/x.txt", files={"file": ("x.txt", b"x")}).json() == {"success": True}
