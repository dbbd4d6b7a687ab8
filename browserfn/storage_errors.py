"""Failures of the server's own storage (a full disk, an I/O error, a database that cannot be
reached) as opposed to bugs: they pass once the operator fixes the machine, so a request meeting
one answers 503 (retry later) and a run meeting one ends failed with the reason, never stranded."""

from __future__ import annotations

import errno
import sqlite3

import psycopg

#: OS errors that say the storage, not the request, is the problem.
_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})
RETRY_AFTER_S = 5
#: SQLite's primary result codes of the same kind: BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN.
_SQLITE_CODES = frozenset({5, 6, 8, 10, 13, 14})


def is_storage_failure(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is a storage failure rather than a bug or a bad request."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _STORAGE_ERRNOS:
            return True
        if isinstance(current, sqlite3.Error) and (getattr(current, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_CODES:
            return True  # disk full, I/O error, busy, read-only, cannot open: not a statement's fault
        if isinstance(current, psycopg.OperationalError):
            return True
        current = current.__cause__ or current.__context__
    return False


def describe(exc: BaseException) -> str:
    """What to tell a caller: the storage's problem, without internals."""
    text = str(exc).lower()
    full_os = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if full_os or "full" in text or "no space left" in text or isinstance(exc, psycopg.errors.DiskFull):
        return "the server's disk is full"
    if isinstance(exc, psycopg.OperationalError):
        return "the server's database cannot be reached"
    return "the server's storage failed"


def unavailable_message(exc: BaseException) -> str:
    return f"{describe(exc)}: the request could not be completed; retry later"
