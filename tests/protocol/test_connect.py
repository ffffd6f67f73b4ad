"""Connecting: URL, API key, and what users read when it fails."""

from __future__ import annotations

import pytest

from acolyte_lsp.settings import WeaviateSettings
from acolyte_lsp.store.client import connect
from acolyte_lsp.store.errors import WeaviateUnavailableError
from tests.weaviate_server import WeaviateTestServer


def test_unreachable_url_gives_one_actionable_paragraph() -> None:
    with pytest.raises(WeaviateUnavailableError) as raised:
        connect(WeaviateSettings(url="http://127.0.0.1:9", connect_timeout_s=1))
    message = str(raised.value)
    assert message.startswith("Cannot reach Weaviate at http://127.0.0.1:9 (connection refused).")
    assert "docker run" in message
    assert "weaviate.embedded: true" in message
    assert "where downloads are impossible" in message
    assert "WEAVIATE_URL" in message


def test_api_key_is_sent_as_bearer_auth() -> None:
    with WeaviateTestServer(api_key="s3cret") as server:
        client = connect(WeaviateSettings(url=server.url, api_key="s3cret"))
        assert client.schema.get() == {"classes": []}


def test_missing_api_key_says_what_to_set() -> None:
    with WeaviateTestServer(api_key="s3cret") as server:
        with pytest.raises(WeaviateUnavailableError) as raised:
            connect(WeaviateSettings(url=server.url))
    assert "HTTP 401" in str(raised.value)
    assert "WEAVIATE_API_KEY" in str(raised.value)
    assert "s3cret" not in str(raised.value)
