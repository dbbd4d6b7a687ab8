"""`Database`: where store operations run. A backend (sqlite_db.py, postgres_db.py) opens its
connections, brings the schema up to date (migrate.py), and runs each operation whole in one
transaction on one of its threads."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from browserfn.store.tx import Tx

T = TypeVar("T")
P = ParamSpec("P")
#: A store operation: a synchronous function of an open transaction (see tx.py).
Op = Callable[Concatenate[Tx, P], T]


class Database(abc.ABC):
    @abc.abstractmethod
    async def open(self) -> None:
        """Migrate (under a lock), then connect."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def call(self, op: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`op(tx, *args, **kwargs)` in one transaction: committed if it returns, rolled back if it raises."""

    async def read(self, op: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`op` that only reads (plain SELECTs): where the backend can, without a transaction
        block (each statement sees what was committed when it began, as it would inside a
        READ COMMITTED transaction, without BEGIN and COMMIT). A write in it is refused."""
        return await self.call(op, *args, **kwargs)

    async def alone(self, op: Callable[Concatenate[Tx, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`op` that sends a single statement (a write too): where the backend can, without a
        transaction block, the statement being a transaction of its own (no BEGIN, no COMMIT)."""
        return await self.call(op, *args, **kwargs)
