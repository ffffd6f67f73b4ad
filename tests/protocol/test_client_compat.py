"""Guards for the few places we reach past weaviate-client's public API (store/client_compat.py)."""

from __future__ import annotations

import requests
import weaviate
from weaviate.batch import Batch
from weaviate.exceptions import UnexpectedStatusCodeException

from acolyte_lsp.store.client_compat import PRIVATE_QUEUES, close_client, reset_after_failure, weaviate_error_messages


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
