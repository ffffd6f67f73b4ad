"""A hostile `.acolyte` (any cloned repository may carry one) is a settings problem, never a hang."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from acolyte_lsp.settings import (
    ConfigProblem,
    Settings,
    WeaviateSettings,
    load_settings,
    parse_acolyte_yaml,
)
from acolyte_lsp.settings.yaml_reader import MAX_SETTINGS_BYTES
from tests.bounds import CASE_SECONDS, within_memory

BILLION_LAUGHS = "".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
        *(f"{n}: &{n} [{','.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")),
        "weaviate: {url: *i}\n",
    ]
)
FUZZ = settings(
    max_examples=1000,
    deadline=timedelta(seconds=CASE_SECONDS),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # CI runs the same cases every time; the soak command varies them
)


def test_billion_laughs_is_a_problem_and_the_defaults_are_used() -> None:
    result = within_memory(lambda: parse_acolyte_yaml(BILLION_LAUGHS))
    settings, [problem] = result
    assert settings == Settings()
    assert "aliases" in problem.message and "defaults" in problem.message


def test_billion_laughs_does_not_hang_the_settings_command(tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text(BILLION_LAUGHS)
    done = subprocess.run(
        [sys.executable, "-m", "acolyte_lsp", "settings", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert "aliases" in done.stderr


def test_a_few_anchors_and_aliases_still_work() -> None:
    settings, problems = parse_acolyte_yaml(
        "common: &skip ['*.lock', 'dist/']\nindexing:\n  exclude: *skip\n".replace("common", "x-common")
    )
    assert settings.indexing.exclude == ("*.lock", "dist/")
    assert [p.key for p in problems] == ["x-common"]  # an unknown section, reported, nothing more


@pytest.mark.parametrize("depth", [40, 5000])
def test_deep_nesting_is_a_problem(depth: int) -> None:
    settings, [problem] = parse_acolyte_yaml("weaviate: " + "[" * depth + "]" * depth + "\n")
    assert settings == Settings()
    assert "nested" in problem.message or "invalid YAML" in problem.message


def test_a_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text("weaviate:\n  url: '" + "x" * (MAX_SETTINGS_BYTES + 10) + "'\n")
    loaded = load_settings(tmp_path, env={})
    assert loaded.settings == Settings()
    [problem] = loaded.problems
    assert "too large" in problem.message


def test_a_huge_scalar_is_a_problem_not_a_setting() -> None:
    settings, [problem] = parse_acolyte_yaml("weaviate:\n  url: '" + "x" * MAX_SETTINGS_BYTES + "'\n")
    assert settings == Settings() and "too large" in problem.message


def test_binary_bytes_are_a_problem(tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_bytes(b"\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(range(256)))
    loaded = load_settings(tmp_path, env={})
    assert loaded.settings == Settings()
    [problem] = loaded.problems
    assert "not UTF-8" in problem.message


def test_control_characters_are_a_yaml_problem() -> None:
    settings, [problem] = parse_acolyte_yaml("weaviate:\n  url: \x00\x07\n")
    assert settings == Settings() and "invalid YAML" in problem.message


@pytest.mark.parametrize(
    "text, key",
    [
        ("- a\n- b\n", ""),  # a list at the top
        ("just a string\n", ""),
        ("weaviate: [1, 2]\n", "weaviate"),
        ("weaviate:\n  num_workers: {a: 1}\n", "weaviate.num_workers"),
        ("indexing:\n  exclude: [1, 2]\n", "indexing.exclude"),
        ("weaviate:\n  url: 12\n", "weaviate.url"),
        ("nonsense:\n  x: 1\n", "nonsense"),
        ("weaviate:\n  no_such_key: 1\n", "weaviate.no_such_key"),
        ("? [a, b]\n: 1\n", ""),  # a complex key
    ],
)
def test_wrong_shapes_name_the_key_and_keep_defaults(text: str, key: str) -> None:
    settings, problems = parse_acolyte_yaml(text)
    assert [p.key for p in problems] == [key]
    assert settings == Settings()


def test_a_link_out_of_the_workspace_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("weaviate:\n  url: http://elsewhere:1\n")
    root = tmp_path / "root"
    root.mkdir()
    (root / ".acolyte").symlink_to(outside)
    loaded = load_settings(root, env={})
    assert loaded.settings.weaviate.url == WeaviateSettings().url
    assert "outside the workspace" in loaded.problems[0].message


def test_initialization_options_that_are_not_a_mapping_are_a_problem() -> None:
    loaded = load_settings(None, ["not", "a", "mapping"], env={})
    assert loaded.settings == Settings()
    assert loaded.problems[0].source == "initializationOptions"


def test_the_api_key_is_never_in_a_repr() -> None:
    settings = WeaviateSettings(api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(settings)
    assert "sk-very-secret" not in repr(Settings(weaviate=settings))


# -- fuzzing ----------------------------------------------------------------------

_NAMES = ["search", "weaviate", "indexing", "embeddings", "url", "api_key", "num_workers", "exclude",
          "weaviate_batch_size", "chunk_lines", "provider", "max_file_size_kb", "consistency_level", "x"]
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=40)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.sampled_from(_NAMES) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


def _check_result(result: tuple[Settings, list[ConfigProblem]]) -> None:
    settings, problems = result
    assert isinstance(settings, Settings)
    assert all(isinstance(p, ConfigProblem) and str(p) for p in problems)


@FUZZ
@given(st.text(max_size=400))
def test_fuzz_any_text_parses_to_settings_or_problems(text: str) -> None:
    _check_result(within_memory(lambda: parse_acolyte_yaml(text)))


@FUZZ
@given(st.dictionaries(st.sampled_from(_NAMES), _values, max_size=6))
def test_fuzz_any_yaml_structure_parses_to_settings_or_problems(tree: dict) -> None:
    text = yaml.safe_dump(tree, allow_unicode=True)
    _check_result(within_memory(lambda: parse_acolyte_yaml(text)))


@settings(max_examples=300, deadline=timedelta(seconds=CASE_SECONDS), derandomize=True)
@given(width=st.integers(1, 40), depth=st.integers(1, 12))
def test_fuzz_alias_fan_out_is_bounded(width: int, depth: int) -> None:
    lines = ["a0: &a0 [x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, depth)]
    lines.append(f"indexing: {{exclude: *a{depth - 1}}}")
    _check_result(within_memory(lambda: parse_acolyte_yaml("\n".join(lines) + "\n")))


@settings(max_examples=300, deadline=timedelta(seconds=CASE_SECONDS), derandomize=True)
@given(st.binary(max_size=300))
def test_fuzz_any_bytes_in_the_file_give_settings_or_problems(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    root = tmp_path_factory.mktemp("bytes")
    (root / ".acolyte").write_bytes(data)
    loaded = within_memory(lambda: load_settings(root, env={}))
    assert isinstance(loaded.settings, Settings)
