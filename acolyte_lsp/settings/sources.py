"""Where settings come from: defaults < `.acolyte` < environment < the editor or command line, and trust.

A bad value never stops the server: it is reported as a `ConfigProblem` naming
the key (and the line, for YAML) and that key keeps its default. A workspace's
`.acolyte` may set what decides where code and credentials go, or what runs,
only once the user trusts exactly what it asks.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..secrecy import register_secret
from .tree import CONFIG_FILE_NAME, Settings, all_fields, field_of, get, replaced
from .values import ConfigProblem, apply_tree, describe
from .yaml_reader import MAX_SETTINGS_BYTES, parse_acolyte_yaml


@dataclass(frozen=True)
class LoadedSettings:
    """Settings plus every problem met while reading them, and what `.acolyte` asked for without trust."""

    settings: Settings
    problems: tuple[ConfigProblem, ...] = ()
    withheld: "WithheldSettings | None" = None


def settings_from_env(base: Settings, env: Mapping[str, str]) -> Settings:
    """Apply `WEAVIATE_URL` and `WEAVIATE_API_KEY` when set and non-empty."""
    changes = _env_changes(env)
    if not changes:
        return base
    return dataclasses.replace(base, weaviate=dataclasses.replace(base.weaviate, **changes))


def _env_changes(env: Mapping[str, str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
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
    return {dotted: f.metadata["trust"] for dotted, f in all_fields() if "trust" in f.metadata}


def _harmless(dotted: str, value: Any) -> bool:
    return value in field_of(dotted).metadata.get("harmless", ())


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
            settings = replaced(settings, key, get(Settings(), key))
    else:
        withheld = None
    settings = settings_from_env(settings, env)
    if isinstance(initialization_options, Mapping):
        settings, found = apply_tree(settings, initialization_options, options_source)
        problems.extend(found)
    elif initialization_options:
        problems.append(
            ConfigProblem(options_source, "", f"expected a mapping of sections, got {describe(initialization_options)}")
        )
    register_secret(settings.weaviate.api_key)
    return LoadedSettings(settings, tuple(problems), withheld)


def _withheld(root: Path | None, from_file: Settings, user_keys: set[str]) -> WithheldSettings | None:
    """What `.acolyte` asks for that needs trust: set to something else than the default, not overridden by the user."""
    if root is None:
        return None
    defaults = Settings()
    values = tuple(
        (key, get(from_file, key))
        for key in trusted_keys()
        if key not in user_keys and get(from_file, key) != get(defaults, key) and not _harmless(key, get(from_file, key))
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
