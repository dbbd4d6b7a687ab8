"""What every benchmark prints: the machine, the command, and percentiles."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0]
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, load {load:.1f}"


def header(title: str) -> None:
    """Print what was measured where, and set what every server the benchmark starts shares:
    per-key rate limiting off (BROWSERFN_RATE_LIMIT_PER_S=0), so figures measure the engine."""
    os.environ["BROWSERFN_RATE_LIMIT_PER_S"] = "0"
    print(f"# {title}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"machine: {machine()}")
    print(f"date:    {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")
    print("servers: per-key rate limiting off (BROWSERFN_RATE_LIMIT_PER_S=0)")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values_ms: list[float]) -> str:
    return (
        f"p50 {statistics.median(values_ms):8.1f} ms   p90 {percentile(values_ms, 90):8.1f} ms   "
        f"p99 {percentile(values_ms, 99):8.1f} ms   (n={len(values_ms)})"
    )
