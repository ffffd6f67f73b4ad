"""Embedders turn chunk text into vectors (and search queries into the same space).

`HashEmbedder` is the default: deterministic, dependency-free, no model
download. It hashes identifier-like tokens (and their lower-cased sub-words,
so `batch_insert` and `BatchInsert` meet) into signed buckets and L2-normalises,
which is enough for lexical-semantic retrieval of code and for tests.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Sequence
from typing import Protocol

from .config import EmbeddingSettings

HASH_EMBEDDER_VERSION = 1  # bump when HashEmbedder's vectors change: stored ones are then not reused
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


class EmbedderError(Exception):
    """An embedder cannot be set up; the message says what to install or change."""


class Embedder(Protocol):
    """Turns texts into vectors; `dimensions` is None when Weaviate vectorizes instead."""

    @property
    def dimensions(self) -> int | None: ...

    @property
    def identity(self) -> str | None:
        """What makes its vectors: the same text and identity give the same vector (None: no vectors)."""
        ...

    def embed(self, texts: Sequence[str]) -> list[list[float]] | None:
        """Vectors for `texts` in order, or None when no vectors are sent."""
        ...

    def embed_query(self, text: str) -> list[float] | None:
        """The vector to search with, or None when Weaviate embeds the query (nearText)."""
        ...


@functools.lru_cache(maxsize=1 << 13)  # a few MiB: the common identifiers, not every one
def _token_features(token: str, dimensions: int) -> tuple[tuple[int, float], ...]:
    """(bucket, sign) of a token and of its sub-words; cached, as code repeats its identifiers."""
    lowered = token.lower()
    features = [lowered]
    parts = [p.lower() for piece in token.split("_") for p in _CAMEL.findall(piece)]
    if len(parts) > 1:
        features.extend(parts)
    out = []
    for feature in features:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        out.append((int.from_bytes(digest[:4], "little") % dimensions, 1.0 if digest[4] & 1 else -1.0))
    return tuple(out)


class HashEmbedder:
    """Deterministic feature-hashing embedder (768 dimensions by default)."""

    def __init__(self, dimensions: int = 768) -> None:
        if dimensions < 1:
            raise ValueError("dimensions must be at least 1")
        self._dimensions = dimensions

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def identity(self) -> str:
        return f"hash:{HASH_EMBEDDER_VERSION}:{self._dimensions}"

    def embed_one(self, text: str) -> list[float]:
        """The unit-length vector of one text (all zeros for text without tokens)."""
        vector = [0.0] * self._dimensions
        for token in _TOKEN.findall(text):
            for bucket, sign in _token_features(token, self._dimensions):
                vector[bucket] += sign
        norm = math.sqrt(sum(v * v for v in vector))
        if norm == 0.0:
            return vector
        return [v / norm for v in vector]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.embed_one(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_one(text)


class NoEmbedder:
    """Sends no vectors: the Weaviate class's own vectorizer module makes them."""

    @property
    def dimensions(self) -> None:
        return None

    @property
    def identity(self) -> None:
        return None

    def embed(self, texts: Sequence[str]) -> None:
        return None

    def embed_query(self, text: str) -> None:
        return None


class SentenceTransformerEmbedder:
    """A local sentence-transformers model (the optional `local-model` extra), loaded once.

    `model` is a local folder (or a name the library can resolve offline);
    vectors are normalised so cosine distance behaves as with the other embedders.
    """

    def __init__(self, model: str, batch_size: int = 32) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as err:
            raise EmbedderError(
                "embeddings.provider 'sentence-transformers' needs the optional extra: "
                "pip install 'acolyte-lsp[local-model]'"
            ) from err
        if not model:
            raise EmbedderError("embeddings.provider 'sentence-transformers' needs embeddings.model (a local model folder)")
        try:
            self._model = SentenceTransformer(model)
        except Exception as err:  # noqa: BLE001 - the library raises many kinds; all mean "cannot load"
            raise EmbedderError(f"cannot load the sentence-transformers model {model!r}: {err}") from err
        self._batch_size = batch_size
        self._model_name = model
        self._dimensions = int(self._model.get_sentence_embedding_dimension())

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def identity(self) -> str:
        return f"sentence-transformers:{self._model_name}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self._model.encode(list(texts), batch_size=self._batch_size, normalize_embeddings=True)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder named by `embeddings.provider`; `EmbedderError` when it cannot be set up."""
    if settings.provider == "hash":
        return HashEmbedder(settings.dimensions)
    if settings.provider == "none":
        return NoEmbedder()
    if settings.provider == "sentence-transformers":
        return SentenceTransformerEmbedder(settings.model or "")
    raise EmbedderError(f"unknown embeddings.provider {settings.provider!r} (use 'hash', 'none' or 'sentence-transformers')")


def vector_key(identity: str, text: str) -> str:
    """The key a chunk's vector is stored under: the embedder that made it and the text it embeds."""
    return hashlib.sha256(f"{identity}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:40]
