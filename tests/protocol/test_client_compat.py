"""Guards for the few places we reach past weaviate-client's public API (store/client_compat.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import requests
import weaviate
from requests.adapters import HTTPAdapter
from weaviate.batch import Batch
from weaviate.exceptions import (
    ResponseCannotBeDecodedException,
    UnexpectedStatusCodeException,
)
from weaviate.util import get_vector

from acolyte_lsp.settings import WeaviateSettings
from acolyte_lsp.store import wire_json
from acolyte_lsp.store.client import connect
from acolyte_lsp.store.batch_inserter import WeaviateBatchInserter
from acolyte_lsp.store.client_compat import (
    PRIVATE_QUEUES,
    FlatProperties,
    close_client,
    has_fast_json,
    reset_after_failure,
    weaviate_error_messages,
)
from acolyte_lsp.store.schema import ensure_schema
from acolyte_lsp.vectors import to_float32


def test_the_client_version_is_the_pinned_one() -> None:
    assert weaviate.__version__ == "3.26.7"


def test_batch_still_has_the_private_queues_we_clear(client: weaviate.Client) -> None:
    for name in PRIVATE_QUEUES:
        assert isinstance(getattr(client.batch, name), list), name
    reset_after_failure(client.batch)
    assert isinstance(client.batch, Batch)


def test_error_messages_are_recovered_from_the_exception_text() -> None:
    response = requests.Response()
    response.status_code = 422
    response._content = (  # noqa: SLF001 - building a response by hand
        b'{"error": [{"message": "new node has a vector with length 2. Existing nodes have vectors with length 3"}]}'
    )
    err = UnexpectedStatusCodeException("Creating object", response)
    assert weaviate_error_messages(err) == [
        "new node has a vector with length 2. Existing nodes have vectors with length 3"
    ]


def test_error_without_a_json_body_gives_no_messages() -> None:
    response = requests.Response()
    response.status_code = 502
    response._content = b"<html>bad gateway</html>"  # noqa: SLF001
    assert weaviate_error_messages(UnexpectedStatusCodeException("Creating object", response)) == []


def test_client_can_be_closed(client: weaviate.Client) -> None:
    close_client(client)


class _BodyRecorder(HTTPAdapter):
    """A transport adapter (public requests API) that keeps the bodies it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if request.body:
            self.bodies.append(request.body if isinstance(request.body, bytes) else request.body.encode())
        return super().send(request, **kwargs)


def test_the_client_passes_a_list_vector_through_unchanged() -> None:
    [vector] = to_float32([[0.1, 0.2]])
    assert get_vector(vector) is vector  # else the float32 array would not reach the encoder


def _batch_body_on_the_wire(weaviate_url: str, class_name: str, fast_json: bool) -> bytes:
    """The body of a one-object batch whose vector is 768 times float32(1/3)."""
    client = connect(WeaviateSettings(url=weaviate_url), fast_json=fast_json)
    ensure_schema(client, class_name)
    recorder = _BodyRecorder()
    client._connection._session.mount("http://", recorder)  # noqa: SLF001 - observing the wire
    with client.batch as batch:
        batch.add_data_object({"content": "x"}, class_name, vector=to_float32([[1 / 3] * 768])[0])
    [body] = [b for b in recorder.bodies if b'"objects"' in b]
    return body


def test_fast_json_puts_float32_vectors_on_the_wire_in_shortest_form(weaviate_url: str, class_name: str) -> None:
    body = _batch_body_on_the_wire(weaviate_url, class_name, fast_json=True)
    assert b"[0.33333334,0.33333334," in body and b"0.3333333333333333" not in body


def test_without_fast_json_the_client_writes_every_double_in_full(weaviate_url: str, class_name: str) -> None:
    assert b"0.3333333333333333" in _batch_body_on_the_wire(weaviate_url, class_name, fast_json=False)


def test_fast_json_decodes_the_replies(weaviate_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = connect(WeaviateSettings(url=weaviate_url))
    decoded: list[bytes | str] = []
    real = wire_json.decode
    monkeypatch.setattr(wire_json, "decode", lambda content: decoded.append(content) or real(content))
    assert "classes" in client.schema.get()
    assert decoded, "the reply was decoded by the client's standard JSON, not wire_json"


class _HtmlAdapter(HTTPAdapter):
    """Answers every request 200 with an HTML page, as a misconfigured proxy might."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response._content = b"<html>not Weaviate</html>"  # noqa: SLF001 - building a response by hand
        response.request = request
        return response


def test_a_reply_that_is_not_json_raises_the_error_the_client_catches(weaviate_url: str) -> None:
    client = connect(WeaviateSettings(url=weaviate_url))
    client._connection._session.mount("http://", _HtmlAdapter())  # noqa: SLF001
    with pytest.raises(ResponseCannotBeDecodedException):
        client.schema.get()


def test_the_batch_copies_flat_properties_as_plain_dicts_that_do_not_share_nested_values(client: weaviate.Client) -> None:
    flat = FlatProperties({"content": "x", "start_line": 1})
    nested = FlatProperties({"tags": ["a"]})
    client.batch.configure(batch_size=None, dynamic=False)  # manual: nothing is sent
    client.batch.add_data_object(flat, "CodeChunk")
    client.batch.add_data_object(nested, "CodeChunk")
    first, second = (item["properties"] for item in client.batch._objects_batch.get_request_body()["objects"])  # noqa: SLF001
    client.batch.empty_objects()
    assert type(first) is dict and first == flat and first is not flat
    assert second == {"tags": ["a"]} and second["tags"] is not nested["tags"]


def test_batch_replies_reach_the_callback_without_their_echoed_vectors(weaviate_url: str, class_name: str) -> None:
    client = connect(WeaviateSettings(url=weaviate_url))
    ensure_schema(client, class_name)
    seen: list[dict[str, Any]] = []
    client.batch.configure(batch_size=10, dynamic=False, callback=seen.extend)
    with client.batch as batch:
        batch.add_data_object({"content": "x"}, class_name, vector=to_float32([[0.5] * 768])[0])
    [item] = seen
    assert item["vector"] == wire_json.VECTOR_NOT_DECODED
    assert "errors" not in (item.get("result") or {})


def test_a_plain_client_handed_to_the_inserter_gets_the_fast_wire(weaviate_url: str, class_name: str) -> None:
    client = weaviate.Client(weaviate_url)  # as a library user makes it, not through connect()
    ensure_schema(client, class_name)
    assert not has_fast_json(client)
    recorder = _BodyRecorder()
    client._connection._session.mount("http://", recorder)  # noqa: SLF001 - observing the wire
    inserter = WeaviateBatchInserter(client, batch_size=10)
    wrapped = client._connection._session.request  # noqa: SLF001
    WeaviateBatchInserter(client, batch_size=10).close()  # a second inserter wraps nothing again
    assert client._connection._session.request is wrapped  # noqa: SLF001
    result = asyncio.run(inserter.batch_insert([{"content": "x"}], to_float32([[1 / 3] * 768]), class_name))
    inserter.close()
    assert result.successful == 1
    [body] = [b for b in recorder.bodies if b'"objects"' in b]
    assert b"[0.33333334,0.33333334," in body


def test_the_inserter_can_keep_the_clients_own_json(weaviate_url: str) -> None:
    client = weaviate.Client(weaviate_url)
    WeaviateBatchInserter(client, fast_wire=False).close()
    assert not has_fast_json(client)
