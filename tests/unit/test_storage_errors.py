"""Storage failures (503, retried) are told apart from bugs (500): a full disk is one, a wrong
statement is not."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import psycopg

from browserfn.storage_errors import describe, is_storage_failure


def test_a_wrong_statement_is_a_bug_and_a_full_disk_is_not(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "db.sqlite3")
    try:
        connection.execute("select * from no_such_table")
    except sqlite3.Error as exc:
        assert not is_storage_failure(exc)
    full = OSError(errno.ENOSPC, "No space left on device")
    assert is_storage_failure(full) and describe(full) == "the server's disk is full"
    wrapped = RuntimeError("while storing")
    wrapped.__cause__ = full
    assert is_storage_failure(wrapped)
    assert not is_storage_failure(OSError(errno.ENOENT, "gone"))


def test_a_full_postgresql_disk_is_told_as_one() -> None:
    """PostgreSQL's disk_full (SQLSTATE 53100) is an OperationalError, as a lost connection is:
    the caller is told the disk is full, not that the database cannot be reached."""
    full = psycopg.errors.DiskFull('could not extend file "base/16384/2619": No space left on device')
    assert is_storage_failure(full) and describe(full) == "the server's disk is full"
    assert describe(psycopg.OperationalError("connection refused")) == "the server's database cannot be reached"
