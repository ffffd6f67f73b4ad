"""The one place that reaches past weaviate-client 3.26.7's public API.

1. When a batch request fails whole, the exception leaves the client's `Batch`
   holding the failed future; the next `with client.batch` would re-raise that
   stale failure. There is no public reset, so we clear the private queues.
2. `UnexpectedStatusCodeException` keeps only a formatted message, not the
   response, so Weaviate's own error text is recovered from that message.
3. `weaviate.Client` has no public `close()`; its connection does.
4. The client hands every body to requests as `json=`, which encodes with the
   standard library and decodes replies the same way: about half of a batch's
   client-side time for 768-d vectors. `use_fast_json` wraps the client's
   requests session so bodies go through `wire_json` (orjson, vectors at
   float32 precision) and replies are decoded by it. This relies on the client
   keeping its session in `_connection._session`, calling it with `json=`, and
   passing a list vector through `add_data_object` unchanged. Batch replies
   are decoded without the vectors Weaviate echoes (`decode_batch_reply`);
   nothing of ours reads them, and we never set `weaviate_error_retries`,
   the one client feature that would.

5. `add_data_object` deep-copies every object's properties (`copy.deepcopy`,
   about 30 µs for a chunk's ten fields). `FlatProperties` answers that copy
   with a shallow one when every value is immutable, which is then just as deep.

`tests/protocol/test_client_compat.py` fails if a client upgrade breaks any of these.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from typing import Any

import requests
import weaviate
from weaviate.batch import Batch
from weaviate.exceptions import UnexpectedStatusCodeException

from . import wire_json

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


_FAST_MARK = "_acolyte_fast_json"


def use_fast_json(client: weaviate.Client) -> None:
    """Encode the client's request bodies and decode its replies with `wire_json` (idempotent)."""
    session = client._connection._session  # noqa: SLF001 - the one session every request goes through
    if getattr(session.request, _FAST_MARK, False):
        return
    session.request = _with_fast_json(session.request)


def has_fast_json(client: weaviate.Client) -> bool:
    """Whether `use_fast_json` was applied to this client."""
    return bool(getattr(client._connection._session.request, _FAST_MARK, False))  # noqa: SLF001


def _with_fast_json(send: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
    def request(method: str, url: str, *args: Any, json: Any = None, headers: Any = None, **kwargs: Any) -> requests.Response:
        if json is not None:
            kwargs["data"] = wire_json.encode(json)
            headers = dict(headers or {})
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "application/json"
        response = send(method, url, *args, headers=headers, **kwargs)
        # Same layout; only `json()` differs.
        response.__class__ = _BatchReply if method == "POST" and url.endswith("/v1/batch/objects") else _FastJSONResponse
        return response

    setattr(request, _FAST_MARK, True)
    return request


class _FastJSONResponse(requests.Response):
    """A reply whose `json()` decodes with `wire_json`."""

    def json(self, **kwargs: Any) -> Any:
        try:
            return self._decoded(self.content)
        except ValueError as err:
            # The client catches requests' own error type, not orjson's.
            raise requests.exceptions.JSONDecodeError(str(err), self.text, 0) from err

    @staticmethod
    def _decoded(content: bytes) -> Any:
        return wire_json.decode(content)


class _BatchReply(_FastJSONResponse):
    """A batch reply: the objects' echoed vectors are left undecoded (our callback reads ids and results)."""

    @staticmethod
    def _decoded(content: bytes) -> Any:
        return wire_json.decode_batch_reply(content)


_IMMUTABLE = (str, int, float, bool, type(None))


class FlatProperties(dict[str, Any]):
    """An object's properties, copied cheaply when the client deep-copies them."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        if all(type(value) in _IMMUTABLE for value in self.values()):
            return dict(self)
        return copy.deepcopy(dict(self), memo)
