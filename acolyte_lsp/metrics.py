"""Counters, gauges and timers shared by the inserter, the indexer and the status command."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class TimerStats:
    """Count, total and extremes of one timer, in seconds."""

    count: int = 0
    total_s: float = 0.0
    min_s: float = 0.0
    max_s: float = 0.0

    def add(self, seconds: float) -> None:
        self.min_s = seconds if self.count == 0 else min(self.min_s, seconds)
        self.max_s = max(self.max_s, seconds)
        self.count += 1
        self.total_s += seconds


class Metrics:
    """Thread-safe metrics: the inserter updates them from executor threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, float] = {}
        self._timers: dict[str, TimerStats] = {}

    def increment(self, name: str, amount: float = 1) -> None:
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + amount

    def set_gauge(self, name: str, value: float) -> None:
        with self._lock:
            self._counters[name] = value

    def get(self, name: str) -> float:
        with self._lock:
            return self._counters.get(name, 0)

    def record_time(self, name: str, seconds: float) -> None:
        with self._lock:
            self._timers.setdefault(name, TimerStats()).add(seconds)

    @contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """Time the body of a `with` block under `name`, whether or not it raises."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.record_time(name, time.perf_counter() - start)

    def timer_stats(self, name: str) -> TimerStats:
        with self._lock:
            stats = self._timers.get(name, TimerStats())
            return TimerStats(stats.count, stats.total_s, stats.min_s, stats.max_s)

    def snapshot(self) -> dict[str, object]:
        """Plain values for status replies and summaries."""
        with self._lock:
            out: dict[str, object] = dict(self._counters)
            for name, stats in self._timers.items():
                out[name] = {
                    "count": stats.count,
                    "total_s": round(stats.total_s, 6),
                    "min_s": round(stats.min_s, 6),
                    "max_s": round(stats.max_s, 6),
                }
            return out
