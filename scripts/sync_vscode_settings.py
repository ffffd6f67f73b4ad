"""Regenerate vscode-client's settings and .acolyte schema from the settings tree.

Run after changing acolyte_lsp/config.py; tests/clients/test_vscode_manifest.py fails while they differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.config import json_schema  # noqa: E402

CLIENT = ROOT / "vscode-client"
SECRET_KEYS = {"weaviate.api_key"}  # secrets belong in the environment, not in settings.json


def editor_settings() -> dict[str, dict[str, object]]:
    """`acolyte.<section>.<key>` settings mirroring .acolyte; null means "use .acolyte / the default"."""
    out: dict[str, dict[str, object]] = {}
    for section, body in json_schema()["properties"].items():
        for key, prop in body["properties"].items():
            if f"{section}.{key}" in SECRET_KEYS:
                continue
            types = [*(prop["type"] if isinstance(prop["type"], list) else [prop["type"]]), "null"]
            entry: dict[str, object] = {
                "type": sorted(set(types), key=types.index),
                "default": None,
                "markdownDescription": (prop.get("description", "") + f" Unset: `.acolyte`, else `{json.dumps(prop['default'])}`.").strip(),
            }
            for extra in ("minimum", "maximum", "items"):
                if extra in prop:
                    entry[extra] = prop[extra]
            if "enum" in prop:
                entry["enum"] = prop["enum"] if None in prop["enum"] else [*prop["enum"], None]
            out[f"acolyte.{section}.{key}"] = entry
    return out


def main() -> None:
    (CLIENT / "schemas" / "acolyte.schema.json").write_text(json.dumps(json_schema(), indent=2) + "\n")
    manifest_path = CLIENT / "package.json"
    manifest = json.loads(manifest_path.read_text())
    properties = manifest["contributes"]["configuration"]["properties"]
    client_only = {k: v for k, v in properties.items() if k.startswith("acolyte.server.")}
    manifest["contributes"]["configuration"]["properties"] = {**client_only, **editor_settings()}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
