"""A stored function with one trivial version, and runs of it, for the store's run tests."""

from __future__ import annotations

from browserfn.models import Function, FunctionVersion, Run, RunState, utcnow
from browserfn.store.base import Store
from browserfn.tokens import new_id


async def stored_function(store: Store, account_name: str) -> Function:
    account = await store.ensure_account(account_name)
    now = utcnow()
    fid = new_id()
    function = Function(fid, account.account_id, "f", None, False, "1", ("1",), (), now, now)
    return await store.create_function(function, FunctionVersion(fid, "1", "def run(): ...", (), True, now))


def new_run(function: Function, state: RunState) -> Run:
    now = utcnow()
    return Run(new_id(), function.function_id, "1", function.account_id, "k", state, {}, now, now)
