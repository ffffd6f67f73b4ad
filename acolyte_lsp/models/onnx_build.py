"""The ONNX file a model runs as: built once from its folder, optimised, quantised, cached.

Building takes seconds (the graph, then onnxruntime's transformer optimiser,
which fuses each attention block into one operator, then dynamic int8
quantisation of the weight matrices, per output channel: per-tensor scales cost
MiniLM far more accuracy, see BENCHMARKS.md). The result is kept under a key of
everything it depends on, so later starts only load it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import struct
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from .onnx_graph import EncoderConfig, ModelFormatError, build_encoder_graph

BUILD_VERSION = 1  # bump when the built graphs change: cached ones are then rebuilt
QUANTIZATIONS = ("int8", "none")
log = logging.getLogger(__name__)
# onnxruntime's optimiser leaves a temporary folder to the garbage collector, which removes it
# with a ResourceWarning on the user's terminal; the folder is removed all the same.
warnings.filterwarnings("ignore", message=r"Implicitly cleaning up <TemporaryDirectory", category=ResourceWarning)


def _weights_fingerprint(path: Path) -> str:
    """Size and safetensors header (names, shapes, offsets) of the weights: cheap, changes with them."""
    with path.open("rb") as f:
        head = f.read(8)
        (length,) = struct.unpack("<Q", head) if len(head) == 8 else (0,)
        header = f.read(min(length, 16 << 20))
    return hashlib.sha256(head + header + str(path.stat().st_size).encode()).hexdigest()


def build_key(folder: Path, pooling: str, quantize: str) -> str:
    config = (folder / "config.json").read_bytes()
    parts = [str(BUILD_VERSION), pooling, quantize, hashlib.sha256(config).hexdigest(),
             _weights_fingerprint(folder / "model.safetensors")]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def onnx_model_for(
    folder: Path,
    pooling: str,
    quantize: str,
    cache_dir: Path,
    on_build: Callable[[], None] | None = None,
) -> Path:
    """The cached ONNX file for the model in `folder`, built first when missing (`on_build` is told)."""
    if quantize not in QUANTIZATIONS:
        raise ModelFormatError(f"embeddings.quantize {quantize!r} is not one of {', '.join(QUANTIZATIONS)}")
    target = cache_dir / "onnx" / build_key(folder, pooling, quantize) / "model.onnx"
    if target.is_file():
        return target
    if on_build is not None:
        on_build()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        plain = staging / "plain.onnx"
        plain.write_bytes(build_encoder_graph(folder, pooling))
        optimised = _optimise(plain, EncoderConfig.from_folder(folder), staging / "optimised.onnx")
        final = optimised
        if quantize == "int8":
            final = staging / "int8.onnx"
            _quantise(optimised, final)
        os.replace(final, target)  # atomic: a half-written model is never found
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _optimise(source: Path, config: EncoderConfig, out: Path) -> Path:
    """Fuse attention, GELU and skip-layer-norm; the plain graph when the optimiser cannot."""
    try:
        from onnxruntime.transformers import optimizer
    except ImportError:
        return source
    quiet = logging.getLogger("onnxruntime.transformers")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it warns that the graph was not made by PyTorch: true, and harmless
    try:
        model = optimizer.optimize_model(
            str(source), model_type="bert", num_heads=config.num_heads, hidden_size=config.hidden_size
        )
        model.save_model_to_file(str(out))
    except Exception as err:  # noqa: BLE001 - an optimiser failure costs speed, never the model
        log.info("onnxruntime's optimiser could not fuse the graph (%s); running it unfused", err)
        return source
    finally:
        quiet.setLevel(level)
    return out


class _DropPreprocessingAdvice(logging.Filter):
    """onnxruntime's quantiser advises, on the root logger, a step that is for static quantisation."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def _quantise(source: Path, out: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    advice = _DropPreprocessingAdvice()
    logging.getLogger().addFilter(advice)
    try:
        quantize_dynamic(
            str(source),
            str(out),
            weight_type=QuantType.QInt8,
            per_channel=True,
            # Only weight matrices: quantising attention's activation × activation products costs accuracy.
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
        )
    finally:
        logging.getLogger().removeFilter(advice)
