"""What a worker needs to start a run, read in the transaction that marks it running: the run,
the version it runs, whether it is a guest of the function's account, the secrets it gets and
the vault values its output is masked of. One transaction instead of one per read."""

from __future__ import annotations

import dataclasses
import datetime as dt

from browserfn.models import FunctionVersion, Run, RunState
from browserfn.store.ops import functions, runs, secrets, vaults
from browserfn.store.tx import Tx


@dataclasses.dataclass(frozen=True)
class RunStart:
    run: Run
    #: None: the function was deleted, or this version of it is gone.
    version: FunctionVersion | None
    #: The function belongs to another account (it is shared): the run gets no secrets and the
    #: guest key, whose hash replaced the owner's in the same transaction (SECURITY.md).
    guest: bool
    #: (scope, name, ciphertext) of the account's and the function's secrets; none for a guest.
    secrets: list[tuple[str, str, bytes]]
    #: Every sealed credential and card of the account's vaults.
    vault_sealed: list[bytes]


_VERSION = (
    "SELECT v.*, f.account_id AS owner FROM function_versions v JOIN functions f USING (function_id)"
    " WHERE v.function_id = :id AND v.version = :version AND f.deleted_at IS NULL"
)


def begin(tx: Tx, run_id: str, started_at: dt.datetime, token_hash: str, guest_token_hash: str) -> RunStart | None:
    """Move a queued run to running with the owner's key (`token_hash`), or the guest's when the
    function is another account's; None if the run was no longer queued (stopped meanwhile)."""
    fields = {"started_at": started_at, "token_hash": token_hash}
    started = runs.transition(tx, run_id, [RunState.QUEUED], RunState.RUNNING, fields)
    if started is None:
        return None
    found = tx.one(_VERSION, {"id": started.function_id, "version": started.function_version})
    if found is None:
        return RunStart(started, None, False, [], [])
    guest = found["owner"] != started.account_id
    if guest:
        tx.send("UPDATE runs SET token_hash = :hash WHERE run_id = :id", {"hash": guest_token_hash, "id": run_id})
    found_secrets = [] if guest else secrets.of_run(tx, started.account_id, started.function_id)
    return RunStart(
        started, functions.function_version(found), guest, found_secrets, vaults.sealed_secrets(tx, started.account_id)
    )
