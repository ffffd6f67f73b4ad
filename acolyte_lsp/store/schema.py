"""The Weaviate class that holds code chunks, and making sure it exists."""

from __future__ import annotations

from typing import Any

import weaviate

from .errors import SchemaMismatchError

# `field` tokenization makes Equal filters on paths, ids and hashes exact matches.
PROPERTIES: tuple[dict[str, Any], ...] = (
    {"name": "content", "dataType": ["text"], "tokenization": "word"},
    {"name": "file_path", "dataType": ["text"], "tokenization": "field"},
    {"name": "workspace", "dataType": ["text"], "tokenization": "field"},
    {"name": "language", "dataType": ["text"], "tokenization": "field"},
    {"name": "chunk_type", "dataType": ["text"], "tokenization": "field"},
    {"name": "chunk_name", "dataType": ["text"], "tokenization": "word"},
    {"name": "start_line", "dataType": ["int"]},
    {"name": "end_line", "dataType": ["int"]},
    {"name": "file_hash", "dataType": ["text"], "tokenization": "field"},
    {"name": "indexed_at", "dataType": ["date"]},
    # A file's first chunk (chunk_index 0) carries how many chunks the file has: listing the
    # files a workspace holds then costs one object per file, not one per chunk.
    {"name": "chunk_index", "dataType": ["int"]},
    {"name": "file_chunks", "dataType": ["int"]},
    # The embedder and the text behind the chunk's vector (`embedding.vector_key`): a text
    # that did not change, or moved, takes its vector from here instead of the embedder.
    {"name": "vector_key", "dataType": ["text"], "tokenization": "field"},
)
# Added after the first release: a class made before them gets them added (existing
# chunks simply lack them: listings fall back to reading every chunk, and their
# vectors are not reused until their file is next sent).
ADDED_LATER = frozenset({"chunk_index", "file_chunks", "vector_key"})


def class_definition(class_name: str, vectorizer: str = "none", replication_factor: int | None = None) -> dict[str, Any]:
    """The class body for `POST /v1/schema`: cosine HNSW; no vectorizer unless Weaviate embeds."""
    body: dict[str, Any] = {
        "class": class_name,
        "description": "Code chunks indexed by acolyte-lsp",
        "vectorizer": vectorizer,
        "vectorIndexType": "hnsw",
        "vectorIndexConfig": {"distance": "cosine"},
        # No stopwords: Weaviate drops stopwords from filter values too, and a value made only of them
        # (a file named `a` or `in`, a language `if`) is then refused ("only stopwords provided");
        # in code `if`, `for`, `not` are words worth finding anyway.
        "invertedIndexConfig": {"stopwords": {"preset": "none"}},
        "properties": [dict(p) for p in PROPERTIES],
    }
    if replication_factor is not None:
        body["replicationConfig"] = {"factor": replication_factor}
    return body


def ensure_schema(
    client: weaviate.Client, class_name: str, vectorizer: str = "none", replication_factor: int | None = None
) -> bool:
    """Create the class if missing (with `vectorizer`: "none" when we send vectors); True when created.

    `replication_factor` applies when the class is created; an existing class keeps its own.

    An existing class must have every property we write, with the same data type.
    """
    existing = _existing_class(client, class_name)
    if existing is None:
        try:
            client.schema.create_class(class_definition(class_name, vectorizer, replication_factor))
            return True
        except weaviate.exceptions.UnexpectedStatusCodeException as err:
            # Another server created it between our read and our create: check theirs like any other.
            if err.status_code != 422 or "already exists" not in str(err):
                raise
        existing = _existing_class(client, class_name)
        if existing is None:
            raise SchemaMismatchError(f"Weaviate says class '{class_name}' already exists but does not list it")
    _check_properties(client, class_name, existing)
    return False


def _existing_class(client: weaviate.Client, class_name: str) -> dict[str, Any] | None:
    schema = client.schema.get()
    return next(
        (c for c in schema.get("classes", []) if c.get("class", "").lower() == class_name.lower()),
        None,
    )


def _check_properties(client: weaviate.Client, class_name: str, existing: dict[str, Any]) -> None:
    """Every property we write must be there with our data type (those added later are added)."""
    have = {p["name"]: p.get("dataType") for p in existing.get("properties", [])}
    for prop in PROPERTIES:
        if prop["name"] not in have and prop["name"] in ADDED_LATER:
            _add_property(client, existing["class"], prop)
            have[prop["name"]] = prop["dataType"]
        if prop["name"] not in have:
            raise SchemaMismatchError(
                f"Weaviate class '{class_name}' exists but has no property '{prop['name']}'. "
                f"Use another `weaviate.class_name` in .acolyte, or delete the class so acolyte-lsp can recreate it."
            )
        if have[prop["name"]] != prop["dataType"]:
            raise SchemaMismatchError(
                f"Weaviate class '{class_name}' has property '{prop['name']}' of type {have[prop['name']]}, "
                f"but acolyte-lsp writes {prop['dataType']}. Use another `weaviate.class_name`, or delete the class."
            )


def _add_property(client: weaviate.Client, class_name: str, prop: dict[str, Any]) -> None:
    """Add a property to an existing class; another server adding it first is as good."""
    try:
        client.schema.property.create(class_name, dict(prop))
    except weaviate.exceptions.UnexpectedStatusCodeException as err:
        if err.status_code != 422 or "already in use" not in str(err):
            raise
