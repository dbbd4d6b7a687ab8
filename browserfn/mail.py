"""The SMTP listener that receives personas' mail (aiosmtpd, on the server's event loop).

Started by the server when the operator sets `mail_domain` and `mail_port` (the domain's MX record
points at this machine; see docs/operators.md). It accepts mail only for the addresses of existing
personas on `mail_domain` (anything else: 550 at RCPT, before the message is sent), refuses a
message over `mail_max_message_bytes` (552), and keeps each persona's newest
`mail_max_messages_per_persona` messages (older ones are dropped as new ones arrive).
"""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
import logging
import secrets as token_source
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from browserfn.config import Settings
from browserfn.models import utcnow
from browserfn.store.base import Store
from browserfn.store.ops import personas as ops
from browserfn.store.ops.personas import EmailRecord, PersonaRecord
from browserfn.store.tx import storable

log = logging.getLogger(__name__)
#: Recipients one message may have (RFC 5321 asks servers to take at least 100).
MAX_RECIPIENTS = 100
MAX_SUBJECT_CHARS = 998


def _body(message: EmailMessage, kind: str) -> str | None:
    part = message.get_body(preferencelist=(kind,))
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset, broken encoding: the raw payload, decoded leniently
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    # SMTP carries CRLF line ends; bodies are kept with the \n a script expects.
    return content.replace("\r\n", "\n") if isinstance(content, str) else None


def parse_message(raw: bytes, persona: PersonaRecord) -> EmailRecord:
    """One received message as the persona's stored e-mail (subject, sender, text and HTML bodies)."""
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    sender_name, sender_email = email.utils.parseaddr(str(message.get("From", "")))
    return EmailRecord(
        email_id=f"email_{token_source.token_hex(12)}",
        persona_id=persona.persona_id,
        account_id=persona.account_id,
        received_at=utcnow(),
        sender_email=sender_email or None,
        sender_name=sender_name or None,
        subject=str(message.get("Subject", ""))[:MAX_SUBJECT_CHARS],
        text_content=_body(message, "plain"),
        html_content=_body(message, "html"),
    )


class _Handler:
    """aiosmtpd's hooks: recipients checked against the personas, messages stored for each."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._domain = (settings.mail_domain or "").lower()
        self._keep = settings.mail_max_messages_per_persona
        self._store = store

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        address = address.strip().lower()
        if not storable(address):  # NUL or not valid Unicode: no persona has such an address
            return "550 5.1.1 no such mailbox here"
        if not address.endswith("@" + self._domain):
            return "550 5.7.1 relaying denied: this server receives mail for " + self._domain + " only"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 too many recipients"
        if await self._store.call(ops.by_address, address) is None:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        content = raw if isinstance(raw, bytes) else raw.encode()
        stored = 0
        for address in dict.fromkeys(envelope.rcpt_tos):
            persona = await self._store.call(ops.by_address, address)
            if persona is not None and await self._store.call(
                ops.add_email, parse_message(content, persona), self._keep
            ):
                stored += 1  # (a persona deleted since RCPT gets nothing)
        if not stored:
            return "550 5.1.1 no such mailbox here"
        return "250 OK: delivered"


class MailListener:
    """Listens for SMTP on (mail_host, mail_port) while the server runs; `port` is the one bound
    (mail_port 0 in tests: any free one is not allowed, the setting says which)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._handler = _Handler(settings, store)
        self._server: asyncio.Server | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._settings.mail_domain and self._settings.mail_port)

    def _protocol(self) -> Any:
        return SMTP(
            self._handler,
            data_size_limit=self._settings.mail_max_message_bytes,
            hostname=self._settings.mail_domain,
            ident="browserfn",
        )

    async def start(self) -> None:
        if not self.enabled:
            return
        loop = asyncio.get_running_loop()
        host, port = self._settings.mail_host, self._settings.mail_port
        self._server = await loop.create_server(self._protocol, host=host, port=port)
        log.info("mail for @%s received on %s:%s", self._settings.mail_domain, host, port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


def mail_listener(services: Any) -> MailListener:
    """The server's listener on its store (an SMS provider setting is refused here, at start:
    browserfn implements none, and a setting must not be accepted and ignored)."""
    settings: Settings = services.settings
    if settings.sms_provider:
        raise ValueError(f"BROWSERFN_SMS_PROVIDER={settings.sms_provider!r}: browserfn implements no SMS provider yet")
    return MailListener(settings, services.store)
