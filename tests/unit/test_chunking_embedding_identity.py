"""Line-window chunks, the hashing embedder and deterministic ids."""

import math
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from acolyte_lsp.settings import EmbeddingSettings
from acolyte_lsp.embedding import EmbedderError, HashEmbedder, NoEmbedder, make_embedder
from acolyte_lsp.identity import chunk_uuid, workspace_id
from acolyte_lsp.indexer.preparing import embedded_text
from acolyte_lsp.models.acquire import packaged_model_folder
from acolyte_lsp.models.profiles import DEFAULT_MODEL
from acolyte_lsp.workspace.chunking import Chunk, chunk_lines, language_of


def _text(n: int) -> str:
    return "".join(f"line {i}\n" for i in range(1, n + 1))


def test_windows_have_exact_one_based_ranges_and_content() -> None:
    chunks = chunk_lines(_text(130), window=60, overlap=10)
    assert [(c.start_line, c.end_line) for c in chunks] == [(1, 60), (51, 110), (101, 130)]
    assert chunks[1].content.splitlines()[0] == "line 51"
    assert chunks[1].content.splitlines()[-1] == "line 110"


def test_every_line_belongs_to_a_chunk_on_a_real_file() -> None:
    source = Path(__file__).read_text()
    lines = source.splitlines()
    covered = set()
    for chunk in chunk_lines(source, window=7, overlap=2):
        assert chunk.content.splitlines() == lines[chunk.start_line - 1 : chunk.end_line]
        covered.update(range(chunk.start_line, chunk.end_line + 1))
    assert covered == set(range(1, len(lines) + 1))


def test_short_file_is_one_chunk() -> None:
    [chunk] = chunk_lines("a\nb", window=60, overlap=10)
    assert (chunk.start_line, chunk.end_line, chunk.content) == (1, 2, "a\nb")


def test_empty_file_has_no_chunks() -> None:
    assert chunk_lines("") == []


def test_overlap_larger_than_window_still_advances() -> None:
    chunks = chunk_lines(_text(5), window=2, overlap=5)
    assert [(c.start_line, c.end_line) for c in chunks] == [(1, 2), (2, 3), (3, 4), (4, 5)]


def test_language_comes_from_the_suffix() -> None:
    assert language_of("src/app.py") == "python"
    assert language_of("web/App.TSX") == "typescript"
    assert language_of("LICENSE") == "text"


def test_hash_embedder_is_deterministic_unit_length_and_768_wide() -> None:
    embedder = HashEmbedder()
    [a, b] = embedder.embed(["def batch_insert(): pass", "def batch_insert(): pass"])
    assert a == b
    assert len(a) == 768
    assert math.isclose(math.sqrt(sum(v * v for v in a)), 1.0)


def test_hash_embedder_puts_related_code_closer() -> None:
    embedder = HashEmbedder(256)
    query = embedder.embed_one("insert batch into weaviate")
    near = embedder.embed_one("def batch_insert(objects): client.batch.add_data_object(weaviate)")
    far = embedder.embed_one("color: red; margin: 0 auto; font-family: serif")
    assert sum(q * n for q, n in zip(query, near)) > sum(q * f for q, f in zip(query, far))


def test_text_without_tokens_embeds_to_zeros() -> None:
    assert HashEmbedder(8).embed_one("  \n ") == [0.0] * 8


def test_make_embedder_knows_hash_and_none() -> None:
    assert isinstance(make_embedder(EmbeddingSettings(provider="hash", dimensions=12)), HashEmbedder)
    assert make_embedder(EmbeddingSettings(provider="hash")).dimensions == 768
    none = make_embedder(EmbeddingSettings(provider="none"))
    assert isinstance(none, NoEmbedder)
    assert none.embed(["x"]) is None and none.embed_query("x") is None


def test_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(EmbedderError, match="unknown embeddings.provider 'magic'"):
        make_embedder(EmbeddingSettings(provider="magic"))


def test_local_model_provider_without_its_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(EmbedderError, match=r"pip install 'acolyte-lsp\[local-model\]'"):
        make_embedder(EmbeddingSettings(provider="sentence-transformers"))


def test_local_model_provider_embeds_in_batches_with_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    folder = packaged_model_folder(DEFAULT_MODEL)

    class FakeModel:
        def __init__(self, path: str, device: str) -> None:
            assert (path, device) == (str(folder), "cpu")  # the packaged model, found as the ONNX runtime finds it

        def get_embedding_dimension(self) -> int:  # sentence-transformers 5 deprecates get_sentence_…
            return 3

        def encode(self, texts: list[str], batch_size: int, normalize_embeddings: bool) -> np.ndarray:
            assert normalize_embeddings
            calls.append(texts)
            return np.asarray([[float(len(t)), 0.0, 1.0] for t in texts], dtype=np.float32)  # as the library does

    monkeypatch.setitem(sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=FakeModel))
    embedder = make_embedder(EmbeddingSettings(provider="sentence-transformers"))
    assert embedder.dimensions == 3
    assert embedder.embed(["ab", "abc"]) == [[2.0, 0.0, 1.0], [3.0, 0.0, 1.0]]
    assert embedder.embed_query("x") == [1.0, 0.0, 1.0]
    assert calls == [["ab", "abc"], ["x"]]


def test_chunk_uuid_is_stable_and_sensitive_to_every_part() -> None:
    base = chunk_uuid("ws", "a.py", 1, 60, "text")
    assert base == chunk_uuid("ws", "a.py", 1, 60, "text")
    variants = {
        chunk_uuid("ws2", "a.py", 1, 60, "text"),
        chunk_uuid("ws", "b.py", 1, 60, "text"),
        chunk_uuid("ws", "a.py", 2, 60, "text"),
        chunk_uuid("ws", "a.py", 1, 60, "text!"),
    }
    assert base not in variants and len(variants) == 4


def test_workspace_id_is_stable_per_folder(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    assert workspace_id(tmp_path / "one") == workspace_id(tmp_path / "one" / ".." / "one")
    assert workspace_id(tmp_path / "one") != workspace_id(tmp_path / "two")
    assert workspace_id(tmp_path / "one").startswith("one-")


def test_a_definition_is_embedded_after_its_name_in_words() -> None:
    method = Chunk(5, 9, "METHOD", "JSONDecoder.raw_decode [part 1/2]", "def raw_decode(self, s):\n    ...\n")
    assert embedded_text("json/decoder.py", method) == "JSON Decoder raw decode\ndef raw_decode(self, s):\n    ...\n"


def test_module_level_code_is_embedded_as_it_is() -> None:
    imports = Chunk(1, 3, "MODULE", "imports", "import os\nimport re\n")
    assert embedded_text("a.py", imports) == imports.content


def test_the_embedded_text_does_not_depend_on_the_file_so_moved_code_keeps_its_vector() -> None:
    function = Chunk(1, 2, "FUNCTION", "send_mail", "def send_mail():\n    pass\n")
    assert embedded_text("a.py", function) == embedded_text("elsewhere/b.py", function)
