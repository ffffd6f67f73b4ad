"""Per-case resource bounds for fuzzing and hostile-input tests (bounds, not speed checks)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

CASE_MEMORY_MB = 64  # far above what any case needs; a runaway expansion passes it at once
CASE_SECONDS = 10.0  # hypothesis deadline per case: a hang bound, generous on a loaded 2-core machine


def within_memory(fn: Callable[[], T], megabytes: float = CASE_MEMORY_MB) -> T:
    """Run `fn` and fail if Python allocations peak above `megabytes` while it runs."""
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= megabytes * 1024 * 1024, f"peak allocation {peak / 2**20:.1f} MB exceeds {megabytes} MB"
    return result
