"""A server process's start-up heap, frozen out of Python's garbage collector once it listens.

What start-up makes (the imported modules, the app, its services: about 200,000 objects in an API
server) lives as long as the process. Left to the collector, every pass over the oldest
generation walked all of it again: on this project's 2-core machine such a pass came every ~40
browser runs back to back and held the event loop 170-230 ms (whatever request was under way
waited for it), and the server's CPU a browser run was 6-12 ms more than frozen (64-70 ms against
57-60 in four of five pairs measured side by side; the fifth equal, 74.0 / 73.5). Frozen (`gc.freeze`),
those objects are never walked again; what the process makes later is collected as before. No
collection first: it would free next to nothing (64 objects, measured) and hold the start-up for
~300 ms. The objects frozen are counted in `/metrics` (`browserfn_gc_frozen_objects`). Stdlib
only."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Freeze every object the collector tracks now (`/metrics` counts them)."""
    gc.freeze()
