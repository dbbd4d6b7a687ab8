"""Secrets: set through the API, encrypted at rest, given to runs as environment variables, and
never seen again: not in stored logs, results, error messages or any API response."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import uuid
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from tests.live_server import LiveServer
from tests.security.helpers import deploy, run

LEAKY = """
import hashlib, os, sys
def run(fail: bool = False):
    token = os.environ["SERVICE_TOKEN"]
    shared = os.environ["SHARED_TOKEN"]
    print("the token is", token)
    print("shared:", shared, file=sys.stderr)
    if fail:
        raise RuntimeError(f"could not log in with {token}")
    return {"token": token, "nested": [shared], "sha": hashlib.sha256(token.encode()).hexdigest()}
"""


def test_a_printed_returned_and_raised_secret_is_masked_everywhere(server: LiveServer) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    shared = f"acct-{uuid.uuid4().hex}"
    key = server.create_key(f"secrets-{uuid.uuid4().hex[:8]}")
    with server.client(key, timeout=180) as api:
        function_id = deploy(api, LEAKY)
        put = api.put(f"/functions/{function_id}/secrets/SERVICE_TOKEN", json={"value": secret})
        assert put.json() == {"status": "success", "name": "SERVICE_TOKEN"}
        assert api.put("/secrets/SHARED_TOKEN", json={"value": shared}).status_code == 200
        assert api.get(f"/functions/{function_id}/secrets").json() == {"items": ["SERVICE_TOKEN"]}
        assert api.get("/secrets").json() == {"items": ["SHARED_TOKEN"]}

        ok = run(api, function_id)
        failed = run(api, function_id, fail=True)
        assert ok["state"] == "succeeded"
        ok_sha = hashlib.sha256(secret.encode()).hexdigest()  # the run did get the real value
        assert json.loads(ok["result"]) == {"token": "***", "nested": ["***"], "sha": ok_sha}
        assert any(line.endswith("the token is ***") for line in ok["logs"]), ok["logs"]
        assert any(line.endswith("shared: ***") for line in ok["logs"]), ok["logs"]
        assert failed["state"] == "failed"
        assert "RuntimeError: could not log in with ***" in failed["result"]

        start = {"workflow_id": function_id, "variables": {}}
        direct = api.post(f"/functions/{function_id}/runs/start", json={**start, "stream": False})
        streamed = api.post(f"/functions/{function_id}/runs/start", json={**start, "stream": True})
        assert direct.json()["result"] == {"token": "***", "nested": ["***"], "sha": ok_sha}
        assert "the token is ***" in streamed.text
        seen = [
            direct.text,
            streamed.text,
            api.get(f"/functions/{function_id}/runs").text,
            api.get(f"/functions/{function_id}/runs/{ok['function_run_id']}").text,
            api.get(f"/functions/{function_id}/runs/{failed['function_run_id']}").text,
            api.get(f"/functions/{function_id}/secrets").text,
            api.get("/secrets").text,
            json.dumps(ok),
            json.dumps(failed),
        ]
        assert all(secret not in text and shared not in text for text in seen)

    # At rest: neither value appears in any file of the data directory.
    for path in server.data_dir.iterdir():
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data and shared.encode() not in data, path
    assert os.stat(server.data_dir / "secrets.key").st_mode & 0o777 == 0o600
    assert os.stat(server.data_dir).st_mode & 0o777 == 0o700
    with sqlite3.connect(server.data_dir / "browserfn.sqlite3") as db:
        names = {row[0] for row in db.execute("SELECT name FROM secrets")}
    assert {"SERVICE_TOKEN", "SHARED_TOKEN"} <= names


def test_function_secret_overrides_account_secret_and_delete_works(server: LiveServer) -> None:
    key = server.create_key(f"override-{uuid.uuid4().hex[:8]}")
    with server.client(key, timeout=180) as api:
        function_id = deploy(api, "import os\ndef run():\n    return len(os.environ['API_TOKEN'])\n")
        api.put("/secrets/API_TOKEN", json={"value": "a" * 5})
        assert run(api, function_id)["result"] == "5"
        api.put(f"/functions/{function_id}/secrets/API_TOKEN", json={"value": "b" * 7})
        assert run(api, function_id)["result"] == "7"
        assert api.delete(f"/functions/{function_id}/secrets/API_TOKEN").status_code == 200
        assert run(api, function_id)["result"] == "5"
        gone = api.delete(f"/functions/{function_id}/secrets/API_TOKEN")
        assert gone.status_code == 404
        assert gone.json() == {"status": 404, "message": f"function {function_id} has no secret 'API_TOKEN'"}


def test_secret_names_and_owners_are_checked(server: LiveServer) -> None:
    owner = server.create_key(f"owner-{uuid.uuid4().hex[:8]}")
    other = server.create_key(f"other-{uuid.uuid4().hex[:8]}")
    with server.client(owner) as api, server.client(other) as intruder:
        function_id = deploy(api, "def run():\n    return 1\n")
        reserved = api.put(f"/functions/{function_id}/secrets/NOTTE_API_KEY", json={"value": "x"})
        assert reserved.status_code == 422
        assert (
            reserved.json()["message"] == "secret name 'NOTTE_API_KEY' is reserved for browserfn's own run environment"
        )
        assert api.put(f"/functions/{function_id}/secrets/BAD-NAME", json={"value": "x"}).status_code == 422
        assert api.put("/secrets/OK", json={"value": "x", "extra": 1}).status_code == 422
        assert api.put("/secrets/OK", json={"value": 5}).status_code == 422
        assert intruder.put(f"/functions/{function_id}/secrets/STEAL", json={"value": "x"}).status_code == 404
        assert intruder.get(f"/functions/{function_id}/secrets").status_code == 404
        assert httpx.get(f"{server.url}/secrets").status_code == 401


def test_what_another_key_sealed_is_refused_saying_so(tmp_path: Path) -> None:
    """A server restarted with another secrets key: a run whose secret it cannot unseal fails with
    the reason, and a profile's state answers 409; neither is a 500."""
    server = LiveServer(tmp_path, env={"BROWSERFN_SECRETS_KEY": Fernet.generate_key().decode()}).start()
    try:
        with server.client(server.key, timeout=180) as api:
            function_id = deploy(api, "import os\ndef run():\n    return len(os.environ['API_TOKEN'])\n")
            assert api.put("/secrets/API_TOKEN", json={"value": "tok-123456"}).status_code == 200
            profile_id = api.post("/profiles/create", json={"name": "shop"}).json()["profile_id"]
        server.stop()
        server.env["BROWSERFN_SECRETS_KEY"] = Fernet.generate_key().decode()
        server.start()
        with server.client(server.key, timeout=180) as api:
            failed = run(api, function_id)
            profile = api.get(f"/profiles/{profile_id}")
    finally:
        server.stop()
    said = (
        "stored data was sealed with another secrets key than this server's: BROWSERFN_SECRETS_KEY must be "
        "the same on every machine, and the key it was sealed with must be kept"
    )
    assert failed["state"] == "failed"
    assert failed["result"] == f"browserfn could not execute the run: {said}", failed
    assert (profile.status_code, profile.json()) == (409, {"status": 409, "message": said})
