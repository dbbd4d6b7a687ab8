"""Secrets, as ciphertext (encryption is browserfn.secrets'): an account's (scope "") or one of
its functions' (scope: the function's id)."""

from __future__ import annotations

from browserfn.store.tx import Tx


def put(tx: Tx, account_id: str, scope: str, name: str, ciphertext: bytes) -> None:
    tx.run(
        "INSERT INTO secrets(account_id, scope, name, ciphertext) VALUES (:account, :scope, :name, :ciphertext)"
        " ON CONFLICT (account_id, scope, name) DO UPDATE SET ciphertext = excluded.ciphertext",
        {"account": account_id, "scope": scope, "name": name, "ciphertext": ciphertext},
    )


def names(tx: Tx, account_id: str, scope: str) -> list[str]:
    found = tx.all(
        "SELECT name FROM secrets WHERE account_id = :account AND scope = :scope ORDER BY name",
        {"account": account_id, "scope": scope},
    )
    return [r["name"] for r in found]


def delete(tx: Tx, account_id: str, scope: str, name: str) -> bool:
    changed = tx.run(
        "DELETE FROM secrets WHERE account_id = :account AND scope = :scope AND name = :name",
        {"account": account_id, "scope": scope, "name": name},
    )
    return changed == 1


def of_run(tx: Tx, account_id: str, function_id: str) -> list[tuple[str, str, bytes]]:
    """(scope, name, ciphertext) of the account's secrets and the function's."""
    found = tx.all(
        "SELECT scope, name, ciphertext FROM secrets WHERE account_id = :account AND scope IN ('', :function)",
        {"account": account_id, "function": function_id},
    )
    return [(r["scope"], r["name"], bytes(r["ciphertext"])) for r in found]
