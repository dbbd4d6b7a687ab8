"""Notte's paged listings (`items`, `page`, `page_size`, `has_next`, `has_previous`), for lists
read one item past the page: that extra item, when there is one, says a next page exists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def offset(page: int, page_size: int) -> int:
    """The first item of `page` (pages count from 1)."""
    return (page - 1) * page_size


def page_of(found: Sequence[T], page: int, page_size: int, render: Callable[[T], Any]) -> dict[str, Any]:
    """The page for `found`, read from `offset(page, page_size)` with a limit of `page_size + 1`."""
    return {
        "items": [render(item) for item in found[:page_size]],
        "page": page,
        "page_size": page_size,
        "has_next": len(found) > page_size,
        "has_previous": page > 1,
    }
