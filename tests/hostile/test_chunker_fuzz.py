"""Fuzzing the chunker: any text in any supported language gives chunks that cover every line exactly."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings, strategies as st

from acolyte_lsp.workspace.chunking import ChunkingOptions, chunk_file
from acolyte_lsp.workspace.spans import split_lines
from tests.bounds import CASE_SECONDS, within_memory

SUFFIXES = [".py", ".js", ".ts", ".tsx", ".go", ".rs", ".java", ".c", ".cpp", ".md", ".txt", ".json"]
FRAGMENTS = [
    "def f(x):", "class A:", "    return 1", "    def m(self):", "@decorator", "async def g():",
    "{", "}", "function g() {", "export class B {", "const h = () => {", "fn main() {", "impl X for Y {",
    "func (s *S) M() {", "public class C {", "int main(void) {", "#include <stdio.h>", "template <class T>",
    "namespace n {", "# Heading", "## Sub", "```", "/*", "*/", "'''", '"""', "\t", "", "\r", "\x0c", "\u2028",
    "if (a) { b(); }", "x = [", "]", "(", ")", "\\", "é 漢字 🙂",
]
FUZZ = settings(
    max_examples=1500,
    deadline=timedelta(seconds=CASE_SECONDS),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
code_like = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=30), max_size=120).map("\n".join)
options = st.builds(ChunkingOptions, max_lines=st.integers(1, 40), overlap=st.integers(0, 10), min_lines=st.integers(1, 12))


def _check(rel_path: str, text: str, chunk_options: ChunkingOptions) -> None:
    chunks = within_memory(lambda: chunk_file(rel_path, text, chunk_options))
    lines = split_lines(text)
    covered: set[int] = set()
    for chunk in chunks:
        assert 1 <= chunk.start_line <= chunk.end_line <= len(lines)
        assert chunk.content == "".join(lines[chunk.start_line - 1 : chunk.end_line])
        covered.update(range(chunk.start_line, chunk.end_line + 1))
    assert covered == set(range(1, len(lines) + 1))


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), text=code_like, chunk_options=options)
def test_fuzz_code_like_text_is_covered_line_for_line(suffix: str, text: str, chunk_options: ChunkingOptions) -> None:
    _check(f"src/file{suffix}", text, chunk_options)


@settings(max_examples=500, deadline=timedelta(seconds=CASE_SECONDS), derandomize=True)
@given(suffix=st.sampled_from(SUFFIXES), text=st.text(max_size=2000))
def test_fuzz_any_text_is_covered_line_for_line(suffix: str, text: str) -> None:
    _check(f"any{suffix}", text, ChunkingOptions())


@settings(max_examples=60, deadline=timedelta(seconds=CASE_SECONDS), derandomize=True)
@given(suffix=st.sampled_from(SUFFIXES), depth=st.integers(100, 3000), opener=st.sampled_from(["(", "[", "{", "def f():\n", "if x:\n"]))
def test_fuzz_deep_nesting_is_bounded(suffix: str, depth: int, opener: str) -> None:
    closer = {"(": ")", "[": "]", "{": "}"}.get(opener, "")
    indent = "" if closer else " "
    text = "".join(indent * i + opener for i in range(depth)) + closer * depth + "\n"
    _check(f"deep{suffix}", text, ChunkingOptions())
