"""`GET /functions/{id}/runs?page=K` with a million runs stored (issue 7, figure 4): first page
and deep pages, SQLite and PostgreSQL, through a real server over loopback HTTP.

    .venv/bin/python -m bench.bench_list_runs [--runs 1000000] [--skip-postgres]

The runs are bulk-loaded straight into the store (the API would take hours to make them);
then a server started on that store answers the listing requests that are timed.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
from psycopg.types.json import Jsonb

from bench.bench_runs import deploy
from bench.common import header, summary
from tests.live_server import LiveServer
from tests.scaleout.cluster import Cluster
from tests.store.conftest import scratch_database

PAGE_SIZE = 20
REQUESTS = 50


def time_pages(url: str, key: str, function_id: str, total: int) -> None:
    last_page = total // PAGE_SIZE
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        for label, page in (("first page", 1), ("middle page", last_page // 2), ("last page", last_page)):
            params = {"page": page, "page_size": PAGE_SIZE, "only_active": False}
            response = client.get(f"/functions/{function_id}/runs", params=params)
            response.raise_for_status()
            assert len(response.json()["items"]) == PAGE_SIZE, response.text[:300]
            latencies = []
            for _ in range(REQUESTS):
                t0 = time.perf_counter()
                client.get(f"/functions/{function_id}/runs", params=params).raise_for_status()
                latencies.append((time.perf_counter() - t0) * 1000)
            print(f"  {label:12s} (page {page:6d}) {summary(latencies)}")


ROW_SQL = (
    "INSERT INTO runs(run_id, ordinal, function_id, function_version, account_id, key_id, state, active, variables,"
    " created_at, updated_at, ended_at, result_json) VALUES ({})"
)
#: The bulk-loaded runs come after the one real run (ordinal 1) in their function's numbering.
COUNTER_SQL = "UPDATE run_counters SET last_ordinal = last_ordinal + {} WHERE function_id = {}"


def copy_runs(template: tuple[object, ...], total: int, insert: Callable[[list[tuple[object, ...]]], object]) -> float:
    """Insert `total` ended runs shaped like `template` (a real run's row), in batches."""
    t0 = time.perf_counter()
    batch = 50_000
    for start in range(0, total, batch):
        insert([(f"bench-{i:09d}", i + 2, *template) for i in range(start, min(total, start + batch))])
    return time.perf_counter() - t0


def template_of(conn_execute: Callable[[str], list[tuple[object, ...]]]) -> tuple[object, ...]:
    rows = conn_execute(
        "SELECT function_id, function_version, account_id, key_id, state, active, variables,"
        " created_at, updated_at, ended_at, result_json FROM runs LIMIT 1"
    )
    return rows[0]


async def one_real_run(url: str, key: str, function_id: str) -> None:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
        body = {"workflow_id": function_id, "variables": {}, "stream": False}
        (await client.post(f"/functions/{function_id}/runs/start", json=body)).raise_for_status()


def sqlite_figures(total: int) -> None:
    print(f"\n## SQLite, {total} runs of one function")
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp), warm_processes=1).start()
        function_id = deploy(server.url, server.key, "def run():\n    return 1\n")
        asyncio.run(one_real_run(server.url, server.key, function_id))
        server.stop()
        with sqlite3.connect(server.data_dir / "browserfn.sqlite3") as conn:
            template = template_of(lambda sql: conn.execute(sql).fetchall())
            seconds = copy_runs(
                template, total, lambda rows: conn.executemany(ROW_SQL.format(", ".join("?" * 13)), rows)
            )
            conn.execute(COUNTER_SQL.format(total, "?"), (function_id,))
        print(f"  loaded in {seconds:.0f} s")
        server.start()
        try:
            time_pages(server.url, server.key, function_id, total)
        finally:
            server.stop()


def postgres_figures(total: int) -> None:
    print(f"\n## PostgreSQL, {total} runs of one function")
    for dsn in scratch_database():
        with tempfile.TemporaryDirectory() as tmp:
            cluster = Cluster(dsn, Path(tmp))
            try:
                api = cluster.api(worker=True)
                function_id = deploy(str(api.url), cluster.key, "def run():\n    return 1\n")
                asyncio.run(one_real_run(str(api.url), cluster.key, function_id))
                with psycopg.connect(dsn) as conn:
                    found = template_of(lambda sql: conn.execute(sql).fetchall())
                    template = tuple(Jsonb(v) if isinstance(v, dict) else v for v in found)
                    seconds = copy_runs(
                        template,
                        total,
                        lambda rows: conn.cursor().executemany(ROW_SQL.format(", ".join(["%s"] * 13)), rows),
                    )
                    conn.execute(COUNTER_SQL.format(total, "%s"), (function_id,))
                    conn.execute("ANALYZE runs")
                print(f"  loaded in {seconds:.0f} s")
                time_pages(str(api.url), cluster.key, function_id, total)
            finally:
                cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    header("browserfn: listing runs with a million stored")
    sqlite_figures(args.runs)
    if not args.skip_postgres:
        postgres_figures(args.runs)


if __name__ == "__main__":
    main()
