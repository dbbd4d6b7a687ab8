"""Vaults, their credentials per site and their card. Secret parts arrive sealed (browserfn/vaults.py
encrypts them); this module never sees a secret in the clear. Every call naming an account sees only
that account's vaults: another's is not found."""

from __future__ import annotations

import dataclasses
import datetime as dt

from browserfn.errors import InvalidInput, NotFound
from browserfn.store.tx import Row, Tx, insert_sql, when


@dataclasses.dataclass(frozen=True)
class VaultRecord:
    vault_id: str
    account_id: str
    name: str
    for_persona: bool
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class CredentialRecord:
    vault_id: str
    url: str  #: the site's registrable domain
    email: str | None
    username: str | None
    sealed: bytes  #: {"password", "mfa_secret"?} as JSON, sealed with the secrets key
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class CardRecord:
    vault_id: str
    sealed: bytes  #: the four card fields as JSON, sealed
    created_at: dt.datetime


VAULT_COLUMNS = ("vault_id", "account_id", "name", "for_persona", "created_at")
CREDENTIAL_COLUMNS = ("vault_id", "url", "email", "username", "sealed", "created_at")
INSERT_VAULT = insert_sql("vaults", VAULT_COLUMNS)
UPSERT_CREDENTIAL = insert_sql("vault_credentials", CREDENTIAL_COLUMNS) + (
    " ON CONFLICT (vault_id, url) DO UPDATE SET email = excluded.email, username = excluded.username,"
    " sealed = excluded.sealed, created_at = excluded.created_at"
)
UPSERT_CARD = (
    "INSERT INTO vault_cards(vault_id, sealed, created_at) VALUES (:vault_id, :sealed, :created_at)"
    " ON CONFLICT (vault_id) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at"
)


def vault(row: Row) -> VaultRecord:
    return VaultRecord(
        row["vault_id"], row["account_id"], row["name"], bool(row["for_persona"]), when(row["created_at"])
    )


def credential(row: Row) -> CredentialRecord:
    return CredentialRecord(
        row["vault_id"], row["url"], row["email"], row["username"], bytes(row["sealed"]), when(row["created_at"])
    )


def create(tx: Tx, record: VaultRecord) -> None:
    tx.run(INSERT_VAULT, dataclasses.asdict(record))


def get(tx: Tx, account_id: str, vault_id: str) -> VaultRecord | None:
    row = tx.one(
        "SELECT * FROM vaults WHERE vault_id = :id AND account_id = :account", {"id": vault_id, "account": account_id}
    )
    return vault(row) if row is not None else None


def owned(tx: Tx, account_id: str, vault_id: str) -> VaultRecord:
    found = get(tx, account_id, vault_id)
    if found is None:
        raise NotFound(f"vault {vault_id} not found")
    return found


def listing(tx: Tx, account_id: str, offset: int, limit: int) -> list[VaultRecord]:
    found = tx.all(
        "SELECT * FROM vaults WHERE account_id = :account ORDER BY seq DESC LIMIT :limit OFFSET :offset",
        {"account": account_id, "limit": limit, "offset": offset},
    )
    return [vault(row) for row in found]


def rename(tx: Tx, account_id: str, vault_id: str, name: str) -> VaultRecord:
    owned(tx, account_id, vault_id)
    tx.run("UPDATE vaults SET name = :name WHERE vault_id = :id", {"name": name, "id": vault_id})
    return owned(tx, account_id, vault_id)


def _delete_contents(tx: Tx, vault_id: str) -> None:
    tx.run("DELETE FROM vault_credentials WHERE vault_id = :id", {"id": vault_id})
    tx.run("DELETE FROM vault_cards WHERE vault_id = :id", {"id": vault_id})
    tx.run("DELETE FROM vaults WHERE vault_id = :id", {"id": vault_id})


def delete(tx: Tx, account_id: str, vault_id: str) -> VaultRecord:
    """The vault with its credentials and card, in one transaction."""
    found = owned(tx, account_id, vault_id)
    _delete_contents(tx, vault_id)
    return found


def put_credential(tx: Tx, account_id: str, record: CredentialRecord, max_per_vault: int) -> None:
    """Set the credential of `record.url` in an owned vault (replacing the site's earlier one)."""
    owned(tx, account_id, record.vault_id)
    tx.lock(f"vault:{record.vault_id}")
    params = {"id": record.vault_id, "url": record.url}
    exists = tx.value("SELECT 1 FROM vault_credentials WHERE vault_id = :id AND url = :url", params)
    count = tx.value("SELECT COUNT(*) FROM vault_credentials WHERE vault_id = :id", params)
    if exists is None and int(count or 0) >= max_per_vault:
        raise InvalidInput(f"a vault holds at most {max_per_vault} credentials")
    tx.run(UPSERT_CREDENTIAL, dataclasses.asdict(record))


def credentials(tx: Tx, account_id: str, vault_id: str) -> list[CredentialRecord]:
    owned(tx, account_id, vault_id)
    rows = tx.all("SELECT * FROM vault_credentials WHERE vault_id = :id ORDER BY url", {"id": vault_id})
    return [credential(row) for row in rows]


def get_credential(tx: Tx, account_id: str, vault_id: str, url: str) -> CredentialRecord | None:
    owned(tx, account_id, vault_id)
    row = tx.one("SELECT * FROM vault_credentials WHERE vault_id = :id AND url = :url", {"id": vault_id, "url": url})
    return credential(row) if row is not None else None


def delete_credential(tx: Tx, account_id: str, vault_id: str, url: str) -> bool:
    owned(tx, account_id, vault_id)
    return tx.run("DELETE FROM vault_credentials WHERE vault_id = :id AND url = :url", {"id": vault_id, "url": url}) > 0


def put_card(tx: Tx, account_id: str, record: CardRecord) -> None:
    owned(tx, account_id, record.vault_id)
    tx.run(UPSERT_CARD, dataclasses.asdict(record))


def get_card(tx: Tx, account_id: str, vault_id: str) -> CardRecord | None:
    owned(tx, account_id, vault_id)
    row = tx.one("SELECT * FROM vault_cards WHERE vault_id = :id", {"id": vault_id})
    return CardRecord(row["vault_id"], bytes(row["sealed"]), when(row["created_at"])) if row is not None else None


def delete_card(tx: Tx, account_id: str, vault_id: str) -> bool:
    owned(tx, account_id, vault_id)
    return tx.run("DELETE FROM vault_cards WHERE vault_id = :id", {"id": vault_id}) > 0


def sealed_secrets(tx: Tx, account_id: str) -> list[bytes]:
    """Every sealed credential and card of the account's vaults (for masking its runs' output)."""
    rows = tx.all(
        "SELECT c.sealed FROM vault_credentials c JOIN vaults v ON v.vault_id = c.vault_id"
        " WHERE v.account_id = :a UNION ALL"
        " SELECT k.sealed FROM vault_cards k JOIN vaults v ON v.vault_id = k.vault_id WHERE v.account_id = :a",
        {"a": account_id},
    )
    return [bytes(row["sealed"]) for row in rows]
