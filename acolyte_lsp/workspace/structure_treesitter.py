"""Definitions in JavaScript/TypeScript, Go, Rust, Java and C/C++, from tree-sitter grammars.

Each language lists which syntax nodes are definitions (and of what kind),
which contain members (classes, impls) and which are imports. Comments right
above a definition belong to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .spans import Span


@dataclass(frozen=True)
class _Grammar:
    language: Callable[[], Any]
    definitions: dict[str, str]  # node type -> chunk kind
    containers: dict[str, str] = field(default_factory=dict)  # node type -> body field/child type
    imports: frozenset[str] = frozenset()
    wrappers: frozenset[str] = frozenset()  # nodes whose children are looked into (export, namespace)
    member_kind: str = "METHOD"


def _ts_typescript() -> Any:
    import tree_sitter_typescript

    return tree_sitter_typescript.language_typescript()


def _ts_tsx() -> Any:
    import tree_sitter_typescript

    return tree_sitter_typescript.language_tsx()


def _module_language(module: str) -> Callable[[], Any]:
    def load() -> Any:
        return __import__(module).language()

    return load


_JS_DEFS = {
    "function_declaration": "FUNCTION",
    "generator_function_declaration": "FUNCTION",
    "class_declaration": "CLASS",
    "method_definition": "METHOD",
    "lexical_declaration": "FUNCTION",  # only when it binds a function; see _is_definition
    "variable_declaration": "FUNCTION",
    "interface_declaration": "INTERFACE",
    "type_alias_declaration": "TYPE",
    "enum_declaration": "ENUM",
    "abstract_class_declaration": "CLASS",
}
_JS = dict(
    definitions=_JS_DEFS,
    containers={"class_declaration": "class_body", "abstract_class_declaration": "class_body"},
    imports=frozenset({"import_statement"}),
    wrappers=frozenset({"export_statement"}),
)

GRAMMARS: dict[str, _Grammar] = {
    "javascript": _Grammar(_module_language("tree_sitter_javascript"), **_JS),  # type: ignore[arg-type]
    "typescript": _Grammar(_ts_typescript, **_JS),  # type: ignore[arg-type]
    "tsx": _Grammar(_ts_tsx, **_JS),  # type: ignore[arg-type]
    "go": _Grammar(
        _module_language("tree_sitter_go"),
        definitions={"function_declaration": "FUNCTION", "method_declaration": "METHOD", "type_declaration": "TYPE"},
        imports=frozenset({"import_declaration", "package_clause"}),
    ),
    "rust": _Grammar(
        _module_language("tree_sitter_rust"),
        definitions={
            "function_item": "FUNCTION",
            "impl_item": "IMPL",
            "struct_item": "STRUCT",
            "enum_item": "ENUM",
            "trait_item": "TRAIT",
            "mod_item": "MODULE",
            "macro_definition": "MACRO",
        },
        containers={"impl_item": "declaration_list", "trait_item": "declaration_list"},
        imports=frozenset({"use_declaration", "extern_crate_declaration"}),
    ),
    "java": _Grammar(
        _module_language("tree_sitter_java"),
        definitions={
            "class_declaration": "CLASS",
            "interface_declaration": "INTERFACE",
            "enum_declaration": "ENUM",
            "record_declaration": "CLASS",
            "method_declaration": "METHOD",
            "constructor_declaration": "METHOD",
        },
        containers={
            "class_declaration": "class_body",
            "interface_declaration": "interface_body",
            "enum_declaration": "enum_body",
            "record_declaration": "class_body",
        },
        imports=frozenset({"import_declaration", "package_declaration"}),
    ),
    "c": _Grammar(
        _module_language("tree_sitter_c"),
        definitions={"function_definition": "FUNCTION", "struct_specifier": "STRUCT", "enum_specifier": "ENUM", "type_definition": "TYPE"},
        imports=frozenset({"preproc_include"}),
        wrappers=frozenset({"preproc_ifdef", "preproc_if", "linkage_specification", "declaration_list"}),
    ),
    "cpp": _Grammar(
        _module_language("tree_sitter_cpp"),
        definitions={
            "function_definition": "FUNCTION",
            "class_specifier": "CLASS",
            "struct_specifier": "STRUCT",
            "enum_specifier": "ENUM",
            "template_declaration": "TEMPLATE",
            "type_definition": "TYPE",
        },
        containers={"class_specifier": "field_declaration_list", "struct_specifier": "field_declaration_list"},
        imports=frozenset({"preproc_include", "using_declaration"}),
        wrappers=frozenset({"namespace_definition", "declaration_list", "preproc_ifdef", "preproc_if", "linkage_specification"}),
    ),
}
SUPPORTED = frozenset(GRAMMARS)
_COMMENTS = frozenset({"comment", "line_comment", "block_comment"})
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function"})


@cache
def _parser(language: str) -> Any:
    from tree_sitter import Language, Parser

    return Parser(Language(GRAMMARS[language].language()))


def _lines(node: Any) -> tuple[int, int]:
    """1-based inclusive lines; a node ending at column 0 ends on the line before."""
    start = node.start_point[0] + 1
    end_row, end_col = node.end_point
    end = end_row if end_col == 0 and end_row > node.start_point[0] else end_row + 1
    return start, end


def _text(node: Any) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""


def _name(node: Any) -> str:
    if node.type == "impl_item":  # impl Trait for Type / impl Type
        trait = node.child_by_field_name("trait")
        own = _text(node.child_by_field_name("type"))
        return f"{_text(trait)} for {own}" if trait is not None else own
    named = node.child_by_field_name("name")
    if named is not None:
        return _text(named)
    declarator = node.child_by_field_name("declarator")
    while declarator is not None:  # C/C++: int *f(int) -> function_declarator -> identifier
        inner = declarator.child_by_field_name("declarator")
        if inner is None:
            return _text(declarator)
        declarator = inner
    for child in node.named_children:
        if child.type in ("variable_declarator", "type_spec", "function_definition", "class_specifier"):
            return _name(child)
    return ""


def _is_definition(node: Any, grammar: _Grammar) -> bool:
    if node.type not in grammar.definitions:
        return False
    if node.type in ("lexical_declaration", "variable_declaration"):
        return any(
            (value := d.child_by_field_name("value")) is not None and value.type in _FUNCTION_VALUES
            for d in node.named_children
            if d.type == "variable_declarator"
        )
    if node.type in ("struct_specifier", "enum_specifier", "class_specifier"):
        return node.child_by_field_name("body") is not None
    return True


def _members(node: Any, grammar: _Grammar) -> tuple[Span, ...]:
    body_type = grammar.containers.get(node.type)
    if body_type is None:
        return ()
    body = node.child_by_field_name("body")
    if body is None:
        body = next((c for c in node.named_children if c.type == body_type), None)
    if body is None:
        return ()
    members = []
    for child in body.named_children:
        if child.type in ("method_definition", "method_declaration", "constructor_declaration", "function_item", "function_definition", "template_declaration"):
            start, end = _lines(child)
            members.append(Span(start, end, grammar.member_kind, _name(child) or child.type))
    return tuple(members)


def _collect(nodes: list[Any], grammar: _Grammar, out: list[Span]) -> None:
    pending_comment: int | None = None
    previous_end = 0
    for node in nodes:
        start, end = _lines(node)
        if node.type in _COMMENTS:
            if pending_comment is None or start > previous_end + 1:
                pending_comment = start
            previous_end = end
            continue
        leading = pending_comment if pending_comment is not None and start <= previous_end + 1 else None
        pending_comment = None
        previous_end = end
        if node.type in grammar.wrappers:
            inner = [c for c in node.named_children if _is_definition(c, grammar) or c.type in grammar.wrappers]
            if node.type == "export_statement" and inner:
                child = inner[0]
                out.append(_definition(child, grammar, leading or start, end))
            else:
                body = node.child_by_field_name("body")
                _collect(list((body or node).named_children), grammar, out)
            continue
        if node.type in grammar.imports:
            last = out[-1] if out else None
            if last is not None and last.kind == "IMPORTS" and start - last.end <= 2:
                out[-1] = Span(last.start, end, "IMPORTS", "imports")
            else:
                out.append(Span(start, end, "IMPORTS", "imports"))
            continue
        if _is_definition(node, grammar):
            out.append(_definition(node, grammar, leading or start, end))


def _definition(node: Any, grammar: _Grammar, start: int, end: int) -> Span:
    target = node
    if node.type == "template_declaration":
        target = next((c for c in node.named_children if c.type in grammar.definitions), node)
    return Span(start, end, grammar.definitions.get(target.type, "FUNCTION"), _name(target) or target.type, _members(target, grammar))


def treesitter_spans(language: str, text: str) -> list[Span] | None:
    """Top-level definitions (members nested) and runs of imports; None when the grammar is missing."""
    try:
        parser = _parser(language)
    except (ImportError, OSError, ValueError):
        return None
    tree = parser.parse(text.encode("utf-8"))
    spans: list[Span] = []
    _collect(list(tree.root_node.children), GRAMMARS[language], spans)
    return spans
