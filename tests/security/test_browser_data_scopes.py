"""A guest run's key (a run of a function another account shared) may drive its own sessions but
not reach the account's browser data: no session started with a profile, no profile created,
read or saved from its session, no legacy uploads; a run of the account's own function may."""

from __future__ import annotations

import uuid

import httpx

from tests.live_server import LiveServer
from tests.security.helpers import deploy
from tests.security.run_keys import HOLDER, leaked_run_key


def test_a_guest_run_cannot_use_the_accounts_profiles_or_files(server: LiveServer) -> None:
    with server.client(server.create_key(f"profile-owner-{uuid.uuid4().hex[:8]}"), timeout=180) as account:
        created = account.post("/profiles/create", json={"name": "mine"}).json()
        profile = created["profile_id"]
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
            # Its own session it may drive, but not save into the account's profiles.
            sid = script.post("/sessions/start", json={}).json()["session_id"]
            for body in ({"name": "taken"}, {"profile_id": profile}):
                save = script.post(f"/sessions/{sid}/profile/save", json=body)
                assert save.status_code == 403 and "profiles" in save.json()["message"], save.text
            assert script.delete(f"/sessions/{sid}/stop").status_code == 200
        assert account.get("/profiles").json()["items"] == [created]  # none made, the one there unchanged
        own = deploy(account, HOLDER, name="own-holder")
        with (
            leaked_run_key(account, own) as run_key,
            httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {run_key.key}"}) as script,
        ):
            assert script.get(f"/profiles/{profile}").json()["name"] == "mine"
            assert script.post("/storage/uploads/x.txt", files={"file": ("x.txt", b"x")}).json() == {"success": True}
