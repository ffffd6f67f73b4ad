"""Connecting: URL, API key, Weaviate Embedded options, and what users read when it fails."""

from __future__ import annotations

import urllib.error
from typing import Any

import pytest

from acolyte_lsp.config import WeaviateSettings
from acolyte_lsp.store import client as client_module
from acolyte_lsp.store.client import connect, embedded_options
from acolyte_lsp.store.errors import EmbeddedWeaviateError, WeaviateUnavailableError
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


def test_embedded_options_take_version_and_paths_from_settings() -> None:
    options = embedded_options(
        WeaviateSettings(embedded=True, embedded_version="1.24.1", embedded_binary_path="/opt/wv", embedded_persistence_path="/data")
    )
    assert (options.version, options.binary_path, options.persistence_data_path) == ("1.24.1", "/opt/wv", "/data")


def test_embedded_start_failure_explains_the_download(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_client(**kwargs: Any) -> None:
        seen.update(kwargs)
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(client_module.weaviate, "Client", fake_client)
    with pytest.raises(EmbeddedWeaviateError) as raised:
        connect(WeaviateSettings(embedded=True, embedded_version="1.24.1", embedded_binary_path="/opt/wv"))
    assert seen["embedded_options"].version == "1.24.1"
    assert "Weaviate Embedded 1.24.1 could not start" in str(raised.value)
    assert "/opt/wv" in str(raised.value)
