"""A sentence-transformers model on PyTorch (the optional `local-model` extra).

Kept for models the ONNX runtime cannot build (other architectures) and as the
baseline the benchmarks compare the default against.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ModelLoadError


class SentenceTransformerEmbedder:
    """A local sentence-transformers model (the optional `local-model` extra), loaded once.

    `folder` holds the model (found as the ONNX runtime finds it); vectors are
    normalised so cosine distance behaves as with the other embedders.
    """

    def __init__(self, name: str, folder: str, batch_size: int = 32) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as err:
            raise ModelLoadError(
                "embeddings.provider 'sentence-transformers' needs the optional extra: "
                "pip install 'acolyte-lsp[local-model]'"
            ) from err
        try:
            self._model = SentenceTransformer(folder, device="cpu")
        except Exception as err:  # noqa: BLE001 - the library raises many kinds; all mean "cannot load"
            raise ModelLoadError(f"cannot load the sentence-transformers model {name!r} from {folder}: {err}") from err
        self._batch_size = batch_size
        self._model_name = name
        # get_sentence_embedding_dimension is deprecated from sentence-transformers 5
        dimension_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self._dimensions = int(dimension_of())

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
