"""JSON for Weaviate's REST API, fast: orjson, with vectors written at float32 precision.

A batch of chunks is mostly vectors: 768 numbers an object. The standard
library encodes a double in about 0.45 µs and writes up to 17 digits; orjson
writes numbers about 20 times faster, and a `Float32Vector`'s array in
shortest float32 form (what Weaviate echoes back), which makes bodies about
45% smaller. Replies (Weaviate echoes every object of a batch, vector
included) decode about 1.7 times faster. Measured in BENCHMARKS.md.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..vectors import Float32Vector

# Subclasses go to `_plain` so a `Float32Vector` is written from its array, not its list.
_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_SUBCLASS


def encode(payload: Any) -> bytes:
    """`payload` as JSON bytes; `TypeError` for what JSON cannot hold, as `json.dumps` would."""
    try:
        return orjson.dumps(payload, default=_plain, option=_OPTIONS)
    except orjson.JSONEncodeError as err:
        raise TypeError(str(err)) from err


def decode(content: bytes | str) -> Any:
    """The value of a JSON document (`orjson.JSONDecodeError`, a `ValueError`, when it is not one)."""
    return orjson.loads(content)


def _plain(value: Any) -> Any:
    """What orjson should write for a subclass of a JSON type (it writes the exact types itself)."""
    if isinstance(value, Float32Vector):
        return value.array
    if isinstance(value, str):
        return str.__str__(value)  # the text itself, also for a str-based Enum
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
