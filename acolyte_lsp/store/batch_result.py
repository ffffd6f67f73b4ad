"""What a batch insert answers: how many objects were stored and, for each one that was not, why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum


class ErrorType(StrEnum):
    """Why an object was not stored (also the diagnostic `code`)."""

    REJECTED = "rejected"  # Weaviate refused this object (validation, vector length, …)
    INVALID_OBJECT = "invalid_object"  # the client refused it before sending
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER_ERROR = "server_error"  # a non-200 answer to the single-object request


@dataclass(frozen=True)
class ObjectError:
    """One object a batch insert did not store; `index` is its position in the call's input."""

    index: int
    message: str
    error_type: ErrorType
    file_path: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """Outcome of one `batch_insert` call."""

    successful: int
    failed: int
    errors: tuple[ObjectError, ...] = ()
    fell_back: bool = False

    @property
    def unreachable(self) -> bool:
        """Whether nothing was stored because Weaviate could not be reached at all."""
        return (
            self.successful == 0
            and bool(self.errors)
            and all(e.error_type in (ErrorType.CONNECTION, ErrorType.TIMEOUT) for e in self.errors)
        )


def merge_results(parts: Sequence[tuple[int, BatchResult]]) -> BatchResult:
    """One result for a call from its parts' `(offset, result)`, error indices made absolute."""
    errors = tuple(
        replace(error, index=offset + error.index)
        for offset, result in sorted(parts, key=lambda p: p[0])
        for error in result.errors
    )
    successful = sum(r.successful for _, r in parts)
    return BatchResult(successful, len(errors), errors, any(r.fell_back for _, r in parts))
