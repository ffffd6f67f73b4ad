"""How a failed insert is named (error type and message) and whether trying again may help."""

from __future__ import annotations

import random

import requests
from weaviate.exceptions import UnexpectedStatusCodeException

from .batch_result import ErrorType
from .client_compat import weaviate_error_messages

# Per-object messages that mean "try again later", not "this object is wrong".
_TRANSIENT_MARKERS = (
    "context deadline exceeded",
    "deadline exceeded",
    "timeout",
    "timed out",
    "temporarily unavailable",
    "unavailable",
    "connection refused",
    "connection reset",
    "too many requests",
    "try again",
    "eof",
)
_RNG = random.Random()


def weaviate_message(err: UnexpectedStatusCodeException) -> str:
    """Weaviate's own error text from a non-200 answer, else the exception text."""
    messages = weaviate_error_messages(err)
    if not messages:
        return str(err)
    return f"{'; '.join(messages)} (HTTP {err.status_code})"


def status_error_type(status_code: int) -> ErrorType:
    """A non-200 answer: the server's trouble (5xx) or a refusal of the object."""
    return ErrorType.SERVER_ERROR if status_code >= 500 else ErrorType.REJECTED


def describe_failure(err: BaseException) -> tuple[str, ErrorType]:
    """The message and error type of an exception the client raised for a request."""
    if isinstance(err, requests.exceptions.Timeout):
        return (f"Weaviate did not answer in time: {err}", ErrorType.TIMEOUT)
    if isinstance(err, requests.exceptions.ConnectionError):
        return (f"connection to Weaviate failed: {err}", ErrorType.CONNECTION)
    if isinstance(err, UnexpectedStatusCodeException):
        return (weaviate_message(err), status_error_type(err.status_code))
    if isinstance(err, TypeError):
        return (f"cannot be sent as JSON: {err}", ErrorType.INVALID_OBJECT)
    return (str(err), ErrorType.SERVER_ERROR)


def is_transient(message: str, error_type: ErrorType) -> bool:
    """Whether a failure may succeed if tried again later (never true for validation errors)."""
    if error_type in (ErrorType.TIMEOUT, ErrorType.CONNECTION, ErrorType.SERVER_ERROR):
        return True
    if error_type == ErrorType.INVALID_OBJECT:
        return False
    lowered = message.lower()
    if "(http 429)" in lowered:
        return True
    return any(marker in lowered for marker in _TRANSIENT_MARKERS)


def is_busy_answer(message: str, error_type: ErrorType) -> bool:
    """Whether Weaviate answered that it is overloaded (5xx, 429): a smaller batch may pass."""
    return error_type == ErrorType.SERVER_ERROR or "(http 429)" in message.lower()


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random = _RNG) -> float:
    """Seconds before retry `attempt` (0-based): exponential, capped, with "equal jitter" in [d/2, d]."""
    delay = min(cap_s, base_s * (2**attempt))
    return delay / 2 + rng.uniform(0, delay / 2)
