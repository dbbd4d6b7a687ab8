"""Agents with a vault, a persona and a notifier, through the Python client 1.9.7
(`client.Agent(session=..., vault=..., persona=..., notifier=...)`) and the TypeScript client
(`client.Agent({session, vault_id})`), against a real server, real Chromium, the scripted model
(tests/browser/llm_peer.py) and real SMTP: an agent logs in (password and 2FA code) from a vault
while the model never receives a secret; an agent reads a code e-mailed to its persona (delivered
over SMTP to the server's mail listener) and types it; an agent's report is e-mailed over STARTTLS
with login to an SMTP server (aiosmtpd); other accounts' vaults and personas are not found, and
notifier types the server cannot deliver are refused by name."""

from __future__ import annotations

import json
import re
import smtplib
import ssl
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.browser.identity_site import IdentitySite
from tests.browser.llm_peer import API_KEY, ChatPeer
from tests.browser.test_agents import answer, page_of
from tests.live_server import LiveServer, free_port
from tests.node_client import run_node
from tests.sdk197_client import run_sdk197
from tests.tls_proxy import self_signed

DOMAIN = "agents-inbox.test"
LOGIN, PASSWORD = "ada-the-agent", "s3cret-Horse-Battery-42"
MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
CARD = {"card_holder_name": "Ada Lovelace", "card_number": "4000056655665556", "card_cvv": "737",
        "card_full_expiration": "04/31"}  # fmt: skip
SMTP_USER, SMTP_PASSWORD = "reports@agents.test", "smtp-Pass-Word-77"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (the notifier's SMTP server's), trusted by the server under test."""
    return self_signed(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, peer: ChatPeer, certificate: tuple[Path, Path]
) -> Iterator[LiveServer]:
    port = free_port()
    env = {
        "BROWSERFN_LLM_MODEL": "openai/peer-model",
        "BROWSERFN_LLM_BASE_URL": peer.base_url,
        "BROWSERFN_LLM_API_KEY": API_KEY,
        "BROWSERFN_MAIL_DOMAIN": DOMAIN,
        "BROWSERFN_MAIL_HOST": "127.0.0.1",
        "BROWSERFN_MAIL_PORT": str(port),
        "BROWSERFN_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",  # the test's SMTP server
        "SSL_CERT_FILE": str(certificate[0]),
    }
    live = LiveServer(
        tmp_path_factory.mktemp("agents-identities"), warm_processes=0, extra_args=("--browser-pool-size", "1"), env=env
    )
    live.mail_port = port  # type: ignore[attr-defined]
    yield live.start()
    live.stop()


@pytest.fixture(scope="module")
def site() -> Iterator[IdentitySite]:
    served = IdentitySite(LOGIN, PASSWORD, MFA_SECRET, CARD).start()
    yield served
    served.stop()


@pytest.fixture(autouse=True)
def fresh_model(peer: ChatPeer) -> None:
    peer.clear()


def title_of(body: dict[str, Any]) -> str:
    found = re.search(r"^Title: (.*)$", body["messages"][1]["content"], re.M)
    return found.group(1) if found else ""


def field(actions: dict[str, str], label: str) -> str:
    return next(i for i, d in actions.items() if d == f"Fill the field '{label}'")


def wait_ended(server: LiveServer, agent_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        status: dict[str, Any] = httpx.get(f"{server.url}/agents/{agent_id}", headers=server.headers()).json()
        if status["status"] == "closed":
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.3)


def login_model(body: dict[str, Any]) -> str:
    """Logs in with the vault's placeholders: account, password, then the 2FA code."""
    _, actions = page_of(body)
    done = body["messages"][1]["content"].split("Steps so far:", 1)[1].split("Current page:", 1)[0]
    title = title_of(body)
    if title == "Sign in" and "cooljohnny1567" not in done:
        return answer({"type": "fill", "id": field(actions, "Account"), "value": "cooljohnny1567"})
    if title == "Sign in":
        return answer(
            {"type": "fill", "id": field(actions, "Secret word"), "value": "mycoolpassword", "press_enter": True}
        )
    if title == "Two-step check":
        code = field(actions, "Code")
        return answer({"type": "fill", "id": code, "value": "999779", "press_enter": True})
    return answer({"type": "completion", "success": title == "Signed in", "answer": f"ended on {title}"})


