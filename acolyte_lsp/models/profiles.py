"""What to know about a model beyond its files: prefixes, pooling, how many tokens to read.

A model trained with instructions ("query: …") or a special pooling gives poor
vectors without them, and its folder rarely says so; the known ones are listed
here, and every field can be overridden in `embeddings.*`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class ModelProfile:
    """How a model is fed and read (None: what its folder's sentence-transformers files say)."""

    query_prefix: str = ""
    document_prefix: str = ""
    pooling: str | None = None  # "mean" | "cls"
    max_tokens: int | None = None
    dimensions: int | None = None  # known before the model is loaded (the hashing fallback matches it)


_KNOWN: dict[str, ModelProfile] = {
    # 128 word pieces: the length it was trained at; BENCHMARKS.md measures 128 against 256.
    "sentence-transformers/all-MiniLM-L6-v2": ModelProfile(pooling="mean", max_tokens=128, dimensions=384),
    "sentence-transformers/all-MiniLM-L12-v2": ModelProfile(pooling="mean", max_tokens=128, dimensions=384),
    "BAAI/bge-small-en-v1.5": ModelProfile(
        query_prefix="Represent this sentence for searching relevant passages: ", pooling="cls", max_tokens=512, dimensions=384
    ),
    "intfloat/e5-small-v2": ModelProfile(query_prefix="query: ", document_prefix="passage: ", pooling="mean", dimensions=384),
    "microsoft/unixcoder-base": ModelProfile(pooling="mean", max_tokens=512, dimensions=768),
    "jinaai/jina-embeddings-v2-base-code": ModelProfile(pooling="mean", max_tokens=8192, dimensions=768),
}
_ALIASES = {"all-MiniLM-L6-v2": DEFAULT_MODEL, "all-minilm-l6-v2": DEFAULT_MODEL}


def canonical_name(model: str) -> str:
    """The hub name for a short alias (`all-MiniLM-L6-v2`), else `model` unchanged."""
    return _ALIASES.get(model, model)


def profile_for(model: str) -> ModelProfile:
    """The known profile of a hub name (or of a local folder named like one), else a neutral one."""
    name = canonical_name(model)
    if name in _KNOWN:
        return _KNOWN[name]
    tail = name.rstrip("/").rsplit("/", 1)[-1]
    for known, profile in _KNOWN.items():
        if known.rsplit("/", 1)[-1] == tail:
            return profile
    return ModelProfile()
