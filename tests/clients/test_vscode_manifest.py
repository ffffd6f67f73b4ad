"""The VS Code extension's manifest: settings mirror .acolyte, the schema is current, the .vsix lists everything."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from acolyte_lsp.settings import json_schema
from scripts.sync_vscode_settings import editor_settings, untrusted_workspaces

CLIENT = Path(__file__).resolve().parents[2] / "vscode-client"
COMMANDS = {
    "acolyte.client.reindexWorkspace": "ACOLYTE: Reindex Workspace",
    "acolyte.client.reindexFile": "ACOLYTE: Reindex Current File",
    "acolyte.client.showStatus": "ACOLYTE: Show Index Status",
    "acolyte.client.search": "ACOLYTE: Search Code",
    "acolyte.client.restart": "ACOLYTE: Restart Server",
}


def _manifest() -> dict[str, object]:
    return json.loads((CLIENT / "package.json").read_text())


def test_editor_settings_mirror_every_acolyte_key_but_secrets() -> None:
    properties = _manifest()["contributes"]["configuration"]["properties"]  # type: ignore[index]
    mirrored = {k: v for k, v in properties.items() if not k.startswith("acolyte.server.")}
    assert mirrored == editor_settings(), "run scripts/sync_vscode_settings.py"
    assert "acolyte.weaviate.api_key" not in properties


def test_restricted_mode_ignores_the_workspaces_server_command_and_every_setting_that_needs_trust() -> None:
    declared = _manifest()["capabilities"]["untrustedWorkspaces"]  # type: ignore[index]
    assert declared == untrusted_workspaces(), "run scripts/sync_vscode_settings.py"
    assert declared["supported"] == "limited"
    assert {"acolyte.server.command", "acolyte.server.python", "acolyte.weaviate.url", "acolyte.weaviate.embedded_binary_path",
            "acolyte.weaviate.embedded_version", "acolyte.indexing.workspace_id"} <= set(declared["restrictedConfigurations"])


def test_the_shipped_acolyte_schema_is_current() -> None:
    shipped = json.loads((CLIENT / "schemas" / "acolyte.schema.json").read_text())
    assert shipped == json_schema(), "run scripts/sync_vscode_settings.py"


def test_the_schema_accepts_a_real_settings_file_and_rejects_typos() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    good = {"search": {"weaviate_batch_size": 50}, "weaviate": {"url": "http://x:8080"}, "indexing": {"exclude": ["gen/"]}}
    jsonschema.validate(good, json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"weaviate": {"batch_sise": 3}}, json_schema())


def test_the_packaged_vsix_lists_the_commands_settings_and_schema() -> None:
    vsix = CLIENT / "acolyte-lsp.vsix"
    if not vsix.exists():
        pytest.skip("vscode-client/acolyte-lsp.vsix is built by ./run-tests.sh (npm run package)")
    with zipfile.ZipFile(vsix) as archive:
        manifest = json.loads(archive.read("extension/package.json"))
        names = set(archive.namelist())
    contributed = {c["command"]: c["title"] for c in manifest["contributes"]["commands"]}
    assert contributed == COMMANDS
    assert set(manifest["contributes"]["configuration"]["properties"]) == set(
        _manifest()["contributes"]["configuration"]["properties"]  # type: ignore[index]
    )
    assert manifest["contributes"]["yamlValidation"][0]["fileMatch"] == ".acolyte"
    assert {"extension/dist/extension.js", "extension/schemas/acolyte.schema.json"} <= names