def test_an_agent_logs_in_from_a_vault_and_the_model_never_sees_a_secret(
    server: LiveServer, peer: ChatPeer, site: IdentitySite
) -> None:
    with server.client() as api:
        vault_id = api.post("/vaults/create", json={"name": "agent logins"}).json()["vault_id"]
        credentials = {"username": LOGIN, "password": PASSWORD, "mfa_secret": MFA_SECRET}
        added = api.post(f"/vaults/{vault_id}/credentials", json={"url": site.url, "credentials": credentials})
        assert added.status_code == 200, added.text
    peer.reply(*([login_model] * 8))
    got = run_sdk197(
        f"""
        vault = client.Vault({vault_id!r})
        with client.Session() as session:
            agent = client.Agent(session=session, vault=vault, max_steps=6)
            done = agent.run(task="Sign in to the site", url={f"{site.url}/login"!r})
            page = session.scrape()
        report({{"agent_id": agent.agent_id, "success": done.success, "answer": done.answer, "page": str(page)}})
        """,
        url=server.url,
        key=server.key,
    )
    assert (got["success"], got["answer"]) == (True, "ended on Signed in"), got
    assert f"Welcome {LOGIN}" in got["page"]
    posted = dict(site.received[-2:])
    assert posted["/login"] == {"login": LOGIN, "pw": PASSWORD}  # the site got the real values...
    sent = json.dumps(peer.requests)
    for secret in (PASSWORD, MFA_SECRET):
        assert secret not in sent  # ...the model never did
    system = peer.requests[-1]["messages"][0]["content"]
    assert "login credentials for these sites: 127.0.0.1" in system and "mycoolpassword for the password" in system
    status = wait_ended(server, got["agent_id"])
    assert (status["vault_id"], status["persona_id"]) == (vault_id, None)
    assert [s["action"]["type"] for s in status["steps"]] == ["goto", "fill", "fill", "fill", "completion"]
    assert status["steps"][2]["action"]["value"] == "mycoolpassword"  # the placeholder, as the model wrote it
    with server.client() as api:
        code = api.get(f"/agents/{got['agent_id']}/workflow/code", params={"as_workflow": "true"}).json()
        replay = api.get(f"/sessions/{status['session_id']}/replay")
    for shown in (json.dumps(status), json.dumps(code), replay.text, server.log_path.read_text()):
        assert PASSWORD not in shown and MFA_SECRET not in shown
    assert f"client.Session(vault_id={vault_id!r})" in code["python_script"]


def test_a_typescript_agent_logs_in_from_a_vault(server: LiveServer, peer: ChatPeer, site: IdentitySite) -> None:
    with server.client() as api:
        vault_id = api.post("/vaults/create", json={"name": "ts logins"}).json()["vault_id"]
        credentials = {"username": LOGIN, "password": PASSWORD, "mfa_secret": MFA_SECRET}
        api.post(f"/vaults/{vault_id}/credentials", json={"url": site.url, "credentials": credentials})
    peer.reply(*([login_model] * 8))
    got = run_node(
        f"""
        const session = client.Session({{}});
        await session.start();
        const agent = client.Agent({{ session, vault_id: {json.dumps(vault_id)}, max_steps: 6 }});
        const done = await agent.run({{ task: "Sign in to the site", url: {json.dumps(f"{site.url}/login")} }});
        await session.stop();
        report({{ success: done.success, answer: done.answer }});
        await new Promise((resolve) => setTimeout(resolve, 200));
        process.exit(0);  // the client's log socket leaves a timer running
        """,
        url=server.url,
        key=server.key,
        timeout_s=300,
    )
    assert got == {"success": True, "answer": "ended on Signed in"}
    assert dict(site.received[-2:])["/login"] == {"login": LOGIN, "pw": PASSWORD}
    assert PASSWORD not in json.dumps(peer.requests) and MFA_SECRET not in json.dumps(peer.requests)


