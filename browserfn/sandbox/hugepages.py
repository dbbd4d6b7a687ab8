"""Transparent huge pages for the fork server's heap. Stdlib only.

A fork copies the page tables of every private writable mapping: one entry per 4 KiB page, so
about 16,000 of them for the ~65 MB that the warm imports leave on the heap, and the child's exit
frees them all again. Backed by 2 MiB pages, the same memory is one entry per 2 MiB: on this
project's 2-core machine, a fork of the warm process cost 3.2 ms of CPU in the fork server and
its exit 5.5 ms in the child before; 1.3 and 2.7 ms after (bench/README.md).

A run's process that writes to a shared huge page splits only its own mapping of it and copies
4 KiB, as with small pages (Linux >= 5.8). Where the kernel lacks MADV_COLLAPSE (< 6.1) or has
transparent huge pages off, nothing changes.
"""

from __future__ import annotations

import ctypes

from browserfn.sandbox import proctree

HUGE_PAGE_BYTES = 2 << 20
_MADV_HUGEPAGE = 14
_MADV_COLLAPSE = 25


def _heap_spans() -> list[tuple[int, int]]:
    """The 2 MiB-aligned parts of this process's private, writable, anonymous mappings."""
    spans = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            anonymous = len(fields) < 6 or fields[5] == "[heap]"
            if fields[1] != "rw-p" or not anonymous:
                continue
            start, end = (int(address, 16) for address in fields[0].split("-"))
            first = -(-start // HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES
            last = end // HUGE_PAGE_BYTES * HUGE_PAGE_BYTES
            if last > first:
                spans.append((first, last - first))
    return spans


def collapse_heap() -> int:
    """Ask for huge pages on this process's heap and collapse what it holds into them now.
    Returns how many 2 MiB pages the heap spans that could be collapsed."""
    libc = proctree.libc()
    if libc is None:
        return 0
    madvise = libc.madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    collapsed = 0
    for start, length in _heap_spans():
        if madvise(start, length, _MADV_HUGEPAGE) == 0 and madvise(start, length, _MADV_COLLAPSE) == 0:
            collapsed += length // HUGE_PAGE_BYTES
    return collapsed
