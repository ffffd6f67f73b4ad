"""Definitions in Python source, from the standard library's `ast`."""

from __future__ import annotations

import ast
import warnings

from .spans import Span

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _start(node: ast.AST) -> int:
    """First line of a definition, its decorators included."""
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]


def _span(node: ast.AST, method: bool) -> Span:
    end = node.end_lineno or node.lineno  # type: ignore[attr-defined]
    if isinstance(node, ast.ClassDef):
        children = tuple(_span(c, True) for c in node.body if isinstance(c, _DEFS))
        return Span(_start(node), end, "CLASS", node.name, children)
    kind = "METHOD" if method else "FUNCTION"
    return Span(_start(node), end, kind, node.name)  # type: ignore[attr-defined]


def python_spans(text: str) -> list[Span] | None:
    """Top-level functions and classes (methods nested), and runs of imports; None if it does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for odd escapes in old code
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    spans: list[Span] = []
    for node in tree.body:
        if isinstance(node, _DEFS):
            spans.append(_span(node, False))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            end = node.end_lineno or node.lineno
            previous = spans[-1] if spans else None
            if previous is not None and previous.kind == "IMPORTS" and node.lineno - previous.end <= 2:
                spans[-1] = Span(previous.start, end, "IMPORTS", "imports")
            else:
                spans.append(Span(node.lineno, end, "IMPORTS", "imports"))
    return spans