def persona_model(body: dict[str, Any]) -> str:
    """Reads the persona's mailbox for the code the page asks for, and types it."""
    _, actions = page_of(body)
    done = body["messages"][1]["content"].split("Steps so far:", 1)[1].split("Current page:", 1)[0]
    title = title_of(body)
    if title == "Confirm your e-mail" and "email_read" not in done:
        return answer({"type": "email_read"}, "find the code in the mailbox")
    if title == "Confirm your e-mail":
        code = re.search(r"Your code is (\d{6})", done)
        assert code is not None, done
        return answer({"type": "fill", "id": field(actions, "Code from the e-mail"), "value": code.group(1),
                       "press_enter": True})  # fmt: skip
    return answer({"type": "completion", "success": title == "Confirmed", "answer": title})


def test_an_agent_reads_a_code_from_its_personas_inbox(server: LiveServer, peer: ChatPeer, site: IdentitySite) -> None:
    with server.client() as api:
        persona = api.post("/personas/create", json={"name": "Grace Hopper", "create_vault": True}).json()
    site.code = "482913"
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Shop <no-reply@shop.example>", persona["email"], "Your code"
    message.set_content(f"Hello Grace,\nYour code is {site.code}.\n")
    with smtplib.SMTP("127.0.0.1", server.mail_port, timeout=30) as smtp:  # type: ignore[attr-defined]
        smtp.send_message(message)
    peer.reply(*([persona_model] * 6))
    got = run_sdk197(
        f"""
        persona = client.Persona({persona["persona_id"]!r})
        with client.Session() as session:
            agent = client.Agent(session=session, persona=persona, max_steps=5)
            done = agent.run(task="Confirm the e-mail address with the code sent to it", url={f"{site.url}/verify"!r})
        report({{"agent_id": agent.agent_id, "success": done.success, "answer": done.answer}})
        """,
        url=server.url,
        key=server.key,
    )
    assert (got["success"], got["answer"]) == (True, "Confirmed"), got
    assert site.received[-1] == ("/verify", {"code": "482913"})
    system = peer.requests[-1]["messages"][0]["content"]
    assert f"first name Grace, last name Hopper, e-mail {persona['email']}" in system
    assert '{"type": "email_read"}' in system
    status = wait_ended(server, got["agent_id"])
    assert (status["vault_id"], status["persona_id"]) == (persona["vault_id"], persona["persona_id"])
    assert [s["action"]["type"] for s in status["steps"]] == ["goto", "email_read", "fill", "completion"]
    assert status["steps"][1]["result"]["success"] is True


class _Inbox:
    """aiosmtpd's hooks: keeps each message with who logged in to send it."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.messages.append((str(session.authenticated), envelope.original_content or b""))
        return "250 OK"


def _authenticate(server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=ok)


@pytest.fixture
def smtp_peer(certificate: tuple[Path, Path]) -> Iterator[tuple[_Inbox, int]]:
    """A real SMTP server on 127.0.0.1 requiring STARTTLS and a login, as a mail provider does."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    inbox, port = _Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        authenticator=_authenticate, auth_require_tls=True,
    )  # fmt: skip
    controller.start()
    yield inbox, port
    controller.stop()


