"""Why a model cannot serve: raised here in `models/`, turned into `EmbedderError` once, by `embedding.py`."""

from __future__ import annotations


class ModelError(Exception):
    """A model that cannot be had, built or loaded here; the message says why and what to do."""


class ModelUnavailableError(ModelError):
    """The model's files cannot be had here; the message says what to install or set."""


class ModelFormatError(ModelError):
    """A model folder this builder cannot turn into a graph; the message says why."""


class ModelLoadError(ModelError):
    """A runtime that cannot load the model (or is not installed)."""
