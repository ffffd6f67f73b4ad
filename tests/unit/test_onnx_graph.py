"""The ONNX graph written from a model folder computes what the encoder computes.

Tiny random BERT and RoBERTa folders are written here; the graph's output is
compared with a plain numpy forward pass of the same weights (the encoder as
the BERT paper and Hugging Face's modelling code define it).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from safetensors.numpy import save_file

from acolyte_lsp.models.onnx_build import onnx_model_for
from acolyte_lsp.models.onnx_graph import ModelFormatError, build_encoder_graph

HIDDEN, HEADS, LAYERS, INNER, VOCAB, POSITIONS = 16, 4, 2, 32, 50, 40


def _tiny_model(folder: Path, model_type: str = "bert", prefix: str = "") -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    w: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": rng.normal(0, 0.5, (VOCAB, HIDDEN)),
        "embeddings.position_embeddings.weight": rng.normal(0, 0.5, (POSITIONS, HIDDEN)),
        "embeddings.token_type_embeddings.weight": rng.normal(0, 0.5, (2, HIDDEN)),
        "embeddings.LayerNorm.weight": rng.normal(1, 0.1, HIDDEN),
        "embeddings.LayerNorm.bias": rng.normal(0, 0.1, HIDDEN),
    }
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}"
        for name, shape in (
            ("attention.self.query", (HIDDEN, HIDDEN)),
            ("attention.self.key", (HIDDEN, HIDDEN)),
            ("attention.self.value", (HIDDEN, HIDDEN)),
            ("attention.output.dense", (HIDDEN, HIDDEN)),
            ("intermediate.dense", (INNER, HIDDEN)),
            ("output.dense", (HIDDEN, INNER)),
        ):
            w[f"{p}.{name}.weight"] = rng.normal(0, 0.3, shape)
            w[f"{p}.{name}.bias"] = rng.normal(0, 0.1, shape[0])
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"{p}.{norm}.weight"] = rng.normal(1, 0.1, HIDDEN)
            w[f"{p}.{norm}.bias"] = rng.normal(0, 0.1, HIDDEN)
    weights = {k: v.astype(np.float32) for k, v in w.items()}
    folder.mkdir(parents=True, exist_ok=True)
    save_file({prefix + k: v for k, v in weights.items()}, str(folder / "model.safetensors"))
    config = {
        "model_type": model_type, "hidden_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
        "intermediate_size": INNER, "max_position_embeddings": POSITIONS, "layer_norm_eps": 1e-12,
        "hidden_act": "gelu", "pad_token_id": 1 if model_type == "roberta" else 0, "vocab_size": VOCAB,
    }
    (folder / "config.json").write_text(json.dumps(config))
    return weights


def _reference(w: dict[str, np.ndarray], ids: list[int], offset: int, pooling: str) -> np.ndarray:
    """The encoder in numpy, one unpadded sequence."""

    def norm(x: np.ndarray, p: str) -> np.ndarray:
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w[f"{p}.weight"] + w[f"{p}.bias"]

    def linear(x: np.ndarray, p: str) -> np.ndarray:
        return x @ w[f"{p}.weight"].T + w[f"{p}.bias"]

    t = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][offset : offset + t]
    x = norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    d = HIDDEN // HEADS
    erf = np.vectorize(math.erf)
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}"
        q, k, v = (linear(x, f"{p}.attention.self.{n}").reshape(t, HEADS, d).transpose(1, 0, 2) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(t, HIDDEN)
        x = norm(linear(context, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
        inner = linear(x, f"{p}.intermediate.dense")
        inner = 0.5 * inner * (1 + erf(inner / math.sqrt(2)))
        x = norm(linear(inner, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
    pooled = x[0] if pooling == "cls" else x.mean(0)
    return pooled / np.linalg.norm(pooled)


def _run(model: bytes | Path, batch: list[list[int]]) -> np.ndarray:
    source = model if isinstance(model, bytes) else str(model)
    session = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    width = max(map(len, batch))
    ids = np.array([s + [0] * (width - len(s)) for s in batch], dtype=np.int64)
    mask = np.array([[1] * len(s) + [0] * (width - len(s)) for s in batch], dtype=np.int64)
    return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


SEQUENCES = [[2, 17, 33, 8, 3], [2, 5, 3], [2, 40, 41, 42, 43, 44, 45, 46, 3]]


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_bert_graph_matches_the_encoder_computed_in_numpy(tmp_path: Path, pooling: str) -> None:
    weights = _tiny_model(tmp_path)
    out = _run(build_encoder_graph(tmp_path, pooling), SEQUENCES)
    for row, ids in zip(out, SEQUENCES):
        np.testing.assert_allclose(row, _reference(weights, ids, 0, pooling), atol=2e-5)


def test_roberta_positions_start_after_the_padding_id(tmp_path: Path) -> None:
    weights = _tiny_model(tmp_path, "roberta", prefix="roberta.")
    out = _run(build_encoder_graph(tmp_path, "mean"), SEQUENCES)
    for row, ids in zip(out, SEQUENCES):
        np.testing.assert_allclose(row, _reference(weights, ids, 2, "mean"), atol=2e-5)


def test_padding_in_a_batch_does_not_change_a_texts_vector(tmp_path: Path) -> None:
    _tiny_model(tmp_path)
    graph = build_encoder_graph(tmp_path, "mean")
    together = _run(graph, SEQUENCES)
    alone = np.stack([_run(graph, [s])[0] for s in SEQUENCES])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_the_optimised_float32_build_computes_the_same_vectors(tmp_path: Path) -> None:
    weights = _tiny_model(tmp_path / "model")
    built = onnx_model_for(tmp_path / "model", "mean", "none", tmp_path / "cache")
    for row, ids in zip(_run(built, SEQUENCES), SEQUENCES):
        np.testing.assert_allclose(row, _reference(weights, ids, 0, "mean"), atol=2e-5)


def test_a_build_is_cached_and_rebuilt_when_the_weights_change(tmp_path: Path) -> None:
    folder, cache = tmp_path / "model", tmp_path / "cache"
    _tiny_model(folder)
    builds: list[int] = []
    first = onnx_model_for(folder, "mean", "int8", cache, lambda: builds.append(1))
    assert onnx_model_for(folder, "mean", "int8", cache, lambda: builds.append(1)) == first
    assert builds == [1]
    config = json.loads((folder / "config.json").read_text())
    save_file({"embeddings.word_embeddings.weight": np.zeros((3, 3), np.float32)}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="no tensor 'embeddings.position_embeddings.weight'"):
        onnx_model_for(folder, "mean", "int8", cache, lambda: builds.append(1))
    assert builds == [1, 1]  # the weights changed, so the cached build was not used
    assert not list((cache / "onnx").glob("*/.build-*")), "a failed build leaves no partial files"


def test_an_unsupported_architecture_says_which_provider_runs_it(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "jina_bert", "hidden_size": 8}))
    with pytest.raises(ModelFormatError, match="model_type 'jina_bert'.*embeddings.provider: sentence-transformers"):
        build_encoder_graph(tmp_path, "mean")


def test_an_unknown_pooling_is_refused(tmp_path: Path) -> None:
    _tiny_model(tmp_path)
    with pytest.raises(ModelFormatError, match="pooling 'max' is not supported"):
        build_encoder_graph(tmp_path, "max")
