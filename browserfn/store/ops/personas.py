"""Personas and the mail they received. A persona's addresses are unique across the server (the
SMTP listener finds the persona by address, whatever its account); every other call names the
account and sees only its personas."""

from __future__ import annotations

import dataclasses
import datetime as dt

from browserfn.errors import NotFound
from browserfn.store.ops import vaults
from browserfn.store.tx import Row, Tx, in_list, insert_sql, text, untext, when


@dataclasses.dataclass(frozen=True)
class PersonaRecord:
    persona_id: str
    account_id: str
    name: str | None
    first_name: str
    last_name: str
    email: str  #: the readable address
    internal_email: str  #: <persona_id>@domain
    vault_id: str | None
    created_at: dt.datetime
    status: str = "active"


@dataclasses.dataclass(frozen=True)
class EmailRecord:
    email_id: str
    persona_id: str
    account_id: str
    received_at: dt.datetime
    sender_email: str | None
    sender_name: str | None
    subject: str
    text_content: str | None
    html_content: str | None
    seen: bool = False


PERSONA_COLUMNS = tuple(f.name for f in dataclasses.fields(PersonaRecord))
EMAIL_COLUMNS = tuple(f.name for f in dataclasses.fields(EmailRecord))
INSERT_PERSONA = insert_sql("personas", PERSONA_COLUMNS)
INSERT_EMAIL = insert_sql("persona_emails", EMAIL_COLUMNS)
#: Mail is free text from anyone: stored escaped where PostgreSQL's TEXT could not hold it (NUL).
_FREE_TEXT = ("sender_email", "sender_name", "subject", "text_content", "html_content")


def persona(row: Row) -> PersonaRecord:
    values = {name: row[name] for name in PERSONA_COLUMNS}
    return PersonaRecord(**{**values, "created_at": when(row["created_at"])})


def email(row: Row) -> EmailRecord:
    values = {name: row[name] for name in EMAIL_COLUMNS} | {name: untext(row[name]) for name in _FREE_TEXT}
    return EmailRecord(**{**values, "received_at": when(row["received_at"]), "seen": bool(row["seen"])})


def create(tx: Tx, record: PersonaRecord, vault: vaults.VaultRecord | None) -> None:
    """The persona, and the vault made for it, in one transaction."""
    if vault is not None:
        vaults.create(tx, vault)
    tx.run(INSERT_PERSONA, dataclasses.asdict(record))


def get(tx: Tx, account_id: str, persona_id: str) -> PersonaRecord | None:
    row = tx.one(
        "SELECT * FROM personas WHERE persona_id = :id AND account_id = :account",
        {"id": persona_id, "account": account_id},
    )
    return persona(row) if row is not None else None


def owned(tx: Tx, account_id: str, persona_id: str) -> PersonaRecord:
    found = get(tx, account_id, persona_id)
    if found is None:
        raise NotFound(f"persona {persona_id} not found")
    return found


def by_vault(tx: Tx, account_id: str, vault_id: str) -> PersonaRecord | None:
    row = tx.one(
        "SELECT * FROM personas WHERE vault_id = :vault AND account_id = :account",
        {"vault": vault_id, "account": account_id},
    )
    return persona(row) if row is not None else None


def by_address(tx: Tx, address: str) -> PersonaRecord | None:
    row = tx.one("SELECT * FROM personas WHERE email = :a OR internal_email = :a", {"a": address.lower()})
    return persona(row) if row is not None else None


def listing(tx: Tx, account_id: str, offset: int, limit: int) -> list[PersonaRecord]:
    found = tx.all(
        "SELECT * FROM personas WHERE account_id = :account ORDER BY seq DESC LIMIT :limit OFFSET :offset",
        {"account": account_id, "limit": limit, "offset": offset},
    )
    return [persona(row) for row in found]


def rename(tx: Tx, account_id: str, persona_id: str, name: str) -> PersonaRecord:
    owned(tx, account_id, persona_id)
    tx.run("UPDATE personas SET name = :name WHERE persona_id = :id", {"name": name, "id": persona_id})
    return owned(tx, account_id, persona_id)


def delete(tx: Tx, account_id: str, persona_id: str) -> None:
    """The persona, its mail, and the vault made for it, in one transaction."""
    found = owned(tx, account_id, persona_id)
    tx.run("DELETE FROM persona_emails WHERE persona_id = :id", {"id": persona_id})
    tx.run("DELETE FROM personas WHERE persona_id = :id", {"id": persona_id})
    if found.vault_id is not None:
        made_for_it = vaults.get(tx, account_id, found.vault_id)
        if made_for_it is not None and made_for_it.for_persona:
            vaults.delete(tx, account_id, found.vault_id)


def add_email(tx: Tx, record: EmailRecord, keep: int) -> bool:
    """Store a received message, then drop the persona's oldest beyond the newest `keep`. False if
    the persona is gone meanwhile."""
    tx.lock(f"persona-mail:{record.persona_id}")
    if tx.value("SELECT 1 FROM personas WHERE persona_id = :id", {"id": record.persona_id}) is None:
        return False
    values = dataclasses.asdict(record) | {name: text(getattr(record, name)) for name in _FREE_TEXT}
    tx.run(INSERT_EMAIL, values)
    tx.run(
        "DELETE FROM persona_emails WHERE persona_id = :id AND seq NOT IN"
        " (SELECT seq FROM persona_emails WHERE persona_id = :id ORDER BY seq DESC LIMIT :keep)",
        {"id": record.persona_id, "keep": keep},
    )
    return True


def read_emails(
    tx: Tx, account_id: str, persona_id: str, since: dt.datetime | None, only_unread: bool, limit: int
) -> list[EmailRecord]:
    """The persona's newest messages (received since `since`, unread only if asked); those returned
    are marked read."""
    owned(tx, account_id, persona_id)
    conditions = (
        "persona_id = :id" + (" AND received_at >= :since" if since else "") + (" AND NOT seen" if only_unread else "")
    )
    rows = tx.all(
        f"SELECT * FROM persona_emails WHERE {conditions} ORDER BY seq DESC LIMIT :limit",
        {"id": persona_id, "since": since, "limit": limit},
    )
    found = [email(row) for row in rows]
    if found:
        marks, params = in_list("e", [e.email_id for e in found])
        tx.run(f"UPDATE persona_emails SET seen = :yes WHERE email_id IN ({marks})", {"yes": True, **params})
    return found
