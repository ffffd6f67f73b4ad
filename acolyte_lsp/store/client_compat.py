"""The one place that reaches past weaviate-client 3.26.7's public API.

1. When a batch request fails whole, the exception leaves the client's `Batch`
   holding the failed future; the next `with client.batch` would re-raise that
   stale failure. There is no public reset, so we clear the private queues.
2. `UnexpectedStatusCodeException` keeps only a formatted message, not the
   response, so Weaviate's own error text is recovered from that message.
3. `weaviate.Client` has no public `close()`; its connection does.

`tests/test_client_compat.py` fails if a client upgrade breaks either.
"""

from __future__ import annotations

import ast

import weaviate
from weaviate.batch import Batch
from weaviate.exceptions import UnexpectedStatusCodeException

PRIVATE_QUEUES = ("_future_pool", "_reference_batch_queue")
_BODY_MARKER = "with response body: "


def reset_after_failure(batch: Batch) -> None:
    """Drop everything a failed batch left behind so the next batch starts clean."""
    batch.shutdown()
    batch.empty_objects()
    batch.empty_references()
    for name in PRIVATE_QUEUES:
        getattr(batch, name).clear()


def weaviate_error_messages(err: UnexpectedStatusCodeException) -> list[str]:
    """The `error[].message` texts of the response behind `err` (empty when there were none)."""
    text = str(err)
    start = text.find(_BODY_MARKER)
    if start < 0:
        return []
    rest = text[start + len(_BODY_MARKER):]
    body = None
    end = rest.rfind("}")
    while end >= 0 and body is None:  # the body is a dict repr; explanations follow it
        try:
            body = ast.literal_eval(rest[: end + 1])
        except (ValueError, SyntaxError):
            end = rest.rfind("}", 0, end)
    if not isinstance(body, dict):
        return []
    errors = body.get("error")
    if not isinstance(errors, list):
        return []
    return [str(e.get("message", "")) for e in errors if isinstance(e, dict)]


def close_client(client: weaviate.Client) -> None:
    """Close the client's HTTP session (and background token refresh, if any)."""
    client._connection.close()  # noqa: SLF001 - no public close in v3
