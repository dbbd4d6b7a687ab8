"""An agent's `notifier_config`: Notte's e-mail notifier (`notte_integrations.notifiers.mail.
EmailNotifier`, as the client dumps it: `{"type": "email", "config": {...}}`), delivered when the
agent ends. Other notifier types (Slack, Discord) cannot be delivered by this server and are
refused by name.

As Notte's notifier does, the report goes to the caller's SMTP server: STARTTLS (the server's
certificate verified against the system's trusted ones, `SSL_CERT_FILE` honoured), login with the
sender's password, one plain-text message. The host must pass the outbound address policy (as
webhooks: public addresses only unless the operator allows a host), checked at the agent's start
and connected to by the checked address. The config, password included, is held in memory only
for the agent's run: never stored, logged or shown."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from email.message import EmailMessage
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from browserfn.agents.model import Agent
from browserfn.errors import InvalidInput
from browserfn.netpolicy import AddressPolicy

#: The notifier types this server delivers.
DELIVERED = ("email",)
#: Time one delivery may take (connection, TLS, login, message).
SEND_TIMEOUT_S = 30.0
_OneLine = Annotated[str, Field(min_length=1, max_length=320, pattern=r"^[^\r\n]*$")]


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    smtp_server: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]_-]+$")]
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    sender_email: _OneLine
    sender_password: Annotated[str, Field(min_length=1, max_length=1024)]
    receiver_email: _OneLine
    subject: Annotated[str, Field(max_length=998, pattern=r"^[^\r\n]*$")] = "Notte Agent Task Report"


class EmailNotifier(BaseModel):
    """Notte's EmailNotifier, as its `model_dump()` sends it."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["email"]
    config: EmailConfig


def check_type(value: Any) -> Any:
    """A notifier of a type this server cannot deliver is refused naming it (before its fields are read)."""
    kind = value.get("type") if isinstance(value, dict) else None
    if isinstance(value, dict) and kind not in DELIVERED:
        raise ValueError(f"notifier type {kind!r} cannot be delivered by this server: it delivers 'email' notifiers")
    return value


async def check_host(policy: AddressPolicy, notifier: EmailNotifier) -> None:
    """Refuse (422) an SMTP server the outbound policy does not allow, at the agent's start."""
    try:
        await policy.resolve(notifier.config.smtp_server, notifier.config.smtp_port)
    except InvalidInput as exc:
        raise InvalidInput(f"notifier_config.config.smtp_server refused: {exc.message}") from exc


def report(agent: Agent) -> str:
    """The message: the task, whether it succeeded, the agent's answer."""
    return (
        "Notte Agent Report\n\nTask Details:\n-------------\n"
        f"Task: {agent.task}\nStatus: {'Success' if agent.success else 'Failed'}\n\n"
        f"Agent Response:\n--------------\n{agent.answer or ''}\n\nAgent {agent.agent_id}\n"
    )


class _PinnedSMTP(smtplib.SMTP):
    """SMTP to an address the policy checked, while TLS still verifies the host's name."""

    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        self._address = address
        super().__init__(host, port, timeout=timeout)  # connects (to `address`)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return socket.create_connection((self._address, port), timeout, self.source_address)


def _send(address: str, config: EmailConfig, text: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = config.sender_email, config.receiver_email, config.subject
    message.set_content(text)
    with _PinnedSMTP(address, config.smtp_server, config.smtp_port, SEND_TIMEOUT_S) as smtp:
        smtp.starttls(context=ssl.create_default_context())
        smtp.login(config.sender_email, config.sender_password)
        smtp.send_message(message)


async def deliver(policy: AddressPolicy, notifier: EmailNotifier, agent: Agent) -> None:
    """Send the agent's report (OSError, smtplib.SMTPException, InvalidInput when it cannot)."""
    addresses = await policy.resolve(notifier.config.smtp_server, notifier.config.smtp_port)
    await asyncio.to_thread(_send, addresses[0], notifier.config, report(agent))
