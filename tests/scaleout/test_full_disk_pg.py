"""A full disk under PostgreSQL's data directory: requests answer 503 with the JSON error body
naming the full disk (never a bare 500), nothing is half-written (a function refused is not
there, a run refused is not stranded), and the server keeps working once space returns, with no
restart. The database is a throwaway cluster (initdb) on a small tmpfs this test mounts (root)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import free_port
from tests.operator.test_full_disk import active_runs, fill, is_json_503
from tests.scaleout.cluster import Cluster


def _postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root"),
    pytest.mark.skipif(_postgres_bin("initdb") is None, reason="PostgreSQL's initdb is not installed"),
    pytest.mark.timeout(300),
]
#: Room for the cluster (about 30 MB with 1 MB WAL segments) and browserfn's schema, little more.
DISK = "64m"


def _as_postgres(*command: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, timeout=120, cwd="/")


@pytest.fixture
def small_postgres(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A PostgreSQL cluster whose data directory is alone on a small tmpfs: its DSN and the mount."""
    # Not under tmp_path: the postgres user must reach it (pytest's base directory is root's only).
    disk = Path(tempfile.mkdtemp(prefix="browserfn-pgdisk-"))
    disk.chmod(0o755)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0755", "tmpfs", str(disk)], check=True)
    data, log = disk / "data", Path(tempfile.mkdtemp(prefix="browserfn-pglog-")) / "postgres.log"
    port = free_port()
    try:
        shutil.chown(disk, "postgres")
        log.parent.chmod(0o755)
        log.touch()
        shutil.chown(log, "postgres")
        _as_postgres(str(_postgres_bin("initdb")), "-D", str(data), "-A", "trust", "-U", "postgres", "--wal-segsize=1")
        settings = f"-p {port} -k {disk} -c listen_addresses=127.0.0.1 -c max_wal_size=4MB -c min_wal_size=2MB"
        _as_postgres(str(_postgres_bin("pg_ctl")), "-D", str(data), "-l", str(log), "-o", settings, "-w", "start")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", disk
    finally:
        if data.exists():
            subprocess.run(
                ["runuser", "-u", "postgres", "--", str(_postgres_bin("pg_ctl")), "-D", str(data), "-m", "immediate",
                 "stop"], capture_output=True, timeout=60, check=False, cwd="/",
            )  # fmt: skip
        subprocess.run(["umount", "-l", str(disk)], check=False)
        shutil.copy(log, tmp_path / "postgres.log")  # kept with the test's files
        shutil.rmtree(log.parent, ignore_errors=True)
        disk.rmdir()


def _upload(api: httpx.Client, name: str, code: str) -> httpx.Response:
    files = {"file": (f"{name}.py", code.encode(), "text/x-python")}
    return api.post("/functions/", files=files, data={"name": name})


def test_a_full_postgresql_disk_gives_503s_loses_nothing_and_recovers(
    small_postgres: tuple[str, Path], tmp_path: Path
) -> None:
    dsn, disk = small_postgres
    cluster = Cluster(dsn, tmp_path, warm_processes=1)
    node = cluster.api(worker=True)
    quick_code = "def run(n: int = 1):\n    return n * 2\n"
    try:
        with httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {cluster.key}"}, timeout=120) as api:
            created = _upload(api, "quick", quick_code)
            assert created.status_code == 200, created.text
            quick = created.json()["function_id"]
            filler = fill(disk)

            # A function whose code needs new pages, and runs: refused with the JSON 503, or done.
            bulky = quick_code + "# " + os.urandom(400_000).hex() + "\n"
            refused = _upload(api, "bulky", bulky)
            assert is_json_503(refused), refused.text
            assert "disk is full" in refused.json()["message"], refused.text
            start = {"workflow_id": quick, "variables": {}, "stream": False}
            answers = [
                api.post(f"/functions/{quick}/runs/start", json=start),
                api.post(f"/functions/{quick}/runs/create", data={}),
            ]
            for answer in answers:
                assert answer.status_code == 200 or is_json_503(answer), answer.text

            filler.unlink()  # space comes back: no restart of anything
            names = sorted(f["name"] for f in api.get("/functions").json()["items"])
            assert names == ["quick"], names  # the refused upload left nothing behind
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and active_runs(api, quick):
                time.sleep(0.5)
            assert active_runs(api, quick) == []  # no run stranded
            again = api.post(
                f"/functions/{quick}/runs/start", json={"workflow_id": quick, "variables": {"n": 21}, "stream": False}
            )
            assert (again.status_code, again.json()["result"]) == (200, 42), again.text
            stored = _upload(api, "bulky", bulky)
            assert stored.status_code == 200, stored.text
            got = api.get(f"/functions/{stored.json()['function_id']}")
            assert got.status_code == 200 and got.json()["name"] == "bulky", got.text
    finally:
        node.terminate()
