"""A model2vec static model as an embedder, for the benchmarks only (not a provider).

Static models look each token's vector up instead of running a network: very
fast, and lower in quality. PyPI carries no ready static model of code or
general English, and distilling one needs PyTorch, so this stays a measurement:

  pip install 'model2vec[distill]' sentence-transformers
  python -c "from model2vec.distill import distill; distill('PATH/TO/all-MiniLM-L6-v2', pca_dims=256).save_pretrained('m2v')"
  python benchmarks/bench_retrieval.py --embedders hash --model2vec m2v
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


class StaticEmbedder:
    """model2vec's StaticModel behind the Embedder protocol (unit vectors)."""

    def __init__(self, folder: str) -> None:
        from model2vec import StaticModel

        self._model = StaticModel.from_pretrained(folder)
        self._name = Path(folder).name
        self._dimensions = int(self._model.dim)

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def identity(self) -> str:
        return f"model2vec:{self._name}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]
