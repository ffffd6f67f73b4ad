"""Shared fixtures: a Weaviate to talk to (the protocol test server, or a real one via WEAVIATE_URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import weaviate

from acolyte_lsp.settings import EmbeddingSettings, WeaviateSettings
from acolyte_lsp.embedding import load_embedder
from acolyte_lsp.store.client import connect
from acolyte_lsp.store.embedded_release import BUILD_ENV
from tests.recording_proxy import RecordingProxy
from tests.weaviate_server import WeaviateTestServer

REAL_WEAVIATE_URL = os.environ.get("WEAVIATE_URL")
# The embedding model is converted to ONNX once for the whole run (and kept for the next):
# every test, and every server a test starts, finds it here instead of building it again.
# No test reaches for the Hugging Face hub (downloads are tested against a loopback hub).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("ACOLYTE_MODEL_CACHE", str(Path(__file__).resolve().parents[1] / ".cache" / "models"))



@pytest.fixture(scope="session", autouse=True)
def _default_model_converted() -> None:
    """Convert the default model to ONNX before any test starts a server that needs it (once per cache)."""
    load_embedder(EmbeddingSettings())


# Fixtures that exist only on the stand-in (faults, its state, API-key auth set to a known key).
STAND_IN_ONLY = frozenset({"test_server", "guarded_weaviate"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On a real Weaviate, tests that need the stand-in's faults are skipped before any fixture starts
    (a language server started first would wait forever for its teardown)."""
    if not REAL_WEAVIATE_URL:
        return
    skip = pytest.mark.skip(reason="injects faults or reads the stand-in's state, which only the protocol test server can do")
    for item in items:
        if STAND_IN_ONLY.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(skip)


@pytest.fixture
def test_server() -> Iterator[WeaviateTestServer]:
    """The protocol test server (tests that inject faults or read its state; skipped on a real Weaviate)."""
    with WeaviateTestServer() as server:
        yield server


@pytest.fixture
def recorded_weaviate() -> Iterator[WeaviateTestServer | RecordingProxy]:
    """A Weaviate whose requests are kept (`requests`, `requests_to`): the stand-in, or on a real
    Weaviate a recording proxy in front of it."""
    if REAL_WEAVIATE_URL:
        with RecordingProxy(REAL_WEAVIATE_URL) as proxy:
            yield proxy
        return
    with WeaviateTestServer() as server:
        yield server


@pytest.fixture
def weaviate_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A Weaviate URL: WEAVIATE_URL when set, else a fresh protocol test server."""
    if REAL_WEAVIATE_URL:
        yield REAL_WEAVIATE_URL
        return
    with WeaviateTestServer() as server:
        yield server.url


@pytest.fixture
def class_name(weaviate_url: str) -> Iterator[str]:
    """A class name used by one test only, deleted afterwards (matters on a real server)."""
    name = f"AcolyteTest{uuid.uuid4().hex[:10]}"
    yield name
    try:
        connect(WeaviateSettings(url=weaviate_url)).schema.delete_class(name)
    except Exception:  # noqa: BLE001 - best-effort cleanup; the server may be gone
        pass


@pytest.fixture
def client(weaviate_url: str) -> weaviate.Client:
    return connect(WeaviateSettings(url=weaviate_url, connect_timeout_s=2, read_timeout_s=10))


@pytest.fixture(autouse=True)
def _no_weaviate_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Weaviate Embedded that cannot be downloaded is not built from Go during tests (minutes each),
    unless the test is about that build."""
    monkeypatch.setenv(BUILD_ENV, "0")


@pytest.fixture(autouse=True)
def _private_cache_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test (and every server it starts) keeps file hashes, remembered answers and Weaviate
    Embedded's files in folders of its own, not in the user's ~/.cache, ~/.local."""
    for variable in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(variable, str(tmp_path_factory.mktemp(variable.lower())))
