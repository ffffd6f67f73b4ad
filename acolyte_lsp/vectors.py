"""Vectors as Weaviate keeps them: float32.

An embedding model computes float32; Python widens each number to a double,
which the standard JSON encoder writes with up to 17 digits (about 19
characters). Weaviate stores float32 again, so those extra digits are cost
without information. A `Float32Vector` keeps the float32 array beside the
list, and the store's JSON encoder writes that array with the fewest digits
that read back as the same float32 (about 10 characters): what Weaviate itself
writes when it echoes a vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class VectorError(ValueError):
    """A vector Weaviate cannot store; `index` is its position in the input."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index = index


class Float32Vector(list[float]):
    """A vector as a plain list of floats (so any code reading a list still works), with its
    float32 rounding in `array`, which is what the wire encoder writes and Weaviate stores."""

    __slots__ = ("array",)

    def __init__(self, values: Sequence[float], array: np.ndarray) -> None:
        super().__init__(values)
        self.array = array


def to_float32(vectors: Sequence[Sequence[float]]) -> list[Float32Vector]:
    """The vectors rounded to float32; `VectorError` for the first one float32 cannot hold.

    NaN and infinity have no JSON form (and Weaviate would store a zero for a
    `null`), and a finite double beyond float32's range would become infinity,
    so both are refused here, where the file they came from is still known.
    """
    out: list[Float32Vector] = []
    with np.errstate(over="ignore", invalid="ignore"):  # checked below, with the vector's position
        for index, vector in enumerate(vectors):
            if isinstance(vector, Float32Vector):
                out.append(vector)
                continue
            try:
                array = np.asarray(vector, dtype=np.float32)
            except (TypeError, ValueError) as err:
                raise VectorError(index, f"the embedding is not a list of numbers ({err})") from err
            if array.ndim != 1:
                raise VectorError(index, f"the embedding has shape {array.shape}, not a flat list of numbers")
            if not np.isfinite(array).all():
                raise VectorError(
                    index,
                    "the embedding has NaN or infinite values (or values beyond float32's range); Weaviate cannot store it",
                )
            out.append(Float32Vector(vector if isinstance(vector, list) else array.tolist(), array))
    return out
