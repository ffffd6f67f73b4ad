"""The `.acolyte` YAML reader: bounded in size, depth and alias expansion, values kept with their lines."""

from __future__ import annotations

from typing import Any

import yaml

from .tree import CONFIG_FILE_NAME, Settings
from .values import ConfigProblem, Located, apply_tree, describe, plain


# A `.acolyte` is a few dozen lines. These bounds keep a hostile one (a cloned
# repository can carry anything) from costing more than a few milliseconds: YAML
# aliases let 600 bytes stand for billions of values ("billion laughs").
MAX_SETTINGS_BYTES = 64 * 1024
MAX_SETTINGS_VALUES = 2_000  # values visited, each alias use counted again (a real file has < 100)
MAX_SETTINGS_DEPTH = 32


class _TooComplex(Exception):
    """The YAML would take more than the bounds above to read."""


class _TreeBuilder:
    """Turns a composed YAML node into plain values wrapped with their positions, within bounds."""

    def __init__(self) -> None:
        self._visited = 0
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, depth: int = 0) -> Located:
        self._visited += 1
        if self._visited > MAX_SETTINGS_VALUES:
            raise _TooComplex(
                f"more than {MAX_SETTINGS_VALUES:,} values once YAML aliases are expanded; "
                "settings are read on defaults (remove the anchors and aliases)"
            )
        if depth > MAX_SETTINGS_DEPTH:
            raise _TooComplex(f"nested more than {MAX_SETTINGS_DEPTH} levels deep; settings are read on defaults")
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _TooComplex(f"line {key_node.start_mark.line + 1}: a key must be a plain name")
                key = self._scalar(key_node)
                located = self.build(value_node, depth + 1)
                # Problems point at the key's line: that is what a reader looks for.
                located.line, located.column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                result[str(key)] = located
            return Located(result, line, col)
        if isinstance(node, yaml.SequenceNode):
            return Located([self.build(v, depth + 1) for v in node.value], line, col)
        return Located(self._scalar(node), line, col)

    def _scalar(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node, deep=True)


def _flow_depth(text: str) -> int:
    """The deepest nesting of `[` and `{`, counted everywhere (quotes and comments too: an upper bound)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def parse_acolyte_yaml(text: str, source: str = CONFIG_FILE_NAME) -> tuple[Settings, list[ConfigProblem]]:
    """Parse `.acolyte` text onto the defaults; problems carry 1-based lines.

    Bounded in size, depth and alias expansion: a hostile file is reported as a
    problem and the defaults are used.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SETTINGS_BYTES:
        return Settings(), [
            ConfigProblem(
                source, "", f"too large ({size // 1024} KB; settings files hold at most {MAX_SETTINGS_BYTES // 1024} KB); "
                "settings are read on defaults"
            )
        ]
    if _flow_depth(text) > MAX_SETTINGS_DEPTH:
        # PyYAML's scanner slows down with each open bracket (tens of seconds at a few
        # thousand), so deep flow nesting is refused before it parses.
        return Settings(), [
            ConfigProblem(source, "", f"nested more than {MAX_SETTINGS_DEPTH} levels deep; settings are read on defaults")
        ]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        reason = getattr(err, "problem", None) or str(err)
        return Settings(), [ConfigProblem(source, "", f"invalid YAML: {reason}", line, column)]
    except RecursionError:
        return Settings(), [
            ConfigProblem(source, "", f"nested more than {MAX_SETTINGS_DEPTH} levels deep; settings are read on defaults")
        ]
    if node is None:
        return Settings(), []
    try:
        tree = _TreeBuilder().build(node)
    except _TooComplex as err:
        return Settings(), [ConfigProblem(source, "", str(err), node.start_mark.line + 1, node.start_mark.column + 1)]
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as err:
        # A scalar YAML cannot construct (a malformed timestamp, a huge exponent).
        return Settings(), [ConfigProblem(source, "", f"invalid value: {err}")]
    if not isinstance(tree.value, dict):
        return Settings(), [
            ConfigProblem(source, "", f"expected a mapping of sections, got {describe(plain(tree))}", tree.line, tree.column)
        ]
    return apply_tree(Settings(), tree.value, source)
