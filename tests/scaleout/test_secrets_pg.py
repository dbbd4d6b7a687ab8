"""Secrets in the scale-out mode: stored encrypted in PostgreSQL, readable by any worker that has
the deployment's shared key, masked in what the run leaves."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import psycopg
from cryptography.fernet import Fernet

from browserfn.models import utcnow
from browserfn.store.ops import profiles
from browserfn.store.postgres import PostgresStore
from tests.conftest import deploy
from tests.scaleout.cluster import Cluster

SCRIPT = """
import os

def run():
    print("token", os.environ["API_TOKEN"])
    return len(os.environ["API_TOKEN"])
"""


def test_a_secret_set_on_one_server_reaches_a_run_on_a_worker(pg_dsn: str, tmp_path: Path) -> None:
    cluster = Cluster(pg_dsn, tmp_path, secrets_key=Fernet.generate_key().decode())
    try:
        first, second = cluster.api(), cluster.api()
        cluster.worker(second)
        with httpx.Client(base_url=str(first.url), headers=cluster.headers(), timeout=60) as client:
            function_id = deploy(client, SCRIPT, "secretive", restricted=False)["function_id"]
            put = client.put(f"/functions/{function_id}/secrets/API_TOKEN", json={"value": "tok-123456"})
            assert put.status_code == 200, put.text
        with httpx.Client(base_url=str(second.url), headers=cluster.headers(), timeout=60) as client:
            body = {"workflow_id": function_id, "variables": {}, "stream": False}
            answer = client.post(f"/functions/{function_id}/runs/start", json=body).json()
            run = client.get(f"/functions/{function_id}/runs/{answer['function_run_id']}").json()
        assert (answer["status"], answer["result"]) == ("closed", 10)
        assert [line.split(" | ", 3)[3] for line in run["logs"]] == ["token ***"]
        assert json.loads(run["result"]) == 10
    finally:
        cluster.close()


def test_without_a_shared_key_secrets_and_profiles_are_refused_with_the_setting_to_use(
    pg_dsn: str, tmp_path: Path
) -> None:
    cluster = Cluster(pg_dsn, tmp_path)
    try:
        api = cluster.api()
        with httpx.Client(base_url=str(api.url), headers=cluster.headers(), timeout=60) as client:
            secret = client.put("/secrets/API_TOKEN", json={"value": "tok-123456"})
            profile = client.post("/profiles/create", json={"name": "shop"})  # its state is sealed the same way
            profiles = client.get("/profiles").json()["items"]
            asyncio.run(_legacy_profile(pg_dsn, "notte-profile-00000000000000aa"))  # saved before sealing
            readable = client.get("/profiles/notte-profile-00000000000000aa")
            persisting = client.post(  # its state could not be saved back at the close: refused now
                "/sessions/start", json={"profile": {"id": "notte-profile-00000000000000aa", "persist": True}}
            )
            sessions = client.get("/sessions", params={"only_active": False}).json()["items"]
        assert readable.status_code == 200, readable.text
        assert sessions == []
        for answer in (secret, profile, persisting):
            assert answer.status_code == 409
            assert answer.json() == {
                "status": 409,
                "message": "secrets in the scale-out mode need a shared key: set BROWSERFN_SECRETS_KEY (a Fernet key) "
                "to the same value on every machine",
            }
        assert profiles == []  # nothing half-made
    finally:
        cluster.close()


async def _legacy_profile(dsn: str, profile_id: str) -> None:
    """A profile of the deployment's one account as a server before sealing saved it: plain JSON."""
    store = PostgresStore(dsn)
    await store.open()
    try:
        with psycopg.connect(dsn) as conn:
            account = conn.execute("SELECT account_id FROM api_keys").fetchone()
        assert account is not None
        state = {"cookies": [], "local_storage": {}}
        await store.call(profiles.create, account[0], profile_id, "old", state, utcnow())
    finally:
        await store.close()
