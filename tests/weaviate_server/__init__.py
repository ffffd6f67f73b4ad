"""A Weaviate REST protocol server for tests (see server.py)."""

from .server import Faults, RequestRecord, WeaviateTestServer
from .state import WeaviateState

__all__ = ["Faults", "RequestRecord", "WeaviateState", "WeaviateTestServer"]
