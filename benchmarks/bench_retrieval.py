"""Search quality on real code nobody here wrote, CodeSearchNet-style.

The corpus is a set of packages of this interpreter's standard library. Every
public function or method whose docstring opens with a sentence of at least
four words gives one query (that first sentence) and one answer (the function).
The packages are copied with every docstring removed (so the answer cannot be
found by its own words), indexed by acolyte-lsp into the protocol test server,
and each query is asked as the editor asks it (the store's search, which
`workspace/symbol` and `acolyte.search` call). A query is answered at the rank
of the first chunk of the answer's file whose lines overlap the function.

Reported: MRR@10, recall@1, recall@5, for vector-only search and for hybrid
search at several alphas (0: keywords alone, 1: vectors alone), per embedder.

  python benchmarks/bench_retrieval.py [--queries 400] [--embedders "hash;onnx"] [--context text|name|words|folder+name|path+name] [--chunk-lines 60]
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import random
import re
import shutil
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from acolyte_lsp.settings import EmbeddingSettings, IndexingSettings, SearchSettings, Settings, WeaviateSettings  # noqa: E402
from acolyte_lsp.embedding import Embedder, make_embedder  # noqa: E402
from acolyte_lsp.indexer import preparing  # noqa: E402
from acolyte_lsp.indexer.events import WorkspaceRoot  # noqa: E402
from acolyte_lsp.indexer.service import IndexingService  # noqa: E402
from acolyte_lsp.workspace.chunking import Chunk  # noqa: E402
from acolyte_lsp.metrics import Metrics  # noqa: E402
from acolyte_lsp.store.chunk_store import ChunkStore  # noqa: E402
from benchmarks.bench_insert import _start_server, _version_at  # noqa: E402
from benchmarks.embedder_specs import parse_specs  # noqa: E402

PACKAGES = (
    "json", "email", "http", "urllib", "logging", "xml", "asyncio", "concurrent", "importlib",
    "collections", "html", "wsgiref", "dbm", "sqlite3", "zipfile", "tomllib", "csv.py", "argparse.py",
    "shutil.py", "tarfile.py", "pathlib.py", "subprocess.py", "textwrap.py", "configparser.py",
)
ALPHAS = (0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0)
RANKS = 10
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(frozen=True)
class Query:
    text: str
    file_path: str  # relative to the copied tree
    start_line: int  # the function's lines in the copy without docstrings
    end_line: int


def _first_sentence(docstring: str) -> str:
    paragraph = docstring.strip().split("\n\n")[0]
    return " ".join(_SENTENCE_END.split(" ".join(paragraph.split()), maxsplit=1)[0].split())


def _docstring_lines(tree: ast.AST) -> list[tuple[int, int]]:
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                spans.append((first.lineno, first.end_lineno or first.lineno))
    return spans


def _strip_docstrings(source: str) -> str:
    """The source without docstrings (a body left empty gets `pass`)."""
    lines = source.splitlines(keepends=True)
    for start, end in sorted(_docstring_lines(ast.parse(source)), reverse=True):
        indent = re.match(r"\s*", lines[start - 1]).group(0)  # type: ignore[union-attr]
        lines[start - 1 : end] = [f"{indent}pass\n"]
    return "".join(lines)


def _functions(tree: ast.AST) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    found: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[prefix + child.name] = child
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(tree, "")
    return found


def build_corpus(target: Path) -> list[Query]:
    """Copy the packages without docstrings into `target`; one query per documented public function."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    queries: list[Query] = []
    for package in PACKAGES:
        source_root = stdlib / package
        files = [source_root] if source_root.is_file() else sorted(source_root.rglob("*.py"))
        for path in files:
            rel = path.relative_to(stdlib)
            if "test" in rel.parts or rel.name.startswith("test"):
                continue
            source = path.read_text(encoding="utf-8")
            try:
                original = ast.parse(source)
            except SyntaxError:
                continue
            stripped = _strip_docstrings(source)
            copied = target / rel
            copied.parent.mkdir(parents=True, exist_ok=True)
            copied.write_text(stripped, encoding="utf-8")
            after = _functions(ast.parse(stripped))
            for name, node in _functions(original).items():
                doc = ast.get_docstring(node)
                if not doc or node.name.startswith("_") or name not in after:
                    continue
                sentence = _first_sentence(doc)
                if len(sentence.split()) < 4:
                    continue
                moved = after[name]
                queries.append(Query(sentence, rel.as_posix(), moved.lineno, moved.end_lineno or moved.lineno))
    return queries


def _rank(hits: list, query: Query) -> int | None:  # type: ignore[type-arg]
    for rank, hit in enumerate(hits, 1):
        if hit.file_path == query.file_path and hit.start_line <= query.end_line and hit.end_line >= query.start_line:
            return rank
    return None


