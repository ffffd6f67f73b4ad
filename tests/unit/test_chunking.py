"""Structure-following chunks: kinds, names, splitting, merging and full line coverage."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from acolyte_lsp.workspace.chunking import ChunkingOptions, chunk_file
from acolyte_lsp.workspace.spans import split_lines

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "code"
LOOSE = ChunkingOptions(max_lines=60, overlap=10, min_lines=1)


def _shape(rel_path: str, text: str, options: ChunkingOptions = LOOSE) -> list[tuple[str, str, int, int]]:
    return [(c.kind, c.name, c.start_line, c.end_line) for c in chunk_file(rel_path, text, options)]


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_python_functions_and_classes_with_decorators_and_docstrings() -> None:
    text = (
        "import os\n"
        "import sys\n"
        "\n"
        "@cache\n"
        "@other(1)\n"
        "def f():\n"
        '    """Doc."""\n'
        "    return 1\n"
        "\n"
        "class A:\n"
        "    def m(self):\n"
        "        return 2\n"
    )
    assert _shape("m.py", text) == [
        ("IMPORTS", "imports", 1, 3),
        ("FUNCTION", "f", 4, 9),
        ("CLASS", "A", 10, 12),
    ]


def test_a_class_too_big_for_one_chunk_becomes_header_and_methods() -> None:
    methods = "".join(f"    def m{i}(self):\n" + "        x = 1\n" * 8 + "\n" for i in range(4))
    text = "class Big:\n    '''Doc.'''\n    size = 3\n\n" + methods
    options = ChunkingOptions(max_lines=20, overlap=2, min_lines=1)
    shape = _shape("big.py", text, options)
    assert shape[0] == ("CLASS", "Big", 1, 4)
    assert [s[1] for s in shape[1:]] == ["Big.m0", "Big.m1", "Big.m2", "Big.m3"]
    assert all(kind == "METHOD" for kind, *_ in shape[1:])


def test_an_oversized_function_is_split_into_overlapping_parts() -> None:
    text = "def long():\n" + "    x = 1\n" * 99
    assert _shape("l.py", text, ChunkingOptions(max_lines=40, overlap=5, min_lines=1)) == [
        ("FUNCTION", "long [part 1/3]", 1, 40),
        ("FUNCTION", "long [part 2/3]", 36, 75),
        ("FUNCTION", "long [part 3/3]", 71, 100),
    ]


def test_tiny_neighbours_are_merged_within_the_budget() -> None:
    text = "".join(f"def f{i}():\n    return {i}\n" for i in range(10))
    shape = _shape("t.py", text, ChunkingOptions(max_lines=8, overlap=0, min_lines=4))
    assert shape == [
        ("FUNCTION", "f0, f1, f2, f3", 1, 8),
        ("FUNCTION", "f4, f5, f6, f7", 9, 16),
        ("FUNCTION", "f8, f9", 17, 20),
    ]


def test_python_that_does_not_parse_falls_back_to_windows() -> None:
    text = "def broken(:\n" + "x\n" * 70
    assert [s[0] for s in _shape("b.py", text)] == ["WINDOW", "WINDOW"]


def test_unknown_languages_use_line_windows() -> None:
    assert _shape("notes.txt", "a\n" * 61) == [("WINDOW", "lines 1-60", 1, 60), ("WINDOW", "lines 51-61", 51, 61)]


def test_markdown_is_cut_at_headings_outside_code_fences() -> None:
    assert _shape("guide.md", _fixture("guide.md")) == [
        ("SECTION", "Guide", 1, 4),
        ("SECTION", "Install", 5, 13),
        ("SECTION", "Use", 14, 16),
    ]


def test_readme_sections_are_marked_as_readme() -> None:
    assert {c.kind for c in chunk_file("README.md", "# A\ntext\n## B\nmore\n", LOOSE)} == {"README"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("shapes.ts", [("IMPORTS", "imports"), ("INTERFACE", "Point"), ("TYPE", "Shape"), ("FUNCTION", "distance"),
                       ("CLASS", "Circle"), ("CLASS", "Square"), ("FUNCTION", "loadShapes"), ("ENUM", "Color")]),
        ("server.go", [("IMPORTS", "imports"), ("TYPE", "Server"), ("FUNCTION", "New"), ("METHOD", "health"), ("METHOD", "Run")]),
        ("queue.rs", [("IMPORTS", "imports"), ("STRUCT", "Queue"), ("IMPL", "Queue<T>"),
                      ("IMPL", "fmt::Debug for Queue<T>"), ("FUNCTION", "drain_all")]),
        ("Inventory.java", [("IMPORTS", "imports"), ("CLASS", "Inventory")]),
        ("ring.c", [("IMPORTS", "imports"), ("STRUCT", "ring"), ("FUNCTION", "ring_new"), ("FUNCTION", "ring_put"),
                    ("FUNCTION", "ring_free")]),
        ("matrix.cpp", [("IMPORTS", "imports"), ("MODULE", "lines 3-5"), ("CLASS", "Matrix"), ("FUNCTION", "square"),
                        ("MODULE", "lines 24-25")]),
    ],
)
def test_tree_sitter_languages_chunk_by_definition(name: str, expected: list[tuple[str, str]]) -> None:
    assert [(kind, chunk_name) for kind, chunk_name, _, _ in _shape(name, _fixture(name))] == expected


def test_comments_above_a_definition_belong_to_it() -> None:
    shape = _shape("server.go", _fixture("server.go"))
    new = next(s for s in shape if s[1] == "New")
    assert split_lines(_fixture("server.go"))[new[2] - 1].startswith("// New builds")


def _real_files() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    picked = sorted((stdlib / "json").glob("*.py")) + sorted((stdlib / "email").glob("*.py"))[:12]
    return picked + sorted(p for p in FIXTURES.iterdir() if p.is_file())


@pytest.mark.parametrize("options", [ChunkingOptions(), ChunkingOptions(max_lines=12, overlap=3, min_lines=5)])
def test_every_line_of_real_files_is_in_a_chunk_with_exact_content(options: ChunkingOptions) -> None:
    files = _real_files()
    assert len(files) > 15
    for path in files:
        text = path.read_text(encoding="utf-8")
        lines = split_lines(text)
        covered: set[int] = set()
        for chunk in chunk_file(path.name, text, options):
            assert 1 <= chunk.start_line <= chunk.end_line <= len(lines), path
            assert chunk.content == "".join(lines[chunk.start_line - 1 : chunk.end_line]), path
            assert chunk.end_line - chunk.start_line + 1 <= options.max_lines, path
            covered.update(range(chunk.start_line, chunk.end_line + 1))
        assert covered == set(range(1, len(lines) + 1)), path


def test_form_feeds_and_crlf_do_not_shift_lines() -> None:
    text = "def a():\r\n    return '\x0c'\r\n\x0c\r\ndef b():\r\n    return 2\r\n"
    chunks = chunk_file("ff.py", text, LOOSE)
    assert [(c.name, c.start_line, c.end_line) for c in chunks] == [("a", 1, 3), ("b", 4, 5)]


def test_structure_readers_do_not_import_the_chunker_back() -> None:
    import subprocess
    import sys

    script = (
        "import sys, acolyte_lsp.workspace.structure_python, acolyte_lsp.workspace.structure_markdown, "
        "acolyte_lsp.workspace.structure_treesitter; assert 'acolyte_lsp.workspace.chunking' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == 0
