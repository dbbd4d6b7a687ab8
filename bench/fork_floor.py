"""The floor under a run's cost: forking the warm process (what every run needs: the fork
server forks the run's process) and exiting, with nothing run in between. Printed beside the
run figures so the gap between them is the engine's own. Two nested forks (the shape before the
fork server forked run processes directly) are printed for comparison.

    .venv/bin/python -m bench.fork_floor [--forks 200]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time

from browserfn.config import Settings
from browserfn.sandbox.forkserver import warm_up


def fork_and_exit(levels: int) -> float:
    """Milliseconds for `levels` nested fork + exit + wait, from this process."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        if levels > 1:
            inner = os.fork()
            if inner == 0:
                os._exit(0)
            os.waitpid(inner, 0)
        os._exit(0)
    os.waitpid(pid, 0)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--forks", type=int, default=200)
    args = parser.parse_args()
    lean = statistics.median(fork_and_exit(1) for _ in range(args.forks))
    os.environ["BROWSERFN_WARM_IMPORTS"] = ",".join(Settings().warm_imports)
    warm_up()  # what the fork server holds: notte_sdk, pydantic, requests, loguru, RestrictedPython
    gc.collect()
    warm = statistics.median(fork_and_exit(1) for _ in range(args.forks))
    nested = statistics.median(fork_and_exit(2) for _ in range(args.forks))
    print(f"fork+exit of a bare interpreter:                   p50 {lean:6.2f} ms")
    print(f"fork+exit of the warm process (floor):             p50 {warm:6.2f} ms")
    print(f"two nested fork+exit of the warm process:          p50 {nested:6.2f} ms")


if __name__ == "__main__":
    main()
