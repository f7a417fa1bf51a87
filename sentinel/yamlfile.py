"""YAML loading that remembers where every value came from, so config errors can name file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Loc = tuple[str | int, ...]


class YamlSyntaxError(Exception):
    def __init__(self, path: Path, line: int | None, message: str):
        super().__init__(message)
        self.path, self.line, self.message = path, line, message


@dataclass
class LocatedYaml:
    """A parsed document plus the 1-based line of every mapping key / sequence item."""

    path: Path
    data: Any
    lines: dict[Loc, int]

    def line_of(self, loc: Loc) -> int | None:
        """Line of the longest prefix of `loc` that exists in the document."""
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.lines:
                return self.lines[loc[:n]]
        return None


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _build(node: yaml.Node, loc: Loc, lines: dict[Loc, int], loader: yaml.SafeLoader, path: Path) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                raise YamlSyntaxError(path, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            lines[loc + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, loc + (key,), lines, loader, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, loc + (i,), lines, loader, path) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load(path: Path) -> LocatedYaml:
    """Parse one YAML file; raise YamlSyntaxError with a line on malformed input or duplicate keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlSyntaxError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        data = _build(node, (), lines, loader, path) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise YamlSyntaxError(path, line, f"malformed YAML: {exc.problem or exc}") from exc
    finally:
        loader.dispose()
    return LocatedYaml(path, data, lines)


def data_path(data: Any, loc: Loc) -> tuple[Loc, str]:
    """Map a pydantic error location onto the YAML document.

    Pydantic inserts union tags and wrapper field names that are not keys of the document; they are skipped
    unless they are the last element (a missing or unknown key). Returns the document loc and its text form,
    e.g. ``datasets[0].checks[2].magnitude.sensitivity``.
    """
    kept: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and part in node:
            kept.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            kept.append(part)
            node = node[part]
        elif last:
            kept.append(part)
    text = ""
    for part in kept:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return tuple(kept), text or "(top level)"
