"""Regenerate vscode-client's settings and .acolyte schema from the settings tree.

Run after changing acolyte_lsp/settings/tree.py; tests/clients/test_vscode_manifest.py fails while they differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.settings import json_schema, trusted_keys  # noqa: E402

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


def untrusted_workspaces() -> dict[str, object]:
    """VS Code's Workspace Trust: in Restricted Mode a workspace's own values of these settings are ignored.

    They are what a cloned repository's .vscode/settings.json could otherwise use to run a program
    (the server command, the interpreter) or send code and keys elsewhere (the same keys that need
    trust in .acolyte, which the server withholds when the extension says the workspace is untrusted).
    """
    restricted = ["acolyte.server.command", "acolyte.server.python"]
    restricted += [f"acolyte.{key}" for key in trusted_keys() if key not in SECRET_KEYS]
    return {
        "supported": "limited",
        "description": "In Restricted Mode, acolyte-lsp indexes with safe defaults: the workspace's settings "
        "that choose the Weaviate URL, the class, Weaviate Embedded, the workspace id or the model, and the "
        "server command, are ignored until you trust the workspace.",
        "restrictedConfigurations": restricted,
    }


def main() -> None:
    (CLIENT / "schemas" / "acolyte.schema.json").write_text(json.dumps(json_schema(), indent=2) + "\n")
    manifest_path = CLIENT / "package.json"
    manifest = json.loads(manifest_path.read_text())
    properties = manifest["contributes"]["configuration"]["properties"]
    client_only = {k: v for k, v in properties.items() if k.startswith("acolyte.server.")}
    manifest["contributes"]["configuration"]["properties"] = {**client_only, **editor_settings()}
    manifest["capabilities"] = {"untrustedWorkspaces": untrusted_workspaces()}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
