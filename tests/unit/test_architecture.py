"""The shape of the code: rooms small enough to read, and imports that only go one way."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "acolyte_lsp"
MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 60


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        yield name, ast.parse(path.read_text(), str(path))


def _sizes(kinds: tuple[type[ast.AST], ...]) -> list[tuple[int, str]]:
    found = []
    for module, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, kinds):
                found.append((node.end_lineno - node.lineno + 1, f"{module}.{node.name}"))  # type: ignore[attr-defined]
    return sorted(found, reverse=True)


def _imports(module: str, tree: ast.Module) -> set[str]:
    """The acolyte_lsp modules `module` imports (relative imports resolved)."""
    is_package = (PACKAGE.parent / Path(*module.split("."))).is_dir()
    base = module if is_package else module.rsplit(".", 1)[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")
                parts = parts[: len(parts) - node.level + 1]
                target = ".".join(parts + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
            names.update(c for c in candidates if c.startswith("acolyte_lsp"))
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("acolyte_lsp"))
    return names


def _import_graph() -> dict[str, set[str]]:
    modules = dict(_modules())
    return {name: {target for target in _imports(name, tree) if target in modules and target != name} for name, tree in modules.items()}


def test_no_class_is_longer_than_250_lines() -> None:
    too_long = [(n, name) for n, name in _sizes((ast.ClassDef,)) if n > MAX_CLASS_LINES]
    assert not too_long, f"split these classes along their sections: {too_long}"


def test_no_function_is_longer_than_60_lines() -> None:
    too_long = [(n, name) for n, name in _sizes((ast.FunctionDef, ast.AsyncFunctionDef)) if n > MAX_FUNCTION_LINES]
    assert not too_long, f"split these functions into named steps: {too_long}"


def test_no_import_circle() -> None:
    graph = _import_graph()
    circles = []
    for start in graph:
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    circles.append(" -> ".join(path + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    assert not circles, f"imports that come back round: {sorted(set(circles))[:5]}"


def _importers_of(packages: set[str]) -> set[str]:
    """The modules importing any of these top-level packages (absolute imports)."""
    return {
        name for name, tree in _modules() if any(
            (isinstance(n, ast.Import) and any(a.name.split(".")[0] in packages for a in n.names))
            or (isinstance(n, ast.ImportFrom) and not n.level and (n.module or "").split(".")[0] in packages)
            for n in ast.walk(tree)
        )
    }


def test_only_the_store_imports_weaviate() -> None:
    assert {m for m in _importers_of({"weaviate"}) if not m.startswith("acolyte_lsp.store")} == set()


def test_the_indexer_and_controller_know_no_lsp() -> None:
    assert {m for m in _importers_of({"pygls", "lsprotocol"}) if not m.startswith("acolyte_lsp.server")} == set()


def test_only_the_agent_package_speaks_mcp() -> None:
    assert {m for m in _importers_of({"mcp", "mcp_types"}) if not m.startswith("acolyte_lsp.agent")} == set()


def test_only_the_file_watcher_asks_the_kernel_for_file_events() -> None:
    assert _importers_of({"watchfiles"}) == {"acolyte_lsp.file_watcher"}


def test_the_connection_never_touches_the_indexer() -> None:
    graph = _import_graph()
    assert not {t for t in graph["acolyte_lsp.connection"] if t.startswith("acolyte_lsp.indexer")}


# Data flows down this list (editor → server → controller → indexer → workspace/embedding/store → Weaviate);
# an import may go to its own layer or below, never back up.
LAYERS = {
    "__main__": 6, "server": 6, "agent": 6,
    "controller": 5, "index_status": 5, "searching": 5, "upkeep": 5,
    "connection": 4, "refused_files": 4, "indexing_lease": 4,
    "indexer": 3,
    "workspace": 2, "embedding": 2, "store": 2, "changes": 2, "file_watcher": 2,
    "models": 1,
    "settings": 0, "notices": 0, "metrics": 0, "secrecy": 0, "display": 0, "downloads": 0,
    "identity": 0, "vectors": 0, "trust": 0, "embedded_choice": 0, "acolyte_lsp": 0,
}


def _layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_every_module_has_a_layer() -> None:
    assert {_layer_of(m) for m in _import_graph()} <= set(LAYERS)


def test_no_import_goes_back_up_the_layers() -> None:
    upward = [
        f"{module} -> {target}"
        for module, targets in _import_graph().items()
        for target in targets
        if LAYERS[_layer_of(target)] > LAYERS[_layer_of(module)]
    ]
    assert not upward, upward
