"""JSON for Weaviate's REST API, fast: orjson, with vectors written at float32 precision.

A batch of chunks is mostly vectors: 768 numbers an object. The standard
library encodes a double in about 0.45 µs and writes up to 17 digits; orjson
writes numbers about 20 times faster, and a `Float32Vector`'s array in
shortest float32 form (what Weaviate echoes back), which makes bodies about
45% smaller. Weaviate's reply to a batch echoes every object, vector
included: `decode_batch_reply` leaves those vectors (the ones just sent)
undecoded, which is most of the reply. Measured in BENCHMARKS.md.
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


# What an echoed vector is replaced with: a string, so that code which tried to
# send it again (the v3 client's `weaviate_error_retries`, which we do not use)
# would fail loudly instead of storing an object without its vector.
VECTOR_NOT_DECODED = "(vector echo not decoded)"
_VECTOR_KEY = b'"vector":['
_NUMBER_TEXT = b"0123456789+-.eE, \t\r\n"
_VECTOR_STANDIN = b'"vector":"' + VECTOR_NOT_DECODED.encode() + b'"'


def decode_batch_reply(content: bytes) -> Any:
    """A `POST /v1/batch/objects` reply, each echoed number array under a `"vector"` key
    replaced by `VECTOR_NOT_DECODED`; anything else there means the whole reply is decoded."""
    parts: list[bytes] = []
    start = 0
    while (key := content.find(_VECTOR_KEY, start)) >= 0:
        # In JSON a `"` inside a string is escaped, so this text is a key, never string content.
        opening = key + len(_VECTOR_KEY)
        closing = content.find(b"]", opening)
        if closing <= opening or content[opening:closing].translate(None, _NUMBER_TEXT):
            return decode(content)  # not a flat array of numbers: take no shortcut
        parts += (content[start:key], _VECTOR_STANDIN)
        start = closing + 1
    if not parts:
        return decode(content)
    parts.append(content[start:])
    return decode(b"".join(parts))


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
