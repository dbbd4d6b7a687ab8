"""The executor seam: `create_executor` is the only place that names an engine."""

from __future__ import annotations

from browserfn.bus import EventBus
from browserfn.config import Settings
from browserfn.executor.base import Executor
from browserfn.store.base import Store


def create_executor(settings: Settings, store: Store, bus: EventBus) -> Executor:
    from browserfn.executor.local import LocalExecutor

    return LocalExecutor(settings, store, bus)


__all__ = ["Executor", "create_executor"]
