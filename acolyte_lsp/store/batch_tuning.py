"""How batches are configured, and the tuner that sizes them to what Weaviate handles."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BatchConfig:
    """How the v3 client's batch is configured; swapped whole, read once per batch."""

    batch_size: int = 100
    num_workers: int = 1
    dynamic: bool = False
    timeout_retries: int = 3
    connection_error_retries: int = 3
    consistency_level: str | None = None
    max_retries: int = 3  # our retries of transient failures, after the client's own
    retry_backoff_s: float = 0.5
    retry_backoff_max_s: float = 8.0
    min_batch_size: int = 10  # bounds and target of the batch-size tuner (dynamic)
    max_batch_size: int = 1000
    target_batch_s: float = 1.0

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")

    @property
    def tuned(self) -> bool:
        """Whether the tuner sizes batches (`batch_size: 1` always means one object per request)."""
        return self.dynamic and self.batch_size > 1


@dataclass
class BatchSizeTuner:
    """Adapts the batch size to what Weaviate handles: grow while requests stay under a target
    time, shrink in proportion when they take longer, halve on timeouts and busy answers."""

    size: int
    min_size: int = 10
    max_size: int = 1000
    target_s: float = 1.0
    trace: list[tuple[int, float, bool, int]] = field(default_factory=list)  # sent, seconds, busy, next size

    def bound(self, min_size: int, max_size: int, target_s: float) -> None:
        """New bounds and target; the current size is clamped into them."""
        self.min_size, self.max_size, self.target_s = min_size, max(min_size, max_size), target_s
        self.size = max(self.min_size, min(self.max_size, self.size))

    def observe(self, sent: int, seconds: float, busy: bool) -> int:
        """The next batch's size after a batch of `sent` objects took `seconds`."""
        if busy:
            size = self.size // 2
        elif seconds > self.target_s:
            size = int(self.size * self.target_s / seconds)
        elif sent >= self.size:  # only a full batch says how big a batch can be
            size = int(self.size * 1.5) + 1
        else:
            size = self.size
        self.size = max(self.min_size, min(self.max_size, size))
        self.trace.append((sent, seconds, busy, self.size))
        return self.size
