"""Which files are indexed, and reading them safely."""

import os
from pathlib import Path

import pytest

from acolyte_lsp.workspace.discovery import FileSkipped, SourceFile, discover_files, is_indexable, read_source


def _tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _found(root: Path, exclude: tuple[str, ...] = (), include: tuple[str, ...] = ()) -> list[str]:
    return [f.rel_path for f in discover_files(root, exclude, include)]


def test_gitignore_at_the_root_applies_everywhere(tmp_path: Path) -> None:
    _tree(tmp_path, {".gitignore": "*.log\n", "a.py": "", "b.log": "", "sub/c.log": "", "sub/d.py": ""})
    assert _found(tmp_path) == [".gitignore", "a.py", "sub/d.py"]


def test_nested_gitignore_is_relative_to_its_folder_and_can_negate(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".gitignore": "*.gen.py\n",
            "pkg/.gitignore": "/local.py\n!keep.gen.py\n",
            "pkg/local.py": "",
            "pkg/keep.gen.py": "",
            "pkg/drop.gen.py": "",
            "pkg/deeper/local.py": "",
            "local.py": "",
        },
    )
    assert _found(tmp_path) == [
        ".gitignore",
        "local.py",
        "pkg/.gitignore",
        "pkg/deeper/local.py",
        "pkg/keep.gen.py",
    ]


def test_acolyteignore_and_exclude_setting_use_gitignore_syntax(tmp_path: Path) -> None:
    _tree(tmp_path, {".acolyteignore": "docs/\n", "docs/a.md": "", "src/a.py": "", "src/a_pb2.py": ""})
    assert _found(tmp_path, ("*_pb2.py",)) == [".acolyteignore", "src/a.py"]


def test_dependency_folders_and_secrets_are_never_indexed(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "node_modules/x/index.js": "",
            ".venv/lib/site.py": "",
            ".git/config": "",
            "__pycache__/a.pyc": "",
            ".env": "TOKEN=1",
            ".env.production": "TOKEN=2",
            "certs/server.pem": "",
            "keys/id_rsa": "",
            "keys/deploy.key": "",
            ".acolyte": "weaviate:\n  api_key: s3cret\n",
            "app.py": "",
        },
    )
    assert _found(tmp_path) == ["app.py"]


def test_symlink_loops_are_walked_once(tmp_path: Path) -> None:
    _tree(tmp_path, {"a/file.py": ""})
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    assert _found(tmp_path) == ["a/file.py"]


def test_symlinks_out_of_the_workspace_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _tree(outside, {"secret.py": ""})
    root = tmp_path / "root"
    _tree(root, {"in.py": ""})
    os.symlink(outside, root / "link")
    os.symlink(outside / "secret.py", root / "file_link.py")
    assert _found(root) == ["in.py"]


def test_read_source_hashes_and_decodes_utf8_with_bom(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.py": "\ufeffprint('é')\n".encode("utf-8")})
    text = read_source(SourceFile(tmp_path / "a.py", "a.py"), 1024)
    assert text.text == "print('é')\n"
    assert len(text.file_hash) == 64


def test_utf16_with_bom_is_decoded(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.txt": "hello".encode("utf-16")})
    assert read_source(SourceFile(tmp_path / "a.txt", "a.txt"), 1024).text == "hello"


def test_legacy_windows_1252_text_is_decoded(tmp_path: Path) -> None:
    _tree(tmp_path, {"old.c": "/* café, naïve — déjà */\n".encode("cp1252")})
    assert read_source(SourceFile(tmp_path / "old.c", "old.c"), 1024).text == "/* café, naïve — déjà */\n"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary file"),
        (b"\x1b[31m \xff\xfe log", "not UTF-8 text .* nor Windows-1252"),
        (b"x" * 2048, "larger than indexing.max_file_size_kb"),
    ],
)
def test_unreadable_files_are_skipped_with_a_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    _tree(tmp_path, {"f": content})
    with pytest.raises(FileSkipped, match=reason):
        read_source(SourceFile(tmp_path / "f", "f"), 1024)


def test_is_indexable_agrees_with_the_walk(tmp_path: Path) -> None:
    _tree(tmp_path, {".gitignore": "build/\n*.tmp\n", "pkg/.gitignore": "x.py\n", "a.py": ""})
    assert is_indexable(tmp_path, "a.py")
    assert is_indexable(tmp_path, "pkg/y.py")
    assert not is_indexable(tmp_path, "pkg/x.py")
    assert not is_indexable(tmp_path, "build/out.py")
    assert not is_indexable(tmp_path, "notes.tmp")
    assert not is_indexable(tmp_path, "node_modules/m/index.js")
    assert not is_indexable(tmp_path, "gen/a.py", ("gen/",))


def test_include_patterns_limit_files_but_not_folders(tmp_path: Path) -> None:
    _tree(tmp_path, {"src/a.py": "", "src/deep/b.py": "", "src/c.md": "", "d.txt": ""})
    assert _found(tmp_path, include=("*.py",)) == ["src/a.py", "src/deep/b.py"]
    assert is_indexable(tmp_path, "src/x.py", include=("*.py",))
    assert not is_indexable(tmp_path, "src/x.md", include=("*.py",))


def test_git_info_exclude_is_honoured(tmp_path: Path) -> None:
    _tree(tmp_path, {".git/info/exclude": "scratch/\n", "scratch/a.py": "", "b.py": ""})
    assert _found(tmp_path) == ["b.py"]
    assert not is_indexable(tmp_path, "scratch/a.py")


def test_fifos_and_other_special_files_are_skipped(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    _tree(tmp_path, {"a.py": ""})
    assert _found(tmp_path) == ["a.py"]


def test_the_combined_exclude_regex_answers_as_gitignore_does() -> None:
    import pathspec
    from hypothesis import given, settings, strategies as st

    from acolyte_lsp.workspace.discovery import DEFAULT_EXCLUDES, _AnyPattern

    spec = pathspec.GitIgnoreSpec.from_lines([*DEFAULT_EXCLUDES, "generated/", "*.lock", "/top.txt", "docs/**/*.tmp"])
    combined = _AnyPattern(spec)
    parts = st.sampled_from(["a", ".env", ".env.prod", "node_modules", "x.pem", "id_rsa.pub", "build", "generated",
                             "y.lock", "top.txt", "docs", "z.tmp", ".git", "src", "m.py", ".npmrc", "ü"])

    @settings(max_examples=500, derandomize=True)
    @given(st.lists(parts, min_size=1, max_size=5), st.booleans())
    def same(path_parts: list[str], is_dir: bool) -> None:
        candidate = "/".join(path_parts) + ("/" if is_dir else "")
        assert combined.match_file(candidate) == spec.match_file(candidate), candidate

    same()
