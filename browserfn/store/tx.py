"""`Tx`: one transaction on a raw DBAPI connection, the only thing a store operation sees.

A store operation is a plain synchronous function `def op(tx: Tx, ...) -> T`, written once for
both backends, and run whole, in one transaction, on a database thread (`Database.call`):
SQLite's one thread, or one of PostgreSQL's connection threads.

SQL is written once, in the subset SQLite and PostgreSQL share, with `:name` parameters and a
dict of values. The few real differences are named methods and attributes of `Tx`, each
implemented by its backend (sqlite.py, postgres.py):
- `tx.lock(key)`: serialise transactions on `key` until commit (PostgreSQL: an advisory
  transaction lock; SQLite: nothing to do, its one writer thread runs transactions one by one);
- `tx.notify(channel, payload)`: wake listeners in other processes at commit (PostgreSQL:
  pg_notify; SQLite: none, the event bus is in-process);
- `tx.skip_locked`: the `FOR UPDATE SKIP LOCKED` suffix of a queue read ("" on SQLite);
- `tx.for_update`: the `FOR UPDATE` suffix of a read that will be written ("" on SQLite).

Values: str, int, float, bool, bytes, None and timezone-aware datetimes (PostgreSQL stores
TIMESTAMPTZ; SQLite stores fixed-width UTC text, `stamp`, so text order is time order). JSON is
stored as text on both (`data`/`undata`), so any JSON value (NUL included, escaped) round-trips.
Rows come back indexable by column name; times as text on SQLite, datetime on PostgreSQL:
read them with `when`.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from browserfn.errors import InvalidInput

#: A row: indexable by column name (sqlite3.Row or a dict).
Row = Mapping[str, Any]
Params = Mapping[str, Any]


class Tx(abc.ABC):
    """One open transaction. Committed when the operation returns, rolled back if it raises."""

    #: "sqlite" or "postgresql", for the rare operation that must know.
    dialect: str
    skip_locked: str
    for_update: str

    @abc.abstractmethod
    def one(self, sql: str, params: Params | None = None) -> Row | None:
        """The first row, or None."""

    @abc.abstractmethod
    def all(self, sql: str, params: Params | None = None) -> list[Row]: ...

    @abc.abstractmethod
    def run(self, sql: str, params: Params | None = None) -> int:
        """Execute a write; the number of rows it changed."""

    @abc.abstractmethod
    def send(self, sql: str, params: Params | None = None) -> None:
        """Execute a statement whose outcome the operation does not read (PostgreSQL sends it
        with what follows, without waiting; an error it meets fails the transaction)."""

    @abc.abstractmethod
    def many(self, sql: str, rows: Iterable[Params]) -> None:
        """Execute a write once per parameter set."""

    def value(self, sql: str, params: Params | None = None) -> Any:
        """The first column of the first row, or None."""
        row = self.one(sql, params)
        return None if row is None else row[next(iter(row.keys()))]

    @abc.abstractmethod
    def lock(self, key: str) -> None:
        """Serialise, until commit, with every other transaction that locks `key`."""

    @abc.abstractmethod
    def notify(self, channel: str, payload: str) -> None:
        """Wake `channel`'s listeners in other processes when this transaction commits."""


def in_list(name: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """`IN (...)` for a variable number of values: the marks `:name0, :name1, ...` and their params."""
    params = {f"{name}{i}": v for i, v in enumerate(values)}
    return ", ".join(f":{key}" for key in params) or "NULL", params


def insert_sql(table: str, columns: Iterable[str]) -> str:
    """`INSERT INTO table(a, b) VALUES (:a, :b)`."""
    names = list(columns)
    return f"INSERT INTO {table}({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"


# -- values -----------------------------------------------------------------------------------------
def stamp(value: dt.datetime) -> str:
    """Fixed-width UTC text: SQLite's stored form of a time (text order is time order)."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.isoformat(timespec="microseconds")  # 2026-12-01T09:30:00.000000+00:00


def when(value: Any) -> dt.datetime:
    """A stored time (text on SQLite, datetime on PostgreSQL), in UTC."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo is dt.UTC else moment.astimezone(dt.UTC)


def when_or_none(value: Any) -> dt.datetime | None:
    return None if value is None else when(value)


def data(value: Any) -> str:
    """JSON as stored: text on both backends. NUL and lone surrogates are escaped (\\u0000), so
    PostgreSQL's TEXT holds every value SQLite does."""
    return json.dumps(value)


def undata(value: Any) -> Any:
    """A stored JSON value (text; older PostgreSQL rows: JSONB, handed back decoded)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


#: Marks free text that was stored escaped (see `text`); no stored text starts with it otherwise.
_ESCAPED = "\x01bfn-json:"


def text(value: str | None) -> str | None:
    """Free text from a run (log lines, reasons, results) as stored: as is, unless it holds what
    a database cannot (NUL for PostgreSQL's TEXT, a lone surrogate for any UTF-8 text) or starts
    like an escaped value; those are stored as ASCII JSON behind a marker. The same on both
    backends, and `untext` gives back every character."""
    if value is None or (storable(value) and not value.startswith(_ESCAPED)):
        return value
    return _ESCAPED + json.dumps(value)


def untext(value: str | None) -> str | None:
    if value is None or not value.startswith(_ESCAPED):
        return value
    return str(json.loads(value[len(_ESCAPED) :]))


def storable(value: str) -> bool:
    """Whether both backends store this text as given: no NUL, no lone surrogate."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Unstorable(InvalidInput):
    """A text value neither backend can store as given (a name with NUL, a lone surrogate): a 422
    naming the parameter, the same on both backends, before any statement runs. Values that may
    hold anything go through `data` or `text` first."""


def check(params: Params | None) -> None:
    """Refuse (Unstorable) a parameter set with text a backend would refuse or change."""
    if not params:
        return
    for value in params.values():  # the hot path: a few C calls per text value
        if type(value) is str and ("\x00" in value or not value.isascii()):
            break
    else:
        return
    for name, value in params.items():
        if type(value) is str and not storable(value):
            what = "the NUL character (\\u0000)" if "\x00" in value else "a lone surrogate (not valid Unicode)"
            raise Unstorable(f"invalid {name}: contains {what}, which cannot be stored")


# -- dialect: parameter style -------------------------------------------------------------------------
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_pyformat_cache: dict[str, str] = {}


def pyformat(sql: str) -> str:
    """`:name` to psycopg's `%(name)s` (a literal `%` doubled), translated once per statement."""
    found = _pyformat_cache.get(sql)
    if found is None:
        found = _pyformat_cache[sql] = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
    return found
