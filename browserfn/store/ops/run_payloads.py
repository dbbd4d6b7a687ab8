"""Large run payloads (browserfn/run_payloads.py): an upload slot made for one field of one run,
filled once by the signed upload, taken when the run is reported."""

from __future__ import annotations

import dataclasses

from browserfn.models import utcnow
from browserfn.store.tx import Row, Tx, insert_sql

COLUMNS = ("upload_id", "run_id", "account_id", "field", "size_bytes", "sha256", "content", "created_at")
INSERT = insert_sql("run_payloads", COLUMNS)


@dataclasses.dataclass(frozen=True)
class Slot:
    upload_id: str
    run_id: str
    account_id: str
    field: str
    size_bytes: int
    sha256: str  #: base64 of the SHA-256 digest, as Notte's references carry it
    content: bytes | None


def slot(row: Row) -> Slot:
    content = row["content"]
    return Slot(
        upload_id=row["upload_id"],
        run_id=row["run_id"],
        account_id=row["account_id"],
        field=row["field"],
        size_bytes=int(row["size_bytes"]),
        sha256=row["sha256"],
        content=None if content is None else bytes(content),
    )


def create(tx: Tx, upload_id: str, run_id: str, account_id: str, field: str, size_bytes: int, sha256: str) -> None:
    values = {"upload_id": upload_id, "run_id": run_id, "account_id": account_id, "field": field}
    tx.run(INSERT, {**values, "size_bytes": size_bytes, "sha256": sha256, "content": None, "created_at": utcnow()})


def get(tx: Tx, upload_id: str) -> Slot | None:
    row = tx.one("SELECT * FROM run_payloads WHERE upload_id = :id", {"id": upload_id})
    return slot(row) if row is not None else None


def fill(tx: Tx, upload_id: str, content: bytes) -> bool:
    """Store the uploaded bytes, once; False if the slot is gone or already filled."""
    changed = tx.run(
        "UPDATE run_payloads SET content = :content WHERE upload_id = :id AND content IS NULL",
        {"id": upload_id, "content": content},
    )
    return changed == 1


def delete_for_run(tx: Tx, run_id: str) -> int:
    return tx.run("DELETE FROM run_payloads WHERE run_id = :run", {"run": run_id})
