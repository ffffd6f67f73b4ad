"""Settings: one typed, fully defaulted tree fed by `.acolyte`, the environment and the editor.

`tree` declares every setting (its default, description and how a change
applies), `yaml_reader` reads `.acolyte` within bounds, `values` types and
checks values from any source, `sources` layers the sources and decides trust,
`schema` describes the tree (JSON Schema, README table, redaction) and
`changes` classifies a change. This module is the package's public surface.
"""

from .changes import classify_settings_change
from .fields import SettingsChange
from .schema import json_schema, redacted, settings_table
from .sources import LoadedSettings, WithheldSettings, load_settings, settings_from_env, trusted_keys
from .tree import (
    CONFIG_FILE_NAME,
    DEFAULT_WEAVIATE_URL,
    EmbeddingSettings,
    IndexingSettings,
    SearchSettings,
    Settings,
    WeaviateSettings,
)
from .values import ConfigProblem
from .yaml_reader import parse_acolyte_yaml

__all__ = [
    "CONFIG_FILE_NAME",
    "DEFAULT_WEAVIATE_URL",
    "ConfigProblem",
    "EmbeddingSettings",
    "IndexingSettings",
    "LoadedSettings",
    "SearchSettings",
    "Settings",
    "SettingsChange",
    "WeaviateSettings",
    "WithheldSettings",
    "classify_settings_change",
    "json_schema",
    "load_settings",
    "parse_acolyte_yaml",
    "redacted",
    "settings_from_env",
    "settings_table",
    "trusted_keys",
]
