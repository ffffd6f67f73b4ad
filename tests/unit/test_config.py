"""Settings from `.acolyte`, initializationOptions and the environment."""

from pathlib import Path

from acolyte_lsp.settings import Settings, load_settings, parse_acolyte_yaml, redacted


def test_defaults_match_the_documented_values() -> None:
    settings = Settings()
    assert settings.search.weaviate_batch_size == 100
    assert (settings.weaviate.url, settings.weaviate.endpoint) == (None, "http://localhost:8080")
    assert (settings.weaviate.embedded, settings.weaviate.embedded_port) == ("auto", 8079)
    assert settings.weaviate.class_name == "CodeChunk"
    assert settings.weaviate.dynamic_batching is True
    assert settings.weaviate.timeout_retries == 3
    assert settings.weaviate.connection_error_retries == 3
    assert settings.indexing.max_file_size_kb == 1024
    assert settings.embeddings.provider == "onnx"
    assert settings.embeddings.model == "sentence-transformers/all-MiniLM-L6-v2"
    assert (settings.embeddings.quantize, settings.embeddings.download) == ("int8", True)


def test_yaml_overrides_only_the_keys_it_sets() -> None:
    settings, problems = parse_acolyte_yaml(
        "search:\n  weaviate_batch_size: 1\nweaviate:\n  url: http://db:8080\n  num_workers: 4\n"
        "indexing:\n  exclude: ['*.lock', 'generated/']\n"
    )
    assert problems == []
    assert settings.search.weaviate_batch_size == 1
    assert settings.weaviate.url == "http://db:8080"
    assert settings.weaviate.num_workers == 4
    assert settings.weaviate.class_name == "CodeChunk"
    assert settings.indexing.exclude == ("*.lock", "generated/")


def test_malformed_yaml_falls_back_to_defaults_and_names_the_line() -> None:
    settings, problems = parse_acolyte_yaml("search:\n  weaviate_batch_size: [1, 2\nweaviate: {}\n")
    assert settings == Settings()
    assert len(problems) == 1
    assert "invalid YAML" in problems[0].message
    assert problems[0].line == 3


def test_wrong_type_names_key_and_line_and_keeps_the_default() -> None:
    settings, problems = parse_acolyte_yaml("weaviate:\n  url: http://x:1\n  num_workers: two\n")
    assert settings.weaviate.num_workers == 2
    assert settings.weaviate.url == "http://x:1"
    [problem] = problems
    assert problem.key == "weaviate.num_workers"
    assert problem.line == 3
    assert "expected an integer, got string 'two'" in problem.message


def test_boolean_is_not_accepted_as_an_integer() -> None:
    _, problems = parse_acolyte_yaml("search:\n  weaviate_batch_size: true\n")
    assert problems[0].key == "search.weaviate_batch_size"
    assert "expected an integer" in problems[0].message


def test_unknown_key_is_reported_with_its_line() -> None:
    _, problems = parse_acolyte_yaml("weaviate:\n  url: http://x:1\n  batch_sise: 3\n")
    [problem] = problems
    assert problem.key == "weaviate.batch_sise"
    assert problem.line == 3
    assert problem.message.startswith("unknown key")


def test_unknown_section_is_reported() -> None:
    _, problems = parse_acolyte_yaml("serch:\n  weaviate_batch_size: 5\n")
    assert problems[0].key == "serch"
    assert problems[0].line == 1


def test_values_below_the_minimum_are_refused() -> None:
    settings, problems = parse_acolyte_yaml("search:\n  weaviate_batch_size: 0\n")
    assert settings.search.weaviate_batch_size == 100
    assert "at least 1" in problems[0].message


def test_unknown_embedding_provider_is_refused() -> None:
    _, problems = parse_acolyte_yaml("embeddings:\n  provider: openai\n")
    assert "must be one of onnx, hash, none" in problems[0].message


def test_empty_file_gives_defaults() -> None:
    assert parse_acolyte_yaml("") == (Settings(), [])


def test_top_level_must_be_a_mapping() -> None:
    _, problems = parse_acolyte_yaml("- a\n- b\n")
    assert "expected a mapping of sections" in problems[0].message


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text("weaviate:\n  url: http://file:8080\n")
    loaded = load_settings(tmp_path, env={"WEAVIATE_URL": "http://env:8080", "WEAVIATE_API_KEY": "s3cret"})
    assert loaded.settings.weaviate.url == "http://env:8080"
    assert loaded.settings.weaviate.api_key == "s3cret"


def test_initialization_options_override_file_and_environment(tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_text("search:\n  weaviate_batch_size: 7\n")
    loaded = load_settings(
        tmp_path,
        {"weaviate": {"url": "http://editor:8080"}, "search": {"weaviate_batch_size": 9}},
        env={"WEAVIATE_URL": "http://env:8080"},
    )
    assert loaded.settings.weaviate.url == "http://editor:8080"
    assert loaded.settings.search.weaviate_batch_size == 9


def test_initialization_options_problems_name_their_source() -> None:
    loaded = load_settings(None, {"weaviate": {"num_workers": "many"}}, env={})
    [problem] = loaded.problems
    assert problem.source == "initializationOptions"
    assert problem.key == "weaviate.num_workers"


def test_undecodable_settings_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / ".acolyte").write_bytes(b"\xff\xfe\x00bad")
    loaded = load_settings(tmp_path, env={})
    assert loaded.settings == Settings()
    assert "not UTF-8" in loaded.problems[0].message


def test_redacted_masks_the_api_key() -> None:
    loaded = load_settings(None, env={"WEAVIATE_API_KEY": "s3cret"})
    shown = redacted(loaded.settings)
    assert shown["weaviate"]["api_key"] == "***"
    assert "s3cret" not in repr(shown)


def test_embedded_takes_yaml_booleans_and_auto() -> None:
    for text, expected in (("true", "true"), ("false", "false"), ("auto", "auto"), ("'true'", "true")):
        settings, problems = parse_acolyte_yaml(f"weaviate:\n  embedded: {text}\n")
        assert problems == [] and settings.weaviate.embedded == expected


def test_embedded_refuses_other_words_and_ports_out_of_range() -> None:
    settings, problems = parse_acolyte_yaml("weaviate:\n  embedded: sometimes\n  embedded_port: 70000\n")
    assert [p.key for p in problems] == ["weaviate.embedded", "weaviate.embedded_port"]
    assert "must be one of auto, true, false" in problems[0].message
    assert "must be at most 65535" in problems[1].message
    assert (settings.weaviate.embedded, settings.weaviate.embedded_port) == ("auto", 8079)


def test_the_embedded_memory_limit_takes_go_sizes_and_refuses_other_words() -> None:
    settings, problems = parse_acolyte_yaml("weaviate:\n  embedded_memory_limit: 2GiB\n")
    assert problems == [] and settings.weaviate.embedded_memory_limit == "2GiB"
    settings, problems = parse_acolyte_yaml("weaviate:\n  embedded_memory_limit: lots\n")
    assert [p.key for p in problems] == ["weaviate.embedded_memory_limit"]
    assert "must be a size such as 2GiB, 1500MiB or 800000000" in problems[0].message
    assert settings.weaviate.embedded_memory_limit == ""


def test_a_settings_file_of_only_comments_is_all_defaults() -> None:
    from acolyte_lsp.server.embedded_dialog import SETTINGS_TEMPLATE

    assert parse_acolyte_yaml(SETTINGS_TEMPLATE) == (Settings(), [])
