"""Secrets in a workspace never reach Weaviate; the API key never reaches a log, message or reply."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import weaviate

from acolyte_lsp.settings import IndexingSettings, Settings
from acolyte_lsp.identity import workspace_id
from acolyte_lsp.workspace.secrets import find_secrets, redact_secrets
from tests.convergence import assert_converged

# Shapes of real credentials, made up (none is valid anywhere).
AWS_KEY = "AKIA" + "Z7QKX4MB2JD9WQ5T"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEYQ"[:10]
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
NPM = "npm_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx8Zx\nQ2hpbGwgb3V0\n-----END RSA PRIVATE KEY-----\n"
SECRETS = [AWS_KEY, AWS_SECRET, GITHUB, SLACK, NPM, "MIIEowIBAAKCAQEAx8Zx"]


def _plant(root: Path) -> None:
    files = {
        ".env": f"AWS_ACCESS_KEY_ID={AWS_KEY}\n",
        ".env.local": f"GITHUB_TOKEN={GITHUB}\n",
        "id_rsa": PRIVATE_KEY,
        "deploy/server.pem": PRIVATE_KEY,
        ".npmrc": f"//registry.npmjs.org/:_authToken={NPM}\n",
        "config/settings.py": f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\naws_secret_access_key = "{AWS_SECRET}"\n\ndef region():\n    return "eu"\n',
        "tools/notify.js": f'const token = "{SLACK}";\nexport function notify() {{ return token; }}\n',
        "ci/release.sh": f"export GH={GITHUB}\n",
        "docs/keys.md": "# Keys\n\n" + PRIVATE_KEY,
        "app/clean.py": "def add(a, b):\n    return a + b\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _index(root: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acolyte_lsp", "index", str(root), "--url", url, "--trust"],
        capture_output=True, text=True, timeout=120,
    )


def _everything_stored(client: weaviate.Client, class_name: str) -> str:
    reply = client.query.get(class_name, ["content", "file_path", "chunk_name"]).with_limit(10000).do()
    return repr(reply)


@pytest.mark.parametrize(
    "line",
    [f"x = '{AWS_KEY}'", f"aws_secret_access_key = '{AWS_SECRET}'", f"t = '{GITHUB}'", f"t = '{SLACK}'",
     f"//registry.npmjs.org/:_authToken={NPM}", PRIVATE_KEY.splitlines()[0], f"t = '{NPM}'",
     "Aws_Secret_Access_Key: " + AWS_SECRET, "url = 'https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnop1234'",
     "key = 'sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2'", "key = 'AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q'",
     "token = 'pypi-AgE" + "IcHlwaS5vcmcCJGE4ZjY2YjYwLTQ4YjYtNDc1Ni1hZWI4LWE1YzJhYzQ5ZDNmYQ'",
     "-----BEGIN OPENSSH PRIVATE KEY-----"],
)
def test_each_key_shape_is_found(line: str) -> None:
    assert find_secrets(line + "\n")


def test_ordinary_code_has_no_secrets() -> None:
    code = Path(__file__).read_text().replace(AWS_KEY, "").split("# Shapes")[0]
    assert find_secrets(code + "\nsha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'\n") == []


def test_redaction_keeps_every_line() -> None:
    text = "a\n" + PRIVATE_KEY + f"b = '{GITHUB}'\nc\n"
    masked = redact_secrets(text)
    assert masked.count("\n") == text.count("\n")
    assert GITHUB not in masked and "MIIEow" not in masked
    assert masked.splitlines()[-1] == "c"


def test_no_secret_reaches_weaviate_by_default(weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path) -> None:
    _plant(tmp_path)
    (tmp_path / ".acolyte").write_text(f"weaviate:\n  class_name: {class_name}\n")
    done = _index(tmp_path, weaviate_url)
    assert done.returncode == 0, done.stderr
    stored = _everything_stored(client, class_name)
    for secret in SECRETS:
        assert secret not in stored
    assert "app/clean.py" in stored
    assert "config/settings.py: holds what looks like a AWS access key id (line 1)" in done.stderr
    settings = Settings(indexing=IndexingSettings())
    assert_converged(client, class_name, tmp_path, settings)


def test_redact_secrets_indexes_those_files_with_the_secrets_masked(
    weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    _plant(tmp_path)
    (tmp_path / ".acolyte").write_text(f"weaviate:\n  class_name: {class_name}\nindexing:\n  redact_secrets: true\n")
    assert _index(tmp_path, weaviate_url).returncode == 0
    stored = _everything_stored(client, class_name)
    for secret in SECRETS:
        assert secret not in stored
    for masked in ("config/settings.py", "tools/notify.js", "docs/keys.md", "def region"):
        assert masked in stored
    assert "[redacted AWS access key id]" in stored
    for secret_file in (".env", "id_rsa", "server.pem", ".npmrc"):
        assert f"'{secret_file}'" not in stored and f"/{secret_file}'" not in stored
    assert_converged(client, class_name, tmp_path, Settings(indexing=IndexingSettings(redact_secrets=True)))


def test_a_secret_added_to_an_indexed_file_removes_it_from_weaviate(
    weaviate_url: str, class_name: str, client: weaviate.Client, tmp_path: Path
) -> None:
    (tmp_path / ".acolyte").write_text(f"weaviate:\n  class_name: {class_name}\n")
    (tmp_path / "a.py").write_text("def f():\n    return 1\n")
    _index(tmp_path, weaviate_url)
    (tmp_path / "a.py").write_text(f"def f():\n    return '{GITHUB}'\n")
    _index(tmp_path, weaviate_url)
    stored = _everything_stored(client, class_name)
    assert GITHUB not in stored and "a.py" not in stored
    assert workspace_id(tmp_path)
