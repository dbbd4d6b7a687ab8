"""The app's route table: each method and path is served by one handler (families are added by
several modules; a second handler for a path would silently never be called)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fastapi import routing

from browserfn.api.app import create_app
from browserfn.config import Settings


def test_each_method_and_path_has_one_handler(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "unused"))
    served: Counter[tuple[str, str]] = Counter()
    for context in routing.iter_route_contexts(app.routes):  # the routes of included routers too
        route = context.original_route
        for method in getattr(route, "methods", None) or {"WEBSOCKET"}:
            served[(method, getattr(route, "path", ""))] += 1
    assert len(served) > 100
    assert [route for route, handlers in served.items() if handlers > 1] == []
