"""What acolyte-lsp prints and says cannot be hijacked by a file name, a heading or a reply, and stays short.

Control characters are shown escaped, one result stays one line, a URL's password
and the API key never appear, and no message repeats more than 200 characters of
what it was given.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from acolyte_lsp.display import MAX_ECHO, brief, printable
from acolyte_lsp.secrecy import mask_secrets, mask_url
from tests.e2e.conftest import eventually_status, initialize, lsp, options  # noqa: F401 - lsp: the fixture
from tests.weaviate_server import WeaviateTestServer

AWS_KEY = "AKIA" + "QWERTYUIOPASDFGH"  # split: no scanner should take this file for a leak
ESCAPE = "\x1b[2J\x1b]0;HEADPWN\x07"
HOSTILE_QUERIES = [
    "back\\slash",
    "alpha\r\nfunc",
    "nul\x00here",
    "line\u2028sep",
    "next\u0085line",
    '}]}) {file_path} RedTeamWS(limit: 1) { nosuchfield } } } #',
    "x" * 5_000,
]


def _cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "acolyte_lsp", *args], capture_output=True, text=True, timeout=120, cwd=cwd,
        env={k: v for k, v in (os.environ | (env or {})).items() if k != "WEAVIATE_URL"},
    )


def _hostile_workspace(root: Path) -> None:
    (root / ".acolyte").write_text("embeddings:\n  provider: hash\n")
    (root / "heading.md").write_text(f"# Title {ESCAPE} here\n\nsome invoice text about totals\n")
    (root / "new\nline.py").write_text("def invoice_total():\n    return 1\n")
    (root / f"evil{ESCAPE}.py").write_text(f"key = '{AWS_KEY}'\n")


def _assert_bounded(text: str, given: str) -> None:
    """`text` repeats no more than MAX_ECHO characters of `given` in a row."""
    for form in {given, printable(given)}:
        if len(form) > MAX_ECHO:
            assert form[: MAX_ECHO + 1] not in text


def test_printable_escapes_controls_separators_and_direction_overrides() -> None:
    assert printable(f"a{ESCAPE}b\nc\u202e\u2028") == "a\\x1b[2J\\x1b]0;HEADPWN\\x07b\\nc\\u202e\\u2028"
    assert printable("plain ünïcode 😀") == "plain ünïcode 😀"


def test_brief_cuts_and_says_how_long_the_text_was() -> None:
    shown = brief("y" * 5_000)
    assert shown.startswith("y" * MAX_ECHO) and shown.endswith("(5,000 characters)") and len(shown) < MAX_ECHO + 30


def test_url_credentials_are_masked_in_text_and_logs() -> None:
    assert mask_url("at http://admin:SECRET@host:8080/v1 and https://token@h") == "at http://***@host:8080/v1 and https://***@h"
    assert "SECRET" not in mask_secrets("GET http://admin:SECRET@host/v1/meta")


def test_index_warnings_and_search_results_show_control_characters_escaped(weaviate_url: str, tmp_path: Path) -> None:
    _hostile_workspace(tmp_path)
    indexed = _cli("index", str(tmp_path), "--url", weaviate_url)
    assert indexed.returncode == 0, indexed.stderr
    assert "\x1b" not in indexed.stderr and "evil\\x1b[2J\\x1b]0;HEADPWN\\x07.py" in indexed.stderr
    found = _cli("search", "invoice", "--path", str(tmp_path), "--url", weaviate_url)
    assert found.returncode == 0, found.stderr
    assert "\x1b" not in found.stdout and "\x07" not in found.stdout
    lines = found.stdout.splitlines()
    assert any("new\\nline.py:1-" in line for line in lines)  # one result, one line
    assert all(line[:5].replace(".", "").isdigit() for line in lines), lines


def test_settings_output_and_errors_mask_a_password_in_the_url(tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text("weaviate:\n  url: http://admin:SECRET@127.0.0.1:9\n  embedded: false\n")
    shown = _cli("settings", str(tmp_path), "--trust")
    assert "SECRET" not in shown.stdout and "http://***@127.0.0.1:9" in shown.stdout
    failed = _cli("index", str(tmp_path), "--trust")
    assert failed.returncode == 2
    assert "SECRET" not in failed.stderr and "http://***@127.0.0.1:9" in failed.stderr


def test_a_key_sent_to_a_weaviate_that_takes_none_is_named_as_the_cause(tmp_path: Path) -> None:
    with WeaviateTestServer() as anonymous:
        (tmp_path / "a.py").write_text("x = 1\n")
        done = _cli("index", str(tmp_path), "--url", anonymous.url, env={"WEAVIATE_API_KEY": "sk-not-wanted-here"})
    assert done.returncode == 2
    assert "Weaviate refused the API key acolyte-lsp sent" in done.stderr
    assert "unset WEAVIATE_API_KEY" in done.stderr and "sk-not-wanted-here" not in done.stderr


@pytest.mark.parametrize("limit", ["0", "-1", "100000"])
def test_a_search_limit_out_of_range_is_a_usage_error(tmp_path: Path, limit: str) -> None:
    done = _cli("search", "x", "--path", str(tmp_path), "--limit", limit, "--url", "http://127.0.0.1:9")
    assert done.returncode == 64
    assert "--limit must be from 1 to 100" in done.stderr and "Weaviate" not in done.stderr


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_search_is_a_usage_error(tmp_path: Path, query: str) -> None:
    done = _cli("search", query, "--path", str(tmp_path), "--url", "http://127.0.0.1:9")
    assert done.returncode == 64 and "query is empty" in done.stderr


def test_search_from_a_subfolder_searches_that_folder_of_the_indexed_root(weaviate_url: str, tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text("embeddings:\n  provider: hash\n")
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "invoice.py").write_text("def invoice_total():\n    return 1\n")
    (tmp_path / "shipping.py").write_text("def invoice_label():\n    return 2\n")
    assert _cli("index", str(tmp_path), "--url", weaviate_url).returncode == 0
    done = _cli("search", "invoice", "--url", weaviate_url, cwd=tmp_path / "billing")
    assert done.returncode == 0, done.stderr
    assert [line.split()[1].split(":")[0] for line in done.stdout.splitlines()] == ["invoice.py"]


def test_search_in_a_folder_never_indexed_says_so(weaviate_url: str, tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text("embeddings:\n  provider: hash\n")
    done = _cli("search", "anything", "--path", str(tmp_path), "--url", weaviate_url)
    assert done.returncode == 3
    assert "is not indexed" in done.stderr and "acolyte-lsp index" in done.stderr


def test_search_into_a_closed_pipe_ends_quietly(weaviate_url: str, tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text("embeddings:\n  provider: hash\n")
    for i in range(30):
        (tmp_path / f"m{i}.py").write_text(f"def invoice_{i}():\n    return {i}\n")
    assert _cli("index", str(tmp_path), "--url", weaviate_url).returncode == 0
    command = f"'{sys.executable}' -m acolyte_lsp search invoice --limit 30 --path '{tmp_path}' --url {weaviate_url} | head -1"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


CLI_QUERIES = [q for q in HOSTILE_QUERIES if "\x00" not in q]  # no program's argv can hold NUL


@pytest.mark.parametrize("query", CLI_QUERIES, ids=range(len(CLI_QUERIES)))
def test_a_hostile_search_on_the_command_line_answers_and_stays_short(weaviate_url: str, tmp_path: Path, query: str) -> None:
    (tmp_path / ".acolyte").write_text("embeddings:\n  provider: hash\n")
    (tmp_path / "a.py").write_text("def alpha():\n    return 1\n")
    assert _cli("index", str(tmp_path), "--url", weaviate_url).returncode == 0
    done = _cli("search", query, "--path", str(tmp_path), "--url", weaviate_url)
    assert done.returncode == 0, done.stderr
    _assert_bounded(done.stdout + done.stderr, query)


@pytest.mark.e2e
async def test_hostile_search_arguments_over_lsp_answer_or_fail_with_short_messages(
    lsp: LanguageClient, weaviate_url: str, class_name: str, tmp_path: Path
) -> None:
    (tmp_path / "a.py").write_text("def alpha():\n    return 1\n")
    await initialize(lsp, tmp_path, options(weaviate_url, class_name) | {"embeddings": {"provider": "hash"}})
    await eventually_status(lsp, lambda s: s["roots"][0]["last_run"] is not None)
    calls: list[dict[str, Any]] = [{"query": q} for q in HOSTILE_QUERIES]
    calls += [{"query": "alpha", "language": "x\\"}, {"query": "alpha", "path_prefix": "end\\"},
              {"query": "alpha", "path_prefix": "a\\b"}, {"query": "q" * 2_000_000}]
    for arguments in calls:
        try:
            reply = await lsp.workspace_execute_command_async(
                types.ExecuteCommandParams(command="acolyte.search", arguments=[arguments])
            )
            said = repr(reply)
        except Exception as err:  # noqa: BLE001 - the error's text is what is checked
            said = str(err)
            assert len(said) < 1_000, said[:300]
        for value in arguments.values():
            _assert_bounded(said, value)


def test_log_lines_are_bounded_and_escaped_whatever_they_carry() -> None:
    import logging

    from acolyte_lsp.secrecy import SecretFilter

    record = logging.LogRecord("pygls", logging.DEBUG, __file__, 1, "Sending data: %s", ("q" * 2_000_000 + ESCAPE,), None)
    SecretFilter().filter(record)
    line = record.getMessage()
    assert len(line) < MAX_ECHO + 40 and "\x1b" not in line and line.endswith("characters)")
