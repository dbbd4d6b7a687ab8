"""Per-key rate limiting: an in-memory token bucket per API key (one server process; the
scale-out mode limits per process). Over the limit a request gets 429 with `Retry-After`."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from browserfn.config import Settings
from browserfn.errors import TooManyRequests

#: Buckets kept at most; the least recently refilled are dropped beyond it.
MAX_BUCKETS = 100_000


class RateLimiter:
    def __init__(self, rate_per_s: float, burst: float) -> None:
        self._rate_per_s = rate_per_s
        self._burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill, monotonic)
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token for `key`, or raise TooManyRequests saying when one will be there."""
        if self._rate_per_s <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate_per_s)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                wait_s = (1 - tokens) / self._rate_per_s
                raise TooManyRequests(
                    f"rate limit of {self._rate_per_s:g} requests per second for this key exceeded",
                    retry_after_s=max(1, math.ceil(wait_s)),
                )
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.pop(next(iter(self._buckets)))


def limiter_for(app: Any, settings: Settings) -> RateLimiter:
    """The app's limiter, made on first use."""
    limiter: RateLimiter | None = getattr(app.state, "rate_limiter", None)
    if limiter is None:
        limiter = RateLimiter(settings.rate_limit_per_s, max(1.0, 2 * settings.rate_limit_per_s))
        app.state.rate_limiter = limiter
    return limiter
