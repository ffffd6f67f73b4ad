"""Embedder variants named on a benchmark's command line: `provider[:key=value,...]`.

  onnx                                the default (int8, the model's profile: 128 word pieces)
  onnx:quantize=none,max_tokens=256   float32, reading as far as sentence-transformers does
  sentence-transformers               the same model on PyTorch (the `local-model` extra)
  hash
"""

from __future__ import annotations

import dataclasses
import typing

from acolyte_lsp.settings import EmbeddingSettings

_HINTS = typing.get_type_hints(EmbeddingSettings)


def parse_spec(spec: str) -> EmbeddingSettings:
    """The settings one spec names (values typed as the settings tree types them)."""
    provider, _, rest = spec.partition(":")
    values: dict[str, typing.Any] = {"provider": provider}
    for pair in filter(None, rest.split(",")):
        key, _, raw = pair.partition("=")
        if key not in _HINTS:
            raise SystemExit(f"unknown embeddings key {key!r} in {spec!r}")
        kind = next((t for t in typing.get_args(_HINTS[key]) if t is not type(None)), _HINTS[key])
        values[key] = raw == "true" if kind is bool else kind(raw)
    return dataclasses.replace(EmbeddingSettings(), **values)


def parse_specs(text: str) -> list[tuple[str, EmbeddingSettings]]:
    """`;`-separated specs with their labels."""
    return [(spec, parse_spec(spec)) for spec in filter(None, text.split(";"))]