def test_an_agents_report_is_emailed_to_its_notifier(
    server: LiveServer, peer: ChatPeer, smtp_peer: tuple[_Inbox, int]
) -> None:
    inbox, port = smtp_peer
    peer.reply(answer({"type": "completion", "success": True, "answer": "all done"}))
    got = run_sdk197(
        f"""
        from typing import Literal
        from notte_core.common.notifier import BaseNotifier
        from pydantic import BaseModel

        # notte_integrations.notifiers.mail, as a user's program has it (that package is not installed here)
        class EmailConfig(BaseModel):
            smtp_server: str
            smtp_port: int = 587
            sender_email: str
            sender_password: str
            receiver_email: str
            subject: str = "Notte Agent Task Report"

        class EmailNotifier(BaseNotifier):
            type: Literal["email"] = "email"
            config: EmailConfig

            def send_message(self, text):
                raise AssertionError("the server sends it")

        notifier = EmailNotifier(config=EmailConfig(smtp_server="127.0.0.1", smtp_port={port},
            sender_email={SMTP_USER!r}, sender_password={SMTP_PASSWORD!r}, receiver_email="me@agents.test"))
        with client.Session() as session:
            done = client.Agent(session=session, notifier=notifier, max_steps=2).run(task="Say that all is done")
        report({{"agent_id": done.agent_id, "success": done.success}})
        """,
        url=server.url,
        key=server.key,
    )
    assert got["success"] is True
    deadline = time.monotonic() + 30
    while not inbox.messages:
        assert time.monotonic() < deadline, "no report was e-mailed"
        time.sleep(0.2)
    authenticated, raw = inbox.messages[0]
    mail = message_from_bytes(raw)
    assert (authenticated, mail["From"], mail["To"], mail["Subject"]) == (
        "True",
        SMTP_USER,
        "me@agents.test",
        "Notte Agent Task Report",
    )
    text = mail.get_payload(decode=True).decode().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "Task: Say that all is done\nStatus: Success" in text and "all done" in text and got["agent_id"] in text
    status = httpx.get(f"{server.url}/agents/{got['agent_id']}", headers=server.headers()).text
    assert SMTP_PASSWORD not in status and SMTP_PASSWORD not in server.log_path.read_text()


def test_others_vaults_and_personas_and_undeliverable_notifiers_are_refused(server: LiveServer, peer: ChatPeer) -> None:
    stranger_key = server.create_key("stranger")
    asked = len(peer.requests)
    with server.client() as api, server.client(stranger_key) as stranger:
        theirs_vault = stranger.post("/vaults/create", json={"name": "theirs"}).json()["vault_id"]
        theirs_persona = stranger.post("/personas/create", json={}).json()["persona_id"]
        sid = api.post("/sessions/start", json={}).json()["session_id"]

        def start(**body: Any) -> httpx.Response:
            return api.post("/agents/start", json={"session_id": sid, "task": "t", **body})

        email = {"smtp_server": "127.0.0.1", "sender_email": "a@b.test", "sender_password": "pw",
                 "receiver_email": "c@d.test"}  # fmt: skip
        refused = [
            ({"vault_id": theirs_vault}, 404, f"vault {theirs_vault} not found"),
            ({"persona_id": theirs_persona}, 404, f"persona {theirs_persona} not found"),
            ({"notifier_config": {"type": "slack", "token": "x", "channel_id": "C1"}}, 422, "'slack'"),
            ({"notifier_config": {"type": "discord", "token": "x", "channel_id": 1}}, 422, "'discord'"),
            ({"notifier_config": {"type": "email", "config": {**email, "smtp_server": "10.0.0.1"}}}, 422,
             "notifier_config.config.smtp_server refused: host '10.0.0.1' is"),
            ({"notifier_config": {"type": "email", "config": {k: v for k, v in email.items() if k != "sender_email"}}},
             422, "sender_email"),
        ]  # fmt: skip
        for body, code, message in refused:
            response = start(**body)
            assert response.status_code == code, (body, response.text)
            assert message in response.json()["message"], (body, response.text)
        assert "cannot be delivered by this server" in start(notifier_config={"type": "slack"}).json()["message"]
        mine = api.post("/personas/create", json={"create_vault": True}).json()
        other_vault = api.post("/vaults/create", json={"name": "another"}).json()["vault_id"]
        mixed = start(persona_id=mine["persona_id"], vault_id=other_vault)
        assert mixed.status_code == 422 and "is not the vault of persona" in mixed.json()["message"]
        assert len(peer.requests) == asked  # nothing was started
        api.delete(f"/sessions/{sid}/stop")
