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


# libyaml's parser and composer where PyYAML was built with it (a fresh run's config parses ~5x faster); the node
# graph, its marks and the error classes are the same, values are still built by _Builder below. A malformed file
# is parsed again by PyYAML's own parser, whose messages say more ("found character '\t' that cannot start ...").
# libyaml accepts a tab as separating white space where PyYAML's parser refuses it (`a:\t1`): same values.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


MAX_ALIAS_NODES = 10_000  # values aliases may re-expand, in total per file (a config needs a few dozen)


class _Builder:
    """Builds plain data from the composed node graph, recording lines. PyYAML composes an alias as the same
    node object, so a node met again is an alias being expanded: those repeats are counted against
    MAX_ALIAS_NODES (a 446-byte "billion laughs" file would otherwise expand to 10^9 nodes), and a node met
    inside itself (``&a [*a]``) is an error instead of a RecursionError."""

    def __init__(self, loader: yaml.SafeLoader, path: Path):
        self.loader, self.path = loader, path
        self.lines: dict[Loc, int] = {}
        self.seen: set[int] = set()
        self.open: set[int] = set()
        self.repeats = 0
        self.alias_line = 0

    def build(self, node: yaml.Node, loc: Loc, repeat: bool = False) -> Any:
        line = node.start_mark.line + 1
        self.lines.setdefault(loc, line)
        if not isinstance(node, yaml.ScalarNode):
            if id(node) in self.open:
                raise YamlSyntaxError(self.path, line, "an alias refers to the collection that contains it")
            if not repeat and id(node) in self.seen:  # an alias: name the line that uses it, not the anchor's
                repeat, self.alias_line = True, self.lines[loc if isinstance(loc[-1], str) else loc[:-1]]
            self.seen.add(id(node))
        if repeat:
            self.repeats += 1
            if self.repeats > MAX_ALIAS_NODES:
                too_many = f"aliases expand to more than {MAX_ALIAS_NODES:,} values; write them out"
                raise YamlSyntaxError(self.path, self.alias_line, too_many)
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node, deep=True)
        self.open.add(id(node))
        try:
            return self._collection(node, loc, repeat)
        finally:
            self.open.discard(id(node))

    def _collection(self, node: yaml.Node, loc: Loc, repeat: bool) -> Any:
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, loc + (i,), repeat) for i, item in enumerate(node.value)]
        self.loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlSyntaxError(self.path, key_node.start_mark.line + 1, "a key must be a plain value")
            key = self.loader.construct_object(key_node, deep=True)
            if key in out:
                raise YamlSyntaxError(self.path, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            self.lines[loc + (key,)] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, loc + (key,), repeat)
        return out


def load(path: Path) -> LocatedYaml:
    """Parse one YAML file; raise YamlSyntaxError with a line on malformed input (control characters and
    bytes that are not UTF-8 included), duplicate keys, or aliases that expand without bound."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise YamlSyntaxError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise YamlSyntaxError(path, line, f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})") from None
    try:
        return _load(path, text, _FAST_LOADER)
    except YamlSyntaxError as exc:
        if _FAST_LOADER is yaml.SafeLoader or not isinstance(exc.__cause__, yaml.MarkedYAMLError):
            raise  # what the Builder found (duplicate key, aliases, nesting) PyYAML's parser would only repeat
        return _load(path, text, yaml.SafeLoader)


def _load(path: Path, text: str, loader_class: type) -> LocatedYaml:
    try:
        loader = loader_class(text)  # PyYAML's reader checks every character here, libyaml's while parsing
    except yaml.reader.ReaderError as exc:
        raise _unacceptable(path, text, exc) from exc
    try:
        node = loader.get_single_node()
        builder = _Builder(loader, path)
        data = builder.build(node, ()) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise YamlSyntaxError(path, line, f"malformed YAML: {exc.problem or exc}") from exc
    except yaml.reader.ReaderError as exc:
        raise _unacceptable(path, text, exc) from exc
    except RecursionError:
        raise YamlSyntaxError(path, None, "nested too deeply") from None
    finally:
        loader.dispose()
    return LocatedYaml(path, data, builder.lines)


def _unacceptable(path: Path, text: str, exc: yaml.reader.ReaderError) -> YamlSyntaxError:
    """A character YAML does not allow (a control character, U+FFFE): located by its position, not a mark."""
    line = text.count("\n", 0, exc.position) + 1
    return YamlSyntaxError(path, line, f"malformed YAML: unacceptable character #x{exc.character:04x}")


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