def _scores(ranks: list[int | None]) -> tuple[float, float, float]:
    n = len(ranks)
    mrr = sum(1 / r for r in ranks if r is not None and r <= RANKS) / n
    return mrr, sum(1 for r in ranks if r == 1) / n, sum(1 for r in ranks if r is not None and r <= 5) / n


async def _measure(
    url: str, tree: Path, queries: list[Query], embeddings: EmbeddingSettings, number: int, chunk_lines: int,
    embedder: Embedder | None = None,
) -> list[tuple[str, tuple[float, float, float], float]]:
    settings = Settings(
        search=SearchSettings(weaviate_batch_size=200),
        indexing=IndexingSettings(chunk_lines=chunk_lines),
        weaviate=WeaviateSettings(url=url, class_name=f"Bench{number}", read_timeout_s=600),
        embeddings=embeddings,
    )
    embedder = embedder or make_embedder(settings.embeddings)
    store = await ChunkStore.open(settings, Metrics())
    root = WorkspaceRoot.at(tree)
    summary = await IndexingService(settings, store, embedder, lambda e: None, Metrics(), None).index_workspace(root)
    print(f"  {embedder.identity}: {summary.files_indexed} files, {summary.chunks} chunks indexed", file=sys.stderr)
    vectors = [await asyncio.to_thread(embedder.embed_query, q.text) for q in queries]
    rows = []
    for label, alpha in [("vector only", None), *((f"hybrid, alpha {a}", a) for a in ALPHAS)]:
        started = time.perf_counter()
        ranks = []
        for query, vector in zip(queries, vectors):
            hits = await store.search(root.workspace_id, RANKS, vector, query.text, alpha=alpha)
            ranks.append(_rank(hits, query))
        rows.append((label, _scores(ranks), (time.perf_counter() - started) / len(queries)))
    store.close()
    return rows


def _definition(chunk: Chunk) -> str:
    return "" if chunk.kind == "MODULE" else chunk.name.split(" [part ")[0]


_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_DEFAULT_TEXT = preparing.embedded_text


CONTEXTS = {  # what each `--context` run embeds for a chunk (without: the indexer's, the name in words)
    "text": lambda rel_path, chunk: chunk.content,
    "name": lambda rel_path, chunk: "\n".join(filter(None, (_definition(chunk), chunk.content))),
    # the default, with camelCase in the code cut into words too
    "words": lambda rel_path, chunk: _CAMEL_HUMP.sub(" ", _DEFAULT_TEXT(rel_path, chunk)),
    "folder+name": lambda rel_path, chunk: "\n".join(
        filter(None, (str(Path(rel_path).parent).replace(".", ""), _definition(chunk), chunk.content))
    ),
    "path+name": lambda rel_path, chunk: f"{rel_path}\n{chunk.name}\n{chunk.content}",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--embedders", default="hash;onnx", help="';'-separated specs (benchmarks/embedder_specs.py)")
    parser.add_argument("--context", choices=sorted(CONTEXTS), help="embed each chunk with this context (default: the indexer's)")
    parser.add_argument("--model2vec", help="also a model2vec static model folder (benchmarks/static_embedder.py)")
    parser.add_argument("--chunk-lines", type=int, default=IndexingSettings().chunk_lines, help="indexing.chunk_lines")
    parser.add_argument("--real", default="", help="','-separated URLs of real Weaviates, measured in the same run as the stand-in")
    args = parser.parse_args()
    if args.context:
        preparing.embedded_text = CONTEXTS[args.context]
    tree = Path(tempfile.mkdtemp(prefix="acolyte-retrieval-"))
    try:
        queries = build_corpus(tree)
        sample = random.Random(20261129).sample(queries, min(args.queries, len(queries)))
        print(f"{len(queries)} documented public functions in {len(PACKAGES)} standard-library packages; "
              f"{len(sample)} queries asked", file=sys.stderr)
        proc, url = _start_server(0.0)
        servers = [("stand-in", url), *((_version_at(u), u) for u in filter(None, args.real.split(",")))]
        try:
            print("| Weaviate | embedder | search | MRR@10 | recall@1 | recall@5 | ms per query |")
            print("|---|---|---|---|---|---|---|")
            runs = [(spec, embeddings, None) for spec, embeddings in parse_specs(args.embedders)]
            if args.model2vec:
                from benchmarks.static_embedder import StaticEmbedder

                runs.append((f"model2vec {Path(args.model2vec).name}", EmbeddingSettings(), StaticEmbedder(args.model2vec)))
            number = 0
            for spec, embeddings, given in runs:
                for server, server_url in servers:
                    number += 1
                    measured = asyncio.run(_measure(server_url, tree, sample, embeddings, number, args.chunk_lines, given))
                    for label, (mrr, r1, r5), seconds in measured:
                        print(f"| {server} | {spec} | {label} | {mrr:.3f} | {r1:.3f} | {r5:.3f} | {seconds * 1000:.0f} |", flush=True)
        finally:
            proc.kill()
            proc.wait()
    finally:
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    main()
