"""Small asyncio helpers shared by the WebSocket relays."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


async def until_first_ends(*jobs: Awaitable[None]) -> None:
    """Run `jobs` together until one of them ends, then cancel the others and wait for them."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
