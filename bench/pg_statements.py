"""What a load costs PostgreSQL in round trips: every statement and transaction on one database,
by the process that sent it, read from the server's own statement log.

`log_statement = all` is set on the (scratch) database only (`ALTER DATABASE ... SET`, which
sessions opened afterwards take), so other databases of the server are not logged. Each log line
names the backend's pid; `pg_stat_activity` maps that pid to the `application_name` its client
gave (tests/scaleout/cluster.py names each node's connections through PGAPPNAME). A statement
sent outside BEGIN ... COMMIT is a transaction of its own."""

from __future__ import annotations

import collections
import dataclasses
import glob
import re
from pathlib import Path

import psycopg

from tests.store.conftest import ADMIN_DSN

#: `2026-12-06 16:03:41.771 UTC [2246] postgres@bfn_test_x LOG:  statement: BEGIN` (Debian's
#: default prefix `%m [%p] %q%u@%d `); extended-protocol statements log as `execute <name>: ...`.
_LINE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] \S+@(\S+) LOG:  (?:statement|execute [^:]+): (.*)$")


@dataclasses.dataclass
class Counts:
    statements: int = 0  #: every statement sent, BEGIN and COMMIT included (each a round trip)
    transactions: int = 0
    by_text: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)


def backends(database: str) -> list[int]:
    """The pids of the server processes serving connections to `database` now (the clients'
    connections are long-lived: their CPU sampled before and after a load is what it cost)."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database,)
        ).fetchall()
    return [pid for (pid,) in rows]


def set_synchronous_commit(database: str, value: str) -> None:
    """PostgreSQL's `synchronous_commit` for every session opened on `database` from now on: "on"
    (each commit waits for its WAL flush, the default) or "off" (commits survive a crash of
    PostgreSQL, not of its machine: the durability of browserfn's embedded SQLite store)."""
    if value not in ("on", "off"):
        raise ValueError(f"synchronous_commit: on or off, not {value!r}")
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {database} SET synchronous_commit = {value}")


def analyze(dsn: str) -> str:
    """Gather the planner's statistics on every table of the database at `dsn` now, as autovacuum does each
    time a table has changed by a tenth; returns the server's `autovacuum` setting.

    A bench's database is new and grows by hundreds of runs a round. Where autovacuum is off (this
    machine's PostgreSQL has it off, a CI setting), statistics never come or never follow: plans
    cached on near-empty tables stay in every connection, and read more at every run (with none,
    the dispatch's count of an account's busy slots reads every run the account ever had through
    the (account, created_at) index; with a warm-up's only, lookups by run id scan the whole
    table). A deployment, where autovacuum is on by default, has neither after its first minute."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
        row = conn.execute("SHOW autovacuum").fetchone()
    return str(row[0]) if row is not None else "?"


def server_log() -> Path:
    """The server's log file: its logging collector's current file, else Debian's stderr log."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        current = conn.execute("SELECT pg_current_logfile()").fetchone()
        data_dir = conn.execute("SHOW data_directory").fetchone()
    if current is not None and current[0] is not None and data_dir is not None:
        return Path(data_dir[0]) / current[0]
    found = sorted(glob.glob("/var/log/postgresql/postgresql-*-main.log"))
    if not found:
        raise FileNotFoundError("no PostgreSQL log found (logging_collector off and no Debian log)")
    return Path(found[-1])


class StatementLog:
    """Log every statement on `database` from now on; `read()` counts what was sent since `mark()`."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.path = server_log()
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {database} SET log_statement = 'all'")
        self._offset = 0
        self.mark()

    def mark(self) -> None:
        self._offset = self.path.stat().st_size

    def applications(self) -> dict[int, str]:
        """Backend pid -> its client's application_name, for the connections open now."""
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid, application_name FROM pg_stat_activity WHERE datname = %s", (self.database,)
            ).fetchall()
        return {pid: name or "?" for pid, name in rows}

    def read(self) -> dict[str, Counts]:
        """Counts per application since `mark()` (a pid whose connection closed since: "closed")."""
        with self.path.open("rb") as log:
            log.seek(self._offset)
            lines = log.read().decode(errors="replace").splitlines()
        names = self.applications()
        counts: dict[str, Counts] = collections.defaultdict(Counts)
        in_transaction: dict[int, bool] = collections.defaultdict(bool)
        current: tuple[int, str] | None = None  # the statement being read: (pid, text so far)
        for line in [*lines, ""]:
            if current is not None and line.startswith("\t"):  # a statement's next line
                current = (current[0], current[1] + " " + line.strip())
                continue
            if current is not None:
                self._count(counts, in_transaction, names.get(current[0], "closed"), *current)
                current = None
            found = _LINE.match(line)
            if found is not None and found[2] == self.database:
                current = (int(found[1]), found[3].strip())
        return counts

    @staticmethod
    def _count(
        counts: dict[str, Counts], in_transaction: dict[int, bool], process: str, pid: int, statement: str
    ) -> None:
        found = counts[process]
        found.statements += 1
        found.by_text[_shape(statement)] += 1
        verb = statement.split(None, 1)[0].upper() if statement else ""
        if verb in ("BEGIN", "START"):
            in_transaction[pid] = True
            found.transactions += 1
        elif verb in ("COMMIT", "ROLLBACK", "END"):
            in_transaction[pid] = False
        elif not in_transaction[pid]:
            found.transactions += 1


def _shape(statement: str) -> str:
    """A statement without its literals, to group the same statement's calls."""
    return re.sub(r"\s+", " ", re.sub(r"'[^']*'|\b\d+\b", "?", statement))[:110]
