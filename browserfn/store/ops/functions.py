"""Functions and their versions. A deleted function is kept (its runs refer to it) but found by
no read."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from browserfn.models import Function, FunctionVersion, Parameter, utcnow
from browserfn.store.tx import Row, Tx, data, undata, when

#: Function fields `update` may set.
FIELDS = frozenset({"name", "description", "shared", "timeout_s", "default_runtime"})


def check_fields(fields: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not {what} fields: {sorted(unknown)}")


def parameters(value: Any) -> tuple[Parameter, ...]:
    return tuple(Parameter(**p) for p in undata(value))


def function(row: Row, versions: Sequence[Row]) -> Function:
    """A function from its row and its versions' rows (version, parameters) in order."""
    latest = next(v for v in versions if v["version"] == row["latest_version"])
    return Function(
        function_id=row["function_id"],
        account_id=row["account_id"],
        name=row["name"],
        description=row["description"],
        shared=bool(row["shared"]),
        latest_version=row["latest_version"],
        versions=tuple(v["version"] for v in versions),
        parameters=parameters(latest["parameters"]),
        created_at=when(row["created_at"]),
        updated_at=when(row["updated_at"]),
        reference_function_id=row["reference_function_id"],
        timeout_s=row["timeout_s"],
        default_runtime=row["default_runtime"],
    )


def function_version(row: Row) -> FunctionVersion:
    return FunctionVersion(
        function_id=row["function_id"],
        version=row["version"],
        code=row["code"],
        parameters=parameters(row["parameters"]),
        restricted=bool(row["restricted"]),
        created_at=when(row["created_at"]),
    )


def create(tx: Tx, f: Function, version: FunctionVersion) -> Function:
    tx.run(
        "INSERT INTO functions(function_id, account_id, name, description, shared, latest_version,"
        " reference_function_id, timeout_s, default_runtime, created_at, updated_at)"
        " VALUES (:function_id, :account_id, :name, :description, :shared, :latest_version,"
        " :reference_function_id, :timeout_s, :default_runtime, :created_at, :updated_at)",
        {
            "function_id": f.function_id,
            "account_id": f.account_id,
            "name": f.name,
            "description": f.description,
            "shared": f.shared,
            "latest_version": version.version,
            "reference_function_id": f.reference_function_id,
            "timeout_s": f.timeout_s,
            "default_runtime": f.default_runtime,
            "created_at": f.created_at,
            "updated_at": f.updated_at,
        },
    )
    _put_version(tx, version)
    return _existing(tx, f.function_id)


def _put_version(tx: Tx, v: FunctionVersion) -> None:
    tx.run(
        "INSERT INTO function_versions(function_id, version, ordinal, code, parameters, restricted, created_at)"
        " VALUES (:function_id, :version,"
        " (SELECT COALESCE(MAX(ordinal), 0) + 1 FROM function_versions WHERE function_id = :function_id),"
        " :code, :parameters, :restricted, :created_at)"
        " ON CONFLICT (function_id, version) DO UPDATE SET"
        " code = excluded.code, parameters = excluded.parameters, restricted = excluded.restricted",
        {
            "function_id": v.function_id,
            "version": v.version,
            "code": v.code,
            "parameters": data([dataclasses.asdict(p) for p in v.parameters]),
            "restricted": v.restricted,
            "created_at": v.created_at,
        },
    )


def _existing(tx: Tx, function_id: str) -> Function:
    found = get(tx, function_id)
    assert found is not None
    return found


def get(tx: Tx, function_id: str) -> Function | None:
    """The function, or None if unknown or deleted."""
    found = with_version(tx, function_id, None, with_code=False)
    return None if found is None else found[0]


def with_version(
    tx: Tx, function_id: str, version: str | None, *, with_code: bool = True
) -> tuple[Function, FunctionVersion | None] | None:
    """The function and one of its versions (the latest when `version` is None; None if it has
    no such version); None if the function is unknown or deleted. Two statements: the
    function's row, then its versions' rows, the one asked for with its code."""
    row = tx.one("SELECT * FROM functions WHERE function_id = :id AND deleted_at IS NULL", {"id": function_id})
    if row is None:
        return None
    wanted = (version or row["latest_version"]) if with_code else None
    versions = tx.all(
        "SELECT function_id, version, parameters, restricted, created_at,"
        " CASE WHEN version = :wanted THEN code END AS code"
        " FROM function_versions WHERE function_id = :id ORDER BY ordinal",
        {"id": function_id, "wanted": wanted},
    )
    chosen = next((v for v in versions if v["version"] == wanted), None)
    return function(row, versions), None if chosen is None else function_version(chosen)


def listing(tx: Tx, account_id: str, offset: int, limit: int) -> list[Function]:
    ids = tx.all(
        "SELECT function_id FROM functions WHERE account_id = :account AND deleted_at IS NULL"
        " ORDER BY seq DESC LIMIT :limit OFFSET :offset",
        {"account": account_id, "limit": limit, "offset": offset},
    )
    return [_existing(tx, r["function_id"]) for r in ids]


def get_version(tx: Tx, function_id: str, version: str) -> FunctionVersion | None:
    row = tx.one(
        "SELECT v.* FROM function_versions v JOIN functions f USING (function_id)"
        " WHERE v.function_id = :id AND v.version = :version AND f.deleted_at IS NULL",
        {"id": function_id, "version": version},
    )
    return function_version(row) if row is not None else None


def put_version(tx: Tx, version: FunctionVersion, make_latest: bool) -> Function:
    _put_version(tx, version)
    latest = "latest_version = :version, " if make_latest else ""
    tx.run(
        f"UPDATE functions SET {latest}updated_at = :now WHERE function_id = :id",
        {"version": version.version, "now": utcnow(), "id": version.function_id},
    )
    return _existing(tx, version.function_id)


def update(tx: Tx, function_id: str, fields: dict[str, Any]) -> Function:
    check_fields(fields, FIELDS, "function")
    sets = "".join(f"{name} = :{name}, " for name in fields)
    tx.run(
        f"UPDATE functions SET {sets}updated_at = :now WHERE function_id = :id",
        {**fields, "now": utcnow(), "id": function_id},
    )
    return _existing(tx, function_id)


def delete(tx: Tx, function_id: str) -> bool:
    """Delete unless it has active runs; False if it has some."""
    params = {"id": function_id, "now": utcnow()}
    if tx.one("SELECT 1 FROM runs WHERE function_id = :id AND active LIMIT 1", params):
        return False
    tx.run("UPDATE functions SET deleted_at = :now WHERE function_id = :id", params)
    return True
