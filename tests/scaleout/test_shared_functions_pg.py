"""The run-key model on PostgreSQL, with runs on a worker: a run of another account's shared
function gets no secrets and a guest key; a run key is refused the account's keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from tests.conftest import deploy
from tests.scaleout.cluster import Cluster

SCRIPT = """
import os, requests

def run():
    url, key = os.environ["NOTTE_API_URL"], os.environ["NOTTE_API_KEY"]
    keys = requests.post(url + "/keys", headers={"x-notte-api-key": key}, json={"name": "stolen"}, timeout=60)
    return {"kind": key[:4], "env": sorted(os.environ), "create_key": keys.status_code}
"""


def _run(client: httpx.Client, function_id: str) -> dict[str, Any]:
    body = {"workflow_id": function_id, "variables": {}, "stream": False}
    answer = client.post(f"/functions/{function_id}/runs/start", json=body).json()
    assert answer["status"] == "closed", answer
    found: dict[str, Any] = answer["result"]
    return found


def test_guest_and_own_runs_on_a_worker(pg_dsn: str, tmp_path: Path) -> None:
    cluster = Cluster(pg_dsn, tmp_path, secrets_key=Fernet.generate_key().decode(), rate_limit_per_s=0)
    try:
        api = cluster.api()
        cluster.worker(api)
        author_key, caller_key = cluster.create_key("author"), cluster.create_key("caller")
        with (
            httpx.Client(base_url=str(api.url), headers={"x-notte-api-key": author_key}, timeout=120) as author,
            httpx.Client(base_url=str(api.url), headers={"x-notte-api-key": caller_key}, timeout=120) as caller,
        ):
            function_id = deploy(author, SCRIPT, "envy", restricted=False, shared="True")["function_id"]
            assert author.put("/secrets/AUTHOR_TOKEN", json={"value": "author-123456"}).status_code == 200
            assert caller.put("/secrets/CALLER_TOKEN", json={"value": "caller-123456"}).status_code == 200
            guest, own = _run(caller, function_id), _run(author, function_id)
            keys = [k["name"] for k in caller.get("/keys").json()["items"] + author.get("/keys").json()["items"]]
        assert (guest["kind"], guest["create_key"]) == ("bfg_", 403)
        assert not {"AUTHOR_TOKEN", "CALLER_TOKEN"} & set(guest["env"])
        assert (own["kind"], own["create_key"], "AUTHOR_TOKEN" in own["env"]) == ("bfr_", 403, True)
        assert "stolen" not in json.dumps(keys)
    finally:
        cluster.close()
