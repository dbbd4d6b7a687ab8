"""Accounts, their API keys, who holds a secret (a key, or a running run's token), and the
deployment's own random secret."""

from __future__ import annotations

import secrets

from browserfn.models import Account, ApiKey, Principal, RunState, utcnow
from browserfn.store.tx import Row, Tx, when, when_or_none
from browserfn.tokens import new_id


def api_key(row: Row) -> ApiKey:
    return ApiKey(
        row["key_id"],
        row["account_id"],
        row["name"],
        row["prefix"],
        when(row["created_at"]),
        when_or_none(row["revoked_at"]),
    )


def ensure_account(tx: Tx, name: str) -> Account:
    tx.run(
        "INSERT INTO accounts(account_id, name, created_at) VALUES (:id, :name, :now) ON CONFLICT (name) DO NOTHING",
        {"id": new_id(), "name": name, "now": utcnow()},
    )
    row = tx.one("SELECT * FROM accounts WHERE name = :name", {"name": name})
    assert row is not None
    return Account(row["account_id"], row["name"], when(row["created_at"]))


def create_api_key(tx: Tx, key: ApiKey, secret_hash: str) -> ApiKey:
    tx.run(
        "INSERT INTO api_keys(key_id, account_id, name, prefix, secret_hash, created_at)"
        " VALUES (:key_id, :account_id, :name, :prefix, :secret_hash, :created_at)",
        {
            "key_id": key.key_id,
            "account_id": key.account_id,
            "name": key.name,
            "prefix": key.prefix,
            "secret_hash": secret_hash,
            "created_at": key.created_at,
        },
    )
    return key


def list_api_keys(tx: Tx, account_id: str) -> list[ApiKey]:
    found = tx.all("SELECT * FROM api_keys WHERE account_id = :account ORDER BY created_at", {"account": account_id})
    return [api_key(r) for r in found]


def revoke_api_key(tx: Tx, account_id: str, key_id: str) -> bool:
    changed = tx.run(
        "UPDATE api_keys SET revoked_at = :now WHERE key_id = :key AND account_id = :account AND revoked_at IS NULL",
        {"now": utcnow(), "key": key_id, "account": account_id},
    )
    return changed == 1


def find_principal(tx: Tx, secret_hash: str) -> Principal | None:
    params = {"hash": secret_hash, "running": RunState.RUNNING.value}
    row = tx.one("SELECT account_id, key_id FROM api_keys WHERE secret_hash = :hash AND revoked_at IS NULL", params)
    if row is not None:
        return Principal(row["account_id"], row["key_id"])
    row = tx.one("SELECT account_id, key_id, run_id FROM runs WHERE token_hash = :hash AND state = :running", params)
    return Principal(row["account_id"], row["key_id"], row["run_id"]) if row is not None else None


def server_secret(tx: Tx) -> bytes:
    tx.run(
        "INSERT INTO server_secrets(name, value) VALUES ('links', :value) ON CONFLICT (name) DO NOTHING",
        {"value": secrets.token_bytes(32)},
    )
    return bytes(tx.value("SELECT value FROM server_secrets WHERE name = 'links'"))
