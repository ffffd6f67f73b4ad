"""A learned embedding model run by ONNX Runtime, with Hugging Face `tokenizers`.

Texts are tokenised all at once (in parallel, in Rust) and then run one at a
time. Dynamic int8 quantisation scales activations over the whole input
tensor, so in a padded batch a text's vector would depend on its neighbours
(cosine 0.99 to itself alone); run alone, the same text always gets the same
vector, bit for bit, and no work goes to padding (it was also faster on our
2 cores: BENCHMARKS.md). ONNX Runtime releases the GIL while it runs and does
not spin between operators, so the event loop keeps answering while a worker
thread embeds.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .onnx_build import BUILD_VERSION, onnx_model_for
from .onnx_graph import EncoderConfig, ModelFormatError
from .profiles import ModelProfile


@dataclass(frozen=True)
class OnnxOptions:
    """How the model is run (None: the model's profile or folder decides)."""

    quantize: str = "int8"
    max_tokens: int | None = None
    threads: int | None = None
    query_prefix: str | None = None
    document_prefix: str | None = None
    pooling: str | None = None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def folder_pooling(folder: Path) -> str | None:
    """The pooling the folder's sentence-transformers files declare, if any."""
    config = _read_json(folder / "1_Pooling" / "config.json")
    if config.get("pooling_mode_cls_token"):
        return "cls"
    return "mean" if config.get("pooling_mode_mean_tokens") else None


class OnnxEmbedder:
    """Embeds with the encoder in `folder` (see `onnx_graph`), built and cached under `cache_dir`.

    Vectors are unit length (Weaviate's cosine distance ranks them the same; reuse compares them exactly).
    """

    def __init__(
        self,
        name: str,
        folder: Path,
        profile: ModelProfile,
        options: OnnxOptions,
        cache_dir: Path,
        on_build: Callable[[], None] | None = None,
    ) -> None:
        import onnxruntime  # ImportError: the caller says what to install
        from tokenizers import Tokenizer
        config = EncoderConfig.from_folder(folder)
        self._pooling = options.pooling or profile.pooling or folder_pooling(folder) or "mean"
        limit = config.max_positions - config.position_offset
        declared = _read_json(folder / "sentence_bert_config.json").get("max_seq_length")
        self._max_tokens = min(limit, options.max_tokens or profile.max_tokens or int(declared or limit))
        self._query_prefix = profile.query_prefix if options.query_prefix is None else options.query_prefix
        self._document_prefix = profile.document_prefix if options.document_prefix is None else options.document_prefix
        self._name = name
        self._quantize = options.quantize
        self._dimensions = config.hidden_size

        try:
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as err:  # noqa: BLE001 - tokenizers raises plain Exceptions for bad files
            raise ModelFormatError(f"{folder / 'tokenizer.json'} cannot be read: {err}") from err
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self._max_tokens)

        model_path = onnx_model_for(folder, self._pooling, options.quantize, cache_dir, on_build)
        session_options = onnxruntime.SessionOptions()
        session_options.intra_op_num_threads = options.threads or min(4, os.cpu_count() or 1)
        session_options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: an editor's background process should not burn cores.
        session_options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = onnxruntime.InferenceSession(str(model_path), session_options, providers=["CPUExecutionProvider"])
        except Exception as err:  # noqa: BLE001 - onnxruntime raises its own kinds for a bad model
            raise ModelFormatError(f"onnxruntime cannot load {model_path}: {err}") from err

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def identity(self) -> str:
        feeding = hashlib.sha256(f"{self._query_prefix}\0{self._document_prefix}".encode()).hexdigest()[:8]
        return f"onnx:{self._name}:{self._quantize}:{self._pooling}:{self._max_tokens}:{feeding}:{BUILD_VERSION}"

    def _embed(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for encoding in self._tokenizer.encode_batch(list(texts)) if texts else []:
            ids = np.asarray([encoding.ids], dtype=np.int64)
            (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})
            out.append(vectors[0].tolist())
        return out

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self._embed([self._document_prefix + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return self._embed([self._query_prefix + text])[0]
