"""A guest run's key (a run of a function another account shared) may drive its own sessions but
not reach the account's browser data: no session started with a profile or a vault, no profile
created, read or saved from its session, no legacy uploads, no persona's mail read through its
session's actions; a run of the account's own function may. Another account's persona is not found."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest

from tests.live_server import LiveServer, free_port
from tests.security.helpers import deploy
from tests.security.run_keys import HOLDER, leaked_run_key


def _shared_holder(server: LiveServer) -> str:
    """A HOLDER that another account (its author) shares: its runs by the caller are guests."""
    with server.client(server.create_key(f"author-{uuid.uuid4().hex[:8]}")) as author:
        shared = deploy(author, HOLDER, name="shared-holder")
        assert author.patch(f"/functions/{shared}", json={"shared": True}).json()["shared"] is True
    return shared


def test_a_guest_run_cannot_use_the_accounts_profiles_or_files(server: LiveServer) -> None:
    with server.client(server.create_key(f"profile-owner-{uuid.uuid4().hex[:8]}"), timeout=180) as account:
        created = account.post("/profiles/create", json={"name": "mine"}).json()
        profile = created["profile_id"]
        shared = _shared_holder(server)
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


def test_a_guest_run_cannot_start_a_session_with_the_accounts_vault(server: LiveServer) -> None:
    with server.client(server.create_key(f"vault-owner-{uuid.uuid4().hex[:8]}"), timeout=180) as account:
        vault = account.post("/vaults/create", json={"name": "mine"}).json()["vault_id"]
        shared = _shared_holder(server)
        with leaked_run_key(account, shared) as guest, server.client(guest.key) as script:
            start = script.post("/sessions/start", json={"vault_id": vault})
            assert start.status_code == 403, start.text
            assert start.json() == {
                "status": 403,
                "message": "vault_id: a run of another account's shared function cannot use this account's vaults",
            }
        assert account.get("/sessions").json()["items"] == []  # nothing was opened


MAIL_DOMAIN = "scopes.test"
CODE = "731904"


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server receiving personas' mail on a loopback port."""
    port = free_port()
    env = {"BROWSERFN_MAIL_DOMAIN": MAIL_DOMAIN, "BROWSERFN_MAIL_HOST": "127.0.0.1", "BROWSERFN_MAIL_PORT": str(port)}
    live = LiveServer(tmp_path_factory.mktemp("scopes-mail"), env=env)
    live.mail_port = port  # type: ignore[attr-defined]
    yield live.start()
    live.stop()


@pytest.fixture(scope="module")
def persona(mail_server: LiveServer) -> Iterator[dict[str, str]]:
    """A persona of its own account, holding an e-mail with a code (and that account's key)."""
    key = mail_server.create_key(f"persona-owner-{uuid.uuid4().hex[:8]}")
    with mail_server.client(key) as account:
        created = account.post("/personas/create", json={"name": "Grace Hopper"}).json()
    message = EmailMessage()
    message["From"] = "Shop <no-reply@shop.example>"
    message["To"] = created["email"]
    message["Subject"] = "Your code"
    message.set_content(f"Your verification code is {CODE}.")
    with smtplib.SMTP("127.0.0.1", mail_server.mail_port, timeout=30) as smtp:  # type: ignore[attr-defined]
        smtp.send_message(message)
    yield {"key": key, "persona_id": created["persona_id"], "email": created["email"]}


def _verification_read(script: httpx.Client, session_id: str, mailbox: str) -> httpx.Response:
    action = {"type": "email_verification_read", "mailbox_id": mailbox, "sender_domain": "shop.example"}
    return script.post(f"/sessions/{session_id}/page/execute", json=action)


def test_a_guest_run_cannot_read_the_accounts_personas_mail(mail_server: LiveServer, persona: dict[str, str]) -> None:
    """The guest's session is its own, but the inbox actions read the account's personas: refused."""
    shared = _shared_holder(mail_server)
    with mail_server.client(persona["key"], timeout=180) as account:
        with leaked_run_key(account, shared) as guest, mail_server.client(guest.key, timeout=180) as script:
            session = script.post("/sessions/start", json={})
            assert session.status_code == 200, session.text
            session_id = session.json()["session_id"]
            for mailbox in (persona["email"], persona["persona_id"]):
                refused = _verification_read(script, session_id, mailbox)
                assert refused.status_code == 403, refused.text
                assert refused.json() == {
                    "status": 403,
                    "message": "email_verification_read: a run of another account's shared function cannot read "
                    "this account's personas' e-mail or SMS",
                }
            for kind in ("email_read", "sms_read"):
                other = script.post(f"/sessions/{session_id}/page/execute", json={"type": kind})
                assert other.status_code == 403 and other.json()["message"].startswith(f"{kind}: a run of"), other.text
        # A run of the account's own function reads it (the refusal is the guest's, not every run's).
        own = deploy(account, HOLDER, name="own-holder")
        with leaked_run_key(account, own) as run_key, mail_server.client(run_key.key, timeout=180) as script:
            session_id = script.post("/sessions/start", json={}).json()["session_id"]
            found = _verification_read(script, session_id, persona["email"])
            assert found.status_code == 200 and found.json()["data"]["markdown"] == CODE, found.text


def test_another_accounts_persona_is_not_found_in_email_verification_read(
    mail_server: LiveServer, persona: dict[str, str]
) -> None:
    with mail_server.client(mail_server.create_key(f"mail-other-{uuid.uuid4().hex[:8]}"), timeout=180) as other:
        session_id = other.post("/sessions/start", json={}).json()["session_id"]
        try:
            by_address = _verification_read(other, session_id, persona["email"])
            by_id = _verification_read(other, session_id, persona["persona_id"])
            assert by_address.json() == {"status": 404, "message": f"no persona has the address {persona['email']}"}
            assert by_id.json() == {"status": 404, "message": f"persona {persona['persona_id']} not found"}
            assert (by_address.status_code, by_id.status_code) == (404, 404)
        finally:
            other.delete(f"/sessions/{session_id}/stop")
