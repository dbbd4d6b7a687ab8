"""`executor.close()` returns only once nothing of its runs is left: no run task, and no child
process (a fork server still starting, a run process being handed its job) for anyone to reap.
A run caught by the shutdown ends stopped, not active."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from browserfn.api.app import build_services
from browserfn.config import Settings
from browserfn.functions import Upload
from browserfn.models import Principal, RunState
from browserfn.sandbox import proctree


@pytest.mark.timeout(120)
@pytest.mark.parametrize("settle_s", [0.0, 0.3, 3.0])
async def test_close_leaves_no_child_process_and_no_task(tmp_path: Path, settle_s: float) -> None:
    others = set(proctree.children(os.getpid()))  # e.g. a test server another test of this session started
    svc = build_services(Settings(data_dir=tmp_path, warm_processes=1))
    await svc.store.open()
    try:
        await svc.executor.start()
        account = await svc.store.ensure_account("closer")
        key = await svc.store.create_api_key(account.account_id, "k", "hash-closer", "bfn_closer")
        principal = Principal(account.account_id, key.key_id)
        function = await svc.functions.create(
            principal,
            Upload("f.py", b"import time\ndef run():\n    time.sleep(60)\n"),
            name="f",
            description=None,
            shared=False,
            restricted=False,
            timeout_s=None,
        )
        version = await svc.functions.version_of(function, None)
        run = await svc.runs.start(principal, function, version, {}, timeout_s=None, run_id=None)
        await asyncio.sleep(settle_s)  # closed while the fork server starts, or while the run runs
        await svc.executor.close()

        assert set(proctree.children(os.getpid())) - others == set()
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
        ended = await svc.store.get_run(run.run_id)
        assert ended is not None
        assert ended.state is RunState.STOPPED, (ended.state, ended.reason)
    finally:
        await svc.store.close()
