"""Personas through the official Python SDK, receiving real mail: a server with its SMTP listener
on, a message sent with `smtplib` to a persona's address, read back with `persona.emails()` and
with the session action `email_verification_read`; mail for unknown addresses, other domains and
oversized messages refused at the SMTP level; SMS and phone numbers a clear 501."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from notte_sdk import NotteClient

from tests.live_server import LiveServer, free_port

DOMAIN = "inbox.test"
MAX_MESSAGE_BYTES = 64 * 1024
KEEP = 3


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    port = free_port()
    env = {
        "BROWSERFN_MAIL_DOMAIN": DOMAIN,
        "BROWSERFN_MAIL_HOST": "127.0.0.1",
        "BROWSERFN_MAIL_PORT": str(port),
        "BROWSERFN_MAIL_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
        "BROWSERFN_MAIL_MAX_MESSAGES_PER_PERSONA": str(KEEP),
    }
    live = LiveServer(tmp_path_factory.mktemp("mail-server"), env=env, extra_args=("--browser-pool-size", "1"))
    live.mail_port = port  # type: ignore[attr-defined]
    yield live.start()
    live.stop()


@pytest.fixture(scope="module")
def client(mail_server: LiveServer) -> NotteClient:
    return NotteClient(api_key=mail_server.key, server_url=mail_server.url)


def _send(server: LiveServer, to: str, subject: str, body: str, sender: str = "no-reply@shop.example") -> None:
    message = EmailMessage()
    message["From"] = f"Example Shop <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    message.add_alternative(f"<p>{body}</p>", subtype="html")
    with smtplib.SMTP("127.0.0.1", server.mail_port, timeout=30) as smtp:  # type: ignore[attr-defined]
        smtp.send_message(message)


def test_a_persona_receives_mail_and_reads_its_code(client: NotteClient, mail_server: LiveServer) -> None:
    persona = client.Persona(name="Ada Lovelace", create_vault=True)
    info = persona.info
    assert info.email.endswith(f"@{DOMAIN}") and info.email.startswith("ada.lovelace.")
    assert info.internal_email == f"{info.persona_id}@{DOMAIN}" and info.vault_id is not None
    assert (info.first_name, info.last_name) == ("Ada", "Lovelace")

    _send(mail_server, info.email, "Confirm your account", "Your verification code is 482913. It expires soon.")
    emails = persona.emails()
    assert [(e.subject, e.sender_email, e.sender_name) for e in emails] == [
        ("Confirm your account", "no-reply@shop.example", "Example Shop")
    ]
    assert emails[0].text_content is not None and "482913" in emails[0].text_content
    assert emails[0].html_content is not None and "<p>" in emails[0].html_content
    assert persona.emails(only_unread=True) == []  # listed once: read

    with client.Session(vault_id=info.vault_id) as session:
        found = session.execute(type="email_verification_read", mailbox_id=info.email, sender_domain="shop.example")
        assert found.success and found.data is not None and found.data.markdown == "482913"
        by_id = session.execute(
            type="email_verification_read", mailbox_id=info.persona_id, sender_domain="other.example",
            raise_on_failure=False,
        )  # fmt: skip
        assert not by_id.success and "no email from other.example" in by_id.message
        _send(mail_server, info.internal_email, "Sign in", "Sign in: https://shop.example/verify?token=abc123 now")
        read = session.execute(type="email_read", only_unread=True)
        assert (
            read.success and read.data is not None and "https://shop.example/verify?token=abc123" in read.data.markdown
        )
        with pytest.raises(Exception, match=r"501|SMS provider"):
            session.execute(type="sms_read")
    # The persona's vault: credentials the SDK generates for it, deletable only with the persona.
    persona.add_credentials("https://shop.example/signup")
    stored = persona.vault.get_credentials("https://shop.example")
    assert stored is not None and stored["email"] == info.email and len(stored["password"]) == 20
    with httpx.Client(base_url=mail_server.url, headers=mail_server.headers()) as api:
        refused = api.delete(f"/vaults/{info.vault_id}")
        assert refused.status_code == 409 and "delete the persona" in refused.json()["message"]
        persona.delete()
        assert api.get(f"/vaults/{info.vault_id}").status_code == 404  # gone with its persona
        # email_read needs the session's vault to be a persona's.
        plain_vault = api.post("/vaults/create", json={"name": "plain"}).json()["vault_id"]
    with client.Session(vault_id=plain_vault) as session:
        unread = session.execute(type="email_read", raise_on_failure=False)
        assert not unread.success and "vault_id of a persona's vault" in unread.message


def test_refused_mail(client: NotteClient, mail_server: LiveServer) -> None:
    persona = client.Persona()
    with pytest.raises(smtplib.SMTPRecipientsRefused, match="no such mailbox"):
        _send(mail_server, f"nobody@{DOMAIN}", "hi", "hello")
    with pytest.raises(smtplib.SMTPRecipientsRefused, match="relaying denied"):
        _send(mail_server, "someone@elsewhere.example", "hi", "hello")
    with pytest.raises(smtplib.SMTPException, match=r"552|too large|exceeded"):
        _send(mail_server, persona.info.email, "big", "x" * (MAX_MESSAGE_BYTES + 1000))
    for n in range(KEEP + 2):
        _send(mail_server, persona.info.email, f"message {n}", "hello")
    kept = [e.subject for e in persona.emails(limit=10)]
    assert kept == [f"message {n}" for n in reversed(range(2, KEEP + 2))]  # newest first, the oldest dropped
    address = persona.info.email
    persona.delete()
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _send(mail_server, address, "after", "the persona is gone")


def test_personas_are_per_account_and_sms_is_501(mail_server: LiveServer, client: NotteClient) -> None:
    persona = client.Persona()
    other = httpx.Client(base_url=mail_server.url, headers=mail_server.headers(mail_server.create_key("other")))
    with other:
        for method, path in [
            ("GET", ""), ("PATCH", ""), ("DELETE", ""), ("GET", "/emails"), ("GET", "/sms"), ("POST", "/sms/number"),
        ]:  # fmt: skip
            answer = other.request(method, f"/personas/{persona.persona_id}{path}", json={"name": "x"})
            assert answer.status_code == 404, (method, path, answer.text)
        assert persona.persona_id not in other.get("/personas").text
    with httpx.Client(base_url=mail_server.url, headers=mail_server.headers()) as api:
        for method, path in [("GET", "/sms"), ("POST", "/sms/number"), ("DELETE", "/sms/number")]:
            answer = api.request(method, f"/personas/{persona.persona_id}{path}")
            assert answer.status_code == 501 and "BROWSERFN_SMS_PROVIDER" in answer.json()["message"]
        created = api.post("/personas/create", json={"create_phone_number": True})
        assert created.status_code == 501
        assert api.post("/personas/create", json={"email_provider": "agentmail"}).status_code == 422
        assert api.post("/personas/create", json={"nickname": "x"}).status_code == 422
        renamed = api.patch(f"/personas/{persona.persona_id}", json={"name": "Grace"}).json()
        assert renamed["name"] == "Grace"
        assert api.get(f"/personas/{persona.persona_id}/emails", params={"limit": 0}).status_code == 422


def test_without_a_mail_domain_personas_are_501(browser_server: LiveServer, tmp_path: Path) -> None:
    with httpx.Client(base_url=browser_server.url, headers=browser_server.headers()) as api:
        answer = api.post("/personas/create", json={})
    assert answer.status_code == 501 and "BROWSERFN_MAIL_DOMAIN" in answer.json()["message"]
