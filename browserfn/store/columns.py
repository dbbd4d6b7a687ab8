"""Column types for migrations, one name per kind of value, rendered per dialect by SQLAlchemy.

| type       | PostgreSQL         | SQLite                              | Python value in / out          |
|------------|--------------------|-------------------------------------|--------------------------------|
| `Time`     | TIMESTAMPTZ        | TEXT (fixed-width UTC, `tx.stamp`)  | aware datetime / `tx.when`     |
| `Flag`     | BOOLEAN            | INTEGER 0/1                         | bool / `bool(row[...])`        |
| `Seq`      | BIGSERIAL          | INTEGER PRIMARY KEY AUTOINCREMENT   | a store-wide creation counter  |
| `JsonText` | TEXT               | TEXT                                | `tx.data` / `tx.undata`        |
| `Bytes`    | BYTEA              | BLOB                                | bytes / `bytes(row[...])`      |
| `Text`, `Integer`, `BigInteger`, `Float`: SQLAlchemy's own.                                    |

A table with a `Seq` column also needs `sqlite_autoincrement=True` (ids are never reused)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

Time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
Flag = sa.Boolean().with_variant(sa.Integer(), "sqlite")
Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonText = sa.Text()
Bytes = sa.LargeBinary().with_variant(postgresql.BYTEA(), "postgresql")
Text = sa.Text
Integer = sa.Integer
BigInteger = sa.BigInteger
Float = sa.Float().with_variant(postgresql.DOUBLE_PRECISION(), "postgresql").with_variant(sa.REAL(), "sqlite")
