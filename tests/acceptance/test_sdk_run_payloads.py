"""Large run payloads and function rollback through the official SDK: a reported run's 1.1 MiB
result goes through the payload upload (to an HTTPS link, as the SDK requires: the server sits
behind a TLS-terminating proxy, as deployed) and round-trips; rollback restores an earlier
version's code as the newest version."""

from __future__ import annotations

import base64
import hashlib
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from notte_sdk import NotteClient
from notte_sdk.errors import NotteAPIError

from tests.live_server import LiveServer
from tests.tls_proxy import TlsProxy


@pytest.fixture(scope="module")
def behind_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, TlsProxy]]:
    directory = tmp_path_factory.mktemp("tls")
    proxy = TlsProxy(directory)
    env = {"BROWSERFN_PUBLIC_URL": proxy.url, "BROWSERFN_BROWSER_POOL_SIZE": "0"}
    server = LiveServer(directory / "server", env=env)
    server.start()
    proxy.start(server.port)
    yield server, proxy
    proxy.stop()
    server.stop()


@pytest.fixture
def notte(behind_tls: tuple[LiveServer, TlsProxy], monkeypatch: pytest.MonkeyPatch) -> NotteClient:
    server, proxy = behind_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(proxy.cert))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(proxy.cert))
    return NotteClient(api_key=server.key, server_url=proxy.url)


def _script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_a_reported_result_over_one_mib_round_trips(notte: NotteClient, tmp_path: Path) -> None:
    fn = notte.Function(path=_script(tmp_path, "local.py", "def run():\n    return 1\n"), name="local")
    run_id = notte.functions.create_run(fn.function_id).function_run_id
    big = {"rows": ["x" * 1000 + str(i) for i in range(1100)], "note": "é✓"}  # ~1.1 MiB of JSON
    assert len(json.dumps(big)) > 1024 * 1024
    notte.functions.run_update_metadata(fn.function_id, run_id, status="closed", result=big, logs=["done"])
    got = notte.functions.run_get_metadata(fn.function_id, run_id)
    assert got.status == "closed" and json.loads(got.result) == big

    # The download route, with the key: the result as it was reported (JSON text).
    assert json.loads(notte.functions.download_run_payload(fn.function_id, run_id, "result")) == big


def test_payload_uploads_are_checked(behind_tls: tuple[LiveServer, TlsProxy], tmp_path: Path) -> None:
    server, proxy = behind_tls
    other = server.create_key("payload-other")
    with server.client() as api, server.client(other) as them:
        files = {"file": ("f.py", b"def run():\n    return 1\n")}
        fid = api.post("/functions/", files=files, data={"name": "p"}).json()["function_id"]
        rid = api.post(f"/functions/{fid}/runs/create").json()["function_run_id"]
        content = json.dumps("y" * 2000).encode()
        digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
        prepare = f"/functions/{fid}/runs/{rid}/payloads/result/upload"
        assert them.post(prepare, json={"size_bytes": len(content), "sha256": digest}).status_code == 404
        unknown_field = f"/functions/{fid}/runs/{rid}/payloads/secret/upload"
        assert api.post(unknown_field, json={"size_bytes": 1, "sha256": digest}).status_code == 422
        assert api.post(prepare, json={"size_bytes": 10**12, "sha256": digest}).status_code == 413
        assert api.post(prepare, json={"size_bytes": 5, "sha256": "nope"}).status_code == 422
        slot = api.post(prepare, json={"size_bytes": len(content), "sha256": digest}).json()
        assert slot["url"].startswith(proxy.url + "/") and slot["reference"]["size_bytes"] == len(content)
        local_url = slot["url"].replace(proxy.url, server.url)
        assert httpx.put(local_url.replace("signature=", "signature=0"), content=content).status_code == 404
        assert httpx.put(local_url, content=content[:-1]).status_code == 422
        assert httpx.put(local_url, content=content[:-1] + b"!").status_code == 422
        # A report naming an upload that has not arrived leaves the run as it was.
        report = {"status": "closed", "payloads": {"result": slot["reference"]}}
        early = api.patch(f"/functions/{fid}/runs/{rid}", json=report)
        assert early.status_code == 422 and "not been received" in early.json()["message"]
        assert api.get(f"/functions/{fid}/runs/{rid}").json()["state"] == "created"
        assert httpx.put(local_url, content=content).status_code == 200
        assert httpx.put(local_url, content=content).status_code == 409
        wrong = {"status": "closed", "payloads": {"variables": slot["reference"]}}
        assert api.patch(f"/functions/{fid}/runs/{rid}", json=wrong).status_code == 422
        assert them.patch(f"/functions/{fid}/runs/{rid}", json=report).status_code == 404
        done = api.patch(f"/functions/{fid}/runs/{rid}", json=report)
        assert done.status_code == 200, done.text
        assert api.get(f"/functions/{fid}/runs/{rid}").json()["result"] == "y" * 2000  # as if sent inline
        assert them.get(f"/functions/{fid}/runs/{rid}/payloads/result").status_code == 404


ONE = "def run():\n    return 'version one'\n"
TWO = "def run():\n    return 'version two'\n"


def test_rollback_restores_an_earlier_version(
    notte: NotteClient, tmp_path: Path, behind_tls: tuple[LiveServer, TlsProxy]
) -> None:
    fn = notte.Function(path=_script(tmp_path, "v.py", ONE), name="versions")
    fn.update(path=_script(tmp_path, "v2.py", TWO))
    assert fn.run().result == "version two"
    restored = notte.functions.rollback(fn.function_id, version="1")
    assert restored.latest_version == "3" and restored.versions == ["1", "2", "3"]
    assert notte.Function(function_id=fn.function_id).run().result == "version one"
    with pytest.raises(NotteAPIError) as missing:
        notte.functions.rollback(fn.function_id, version="9")
    assert missing.value.status_code == 404
    server, _ = behind_tls
    with server.client(server.create_key("rollback-other")) as them:
        assert them.post(f"/functions/{fn.function_id}/rollback", json={"version": "1"}).status_code == 404
    with server.client() as api:
        assert api.post(f"/functions/{fn.function_id}/rollback", json={}).status_code == 422
