"""Short text a user types (names, URLs, keys): refused with a 422 when the store could not keep
it as given on every backend. PostgreSQL's TEXT cannot hold NUL, and no UTF-8 database can hold
a lone surrogate (JSON's `"\\ud800"` decodes to one), so such a value would be a 500 on one
backend and silently different on another."""

from __future__ import annotations

from browserfn.errors import InvalidInput


def storable(value: str, field: str) -> str:
    """`value`, or InvalidInput naming `field` and what is wrong with it."""
    if "\x00" in value:
        raise InvalidInput(f"{field} must not contain the NUL character (\\u0000)")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInput(
                f"{field} must be valid Unicode text: it contains a lone surrogate at position {exc.start}"
            ) from None
    return value


def storable_or_none(value: str | None, field: str) -> str | None:
    return None if value is None else storable(value, field)
