"""Vaults and personas through the official TypeScript client (npm `notte-sdk`) under Node, against a
real server, real Chromium and its SMTP listener: a vault's credentials and card, a login filled
from the vault, and a persona reading mail sent to it with smtplib."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from tests.browser.identity_site import IdentitySite
from tests.live_server import LiveServer, free_port
from tests.node_client import run_node

PASSWORD = "node-Secret-pass-9182"
MFA_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
LOGIN = "node@example.com"
CARD = {
    "card_holder_name": "Node User",
    "card_number": "4000056655665556",
    "card_cvv": "321",
    "card_full_expiration": "08/30",
}


@pytest.fixture(scope="module")
def identity_site() -> Iterator[IdentitySite]:
    served = IdentitySite(LOGIN, PASSWORD, MFA_SECRET, CARD).start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def ts_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    port = free_port()
    env = {"BROWSERFN_MAIL_DOMAIN": "node.test", "BROWSERFN_MAIL_HOST": "127.0.0.1", "BROWSERFN_MAIL_PORT": str(port)}
    live = LiveServer(tmp_path_factory.mktemp("ts-identities"), env=env, extra_args=("--browser-pool-size", "1"))
    live.mail_port = port  # type: ignore[attr-defined]
    yield live.start()
    live.stop()


def test_ts_vault_fills_a_login(ts_server: LiveServer, identity_site: IdentitySite) -> None:
    got = run_node(
        f"""
        const vault = client.Vault({{ name: "node" }});
        await vault.addCredentials({json.dumps(identity_site.url + "/login")}, {{
            email: {json.dumps(LOGIN)}, password: {json.dumps(PASSWORD)}, mfa_secret: {json.dumps(MFA_SECRET)} }});
        await vault.setCreditCard({json.dumps(CARD)});
        const listed = await vault.listCredentials();
        const card = await vault.getCreditCard();
        const session = client.Session({{ vault_id: vault.vaultId }});
        await session.start();
        await session.execute({{ type: "goto", url: {json.dumps(identity_site.url + "/login")} }});
        const filled = await session.execute({{ type: "form_fill",
            value: {{ email: "user@example.org", password: "mycoolpassword" }} }});
        await session.execute({{ type: "click", selector: "button[type=submit]" }});
        await session.execute({{ type: "multi_factor_fill", id: "otp", value: "999779" }});
        await session.execute({{ type: "click", selector: "button[type=submit]" }});
        const title = await session.execute({{ type: "evaluate_js", code: "document.title" }});
        await session.stop();
        await vault.delete();
        report({{ listed, card, filled: filled.success, title: title.data.markdown }});
        """,
        url=ts_server.url,
        key=ts_server.key,
    )
    assert got["listed"] == [{"url": "127.0.0.1", "email": LOGIN, "username": None}]
    assert got["card"] == CARD
    assert (got["filled"], got["title"]) == (True, "Signed in")


def test_ts_persona_reads_its_mail(ts_server: LiveServer) -> None:
    created = run_node(
        """
        const persona = client.Persona({ create_vault: true });
        report(await persona.get());
        """,
        url=ts_server.url,
        key=ts_server.key,
    )
    assert created["email"].endswith("@node.test") and created["vault_id"]
    message = EmailMessage()
    message["From"] = "Shop <hello@shop.example>"
    message["To"] = created["email"]
    message["Subject"] = "Your code"
    message.set_content("Use 604152 to sign in.")
    with smtplib.SMTP("127.0.0.1", ts_server.mail_port, timeout=30) as smtp:  # type: ignore[attr-defined]
        smtp.send_message(message)
    got = run_node(
        f"""
        const persona = client.Persona({{ persona_id: {json.dumps(created["persona_id"])} }});
        await persona.get();
        const emails = await persona.emails({{ only_unread: true }});
        await persona.delete();
        report(emails.map((e) => [e.subject, e.sender_email, e.text_content]));
        """,
        url=ts_server.url,
        key=ts_server.key,
    )
    assert got == [["Your code", "hello@shop.example", "Use 604152 to sign in.\n"]]
