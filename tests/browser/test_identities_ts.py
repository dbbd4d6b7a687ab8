"""Vaults and personas through the official TypeScript client (npm `notte-sdk`) under Node, against a
real server, real Chromium and its SMTP listener: a vault's credentials and card, a login filled
from the vault (neither secret in what the script gets back nor in the replay), a card filled into
a checkout, and a persona reading mail sent to it with smtplib (its messages, and the code in one
through the session action `email_verification_read`)."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest

from tests.browser.identity_site import IdentitySite
from tests.browser.test_vaults_sdk import _replay_text
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


def _mail(server: LiveServer, to: str, subject: str, body: str, sender: str) -> None:
    """A real message to the server's SMTP listener."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", server.mail_port, timeout=30) as smtp:  # type: ignore[attr-defined]
        smtp.send_message(message)


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
        const answers = [];
        const act = async (action) => {{
            const answer = await session.execute(action);
            answers.push(answer);
            return answer;
        }};
        await act({{ type: "goto", url: {json.dumps(identity_site.url + "/login")} }});
        const filled = await act({{ type: "form_fill",
            value: {{ email: "user@example.org", password: "mycoolpassword" }} }});
        await act({{ type: "click", selector: "button[type=submit]" }});
        await act({{ type: "multi_factor_fill", id: "otp", value: "999779" }});
        await act({{ type: "click", selector: "button[type=submit]" }});
        await act({{ type: "evaluate_js", code: "document.querySelector('h1').textContent" }});
        const title = await act({{ type: "evaluate_js", code: "document.title" }});
        const sessionId = session.sessionId;  // (the client forgets it once stopped)
        await session.stop();
        await vault.delete();
        report({{ listed, card, filled: filled.success, title: title.data.markdown, answers,
            session_id: sessionId }});
        """,
        url=ts_server.url,
        key=ts_server.key,
    )
    assert got["listed"] == [{"url": "127.0.0.1", "email": LOGIN, "username": None}]
    assert got["card"] == CARD
    assert (got["filled"], got["title"]) == (True, "Signed in")
    login_form = next(form for path, form in reversed(identity_site.received) if path == "/login")
    assert (login_form["login"], login_form["pw"]) == (LOGIN, PASSWORD)  # the site got the real values...
    # ...and neither what the script got back (each action's answer), the session nor its replay holds them.
    with httpx.Client(base_url=ts_server.url, headers=ts_server.headers(), timeout=60) as api:
        shown = json.dumps(got["answers"]) + api.get(f"/sessions/{got['session_id']}").text
        shown += _replay_text(api, got["session_id"])
    assert "Filled" in shown and f"Welcome {LOGIN}" in shown
    for secret in (PASSWORD, MFA_SECRET):
        assert secret not in shown


def test_ts_card_fills_a_checkout(ts_server: LiveServer, identity_site: IdentitySite) -> None:
    """The card placeholders in `form_fill` become the vault's card in the page only."""
    got = run_node(
        f"""
        const vault = client.Vault({{ name: "node card" }});
        await vault.setCreditCard({json.dumps(CARD)});
        const session = client.Session({{ vault_id: vault.vaultId }});
        await session.start();
        await session.execute({{ type: "goto", url: {json.dumps(identity_site.url + "/checkout")} }});
        const filled = await session.execute({{ type: "form_fill", value: {{
            cc_name: "John Doe",
            cc_number: "4242 4242 4242 4242",
            cc_exp_month: "[CardExpirationPlaceholder]",
            cc_exp_year: "[CardExpirationPlaceholder]",
            cc_cvv: "[CardCVVPlaceholder]",
        }} }});
        await session.execute({{ type: "click", selector: "button[type=submit]" }});
        const title = await session.execute({{ type: "evaluate_js", code: "document.title" }});
        await session.stop();
        await vault.delete();
        report({{ filled, title: title.data.markdown }});
        """,
        url=ts_server.url,
        key=ts_server.key,
    )
    assert got["title"] == "Paid"
    paid = next(form for path, form in reversed(identity_site.received) if path == "/pay")
    assert paid["cardnumber"] == CARD["card_number"] and paid["cvc"] == CARD["card_cvv"]
    assert "fullname" not in paid  # (empty: not sent) cc_name went to the cc-name input, not the name one
    assert got["filled"]["success"] and CARD["card_number"] not in json.dumps(got["filled"])
    assert CARD["card_cvv"] not in got["filled"]["message"]  # (too short to look for in the timestamps)


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
    _mail(ts_server, created["email"], "Your code", "Use 604152 to sign in.", "Shop <hello@shop.example>")
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


def test_ts_email_verification_read_returns_the_code(ts_server: LiveServer) -> None:
    """The session action through the TypeScript client's execute (its types lack it; it sends it as is)."""
    created = run_node(
        "report(await client.Persona({ create_vault: true }).get());", url=ts_server.url, key=ts_server.key
    )
    body = "Your verification code is 318275. It expires soon."
    _mail(ts_server, created["email"], "Confirm your account", body, "Example Shop <no-reply@shop.example>")
    got = run_node(
        f"""
        const session = client.Session({{ vault_id: {json.dumps(created["vault_id"])} }});
        await session.start();
        const read = (mailbox_id, sender_domain) => session.execute(
            {{ type: "email_verification_read", mailbox_id, sender_domain }}, false);
        const byAddress = await read({json.dumps(created["email"])}, "shop.example");
        const byId = await read({json.dumps(created["persona_id"])}, "other.example");
        await session.stop();
        const persona = client.Persona({{ persona_id: {json.dumps(created["persona_id"])} }});
        await persona.get();
        await persona.delete();
        report({{ byAddress, byId }});
        """,
        url=ts_server.url,
        key=ts_server.key,
    )
    by_address, by_id = got["byAddress"], got["byId"]
    assert by_address["success"] and by_address["data"]["markdown"] == "318275", by_address
    assert by_address["data"]["structured"]["data"]["code"] == "318275"
    assert not by_id["success"] and "no email from other.example" in by_id["message"], by_id
