"""Safe YAML (and JSON) parsing that remembers the line of every value.

PyYAML's constructors lose positions, so documents are composed into nodes (with the C
parser when available) and turned into plain data here, recording ``path -> line``.
Only the standard scalar/collection tags are accepted, and alias expansion is capped,
so a hostile file (``!!python/object``, a billion-laughs alias bomb) is refused fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_BYTES = 4 * 1024 * 1024
MAX_ALIAS_EXPANSION = 100_000  # nodes re-visited through aliases, per input
# Composed nodes cost ~500 bytes each: a 4 MiB flood of tiny values would take ~0.5 GB and
# seconds, so the events are counted (streaming, constant memory) before composing.
MAX_EVENTS = 200_000

FieldPath = tuple[str | int, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_T = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_T + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_MAP, _SEQ, _MERGE = _T + "map", _T + "seq", _T + "merge"
_constructor = yaml.constructor.SafeConstructor()


class ParseProblem(Exception):
    """Why (part of) an input could not be read."""

    def __init__(
        self, message: str, *, line: int | None, path: FieldPath = (), hint: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.path = path
        self.hint = hint


@dataclass
class Document:
    """One document: plain data, and the line of every key / list item in it."""

    data: Any
    line: int
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int:
        """Line of ``path``, or of its nearest ancestor that has one."""
        while path:
            found = self.lines.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return self.line


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Builder:
    """Turns composed nodes into plain data, with limits."""

    def __init__(self) -> None:
        self.expanded = 0  # across documents: the cap is per input

    def document(self, root: yaml.Node) -> Document:
        self.visits = 0
        self.seen: set[int] = set()
        self.active: set[int] = set()
        doc = Document(data=None, line=_line(root))
        self.lines = doc.lines
        doc.data = self.build(root, ())
        self.expanded += self.visits - len(self.seen)
        return doc

    def build(self, node: yaml.Node, path: FieldPath) -> Any:
        self.visits += 1
        self.seen.add(id(node))
        if self.expanded + self.visits - len(self.seen) > MAX_ALIAS_EXPANSION:
            raise ParseProblem(
                f"aliases expand to more than {MAX_ALIAS_EXPANSION} values",
                line=_line(node),
                path=path,
                hint="this looks like an alias bomb; write the values out instead of aliases",
            )
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            raise ParseProblem(
                "an alias refers to the collection that contains it",
                line=_line(node),
                path=path,
                hint="recursive structures cannot be manifests; remove the alias",
            )
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
                out: list[Any] = []
                for i, item in enumerate(node.value):
                    self.lines.setdefault((*path, i), _line(item))
                    out.append(self.build(item, (*path, i)))
                return out
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
                return self.mapping(node, path)
            raise self.bad_tag(node, path)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.update(self.merge_source(value_node, path))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise ParseProblem(
                    "a mapping key must be a plain value",
                    line=_line(key_node),
                    path=path,
                    hint="use a string key",
                )
            self.scalar(key_node, path)  # refuses odd tags on keys too
            key = str(key_node.value)
            if key in out:
                raise ParseProblem(
                    f"duplicate key {key!r}",
                    line=_line(key_node),
                    path=(*path, key),
                    hint=f"remove one of the two {key!r} entries (first on line "
                    f"{self.lines.get((*path, key))})",
                )
            self.lines[(*path, key)] = _line(key_node)
            out[key] = self.build(value_node, (*path, key))
        # Explicit keys win over merged ones (YAML merge-key semantics).
        return {**merged, **out} if merged else out

    def merge_source(self, node: yaml.Node, path: FieldPath) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for src in reversed(sources):  # earlier sources win
            value = self.build(src, path)
            if not isinstance(value, dict):
                raise ParseProblem(
                    "a merge key (<<) needs a mapping or a list of mappings",
                    line=_line(src),
                    path=path,
                    hint="merge only mappings",
                )
            merged.update(value)
        return merged

    def scalar(self, node: yaml.ScalarNode, path: FieldPath) -> Any:
        tag = node.tag
        if tag not in _SCALAR_TAGS:
            raise self.bad_tag(node, path)
        if tag == _T + "str" or tag == _T + "timestamp":
            return node.value  # a date stays the text that was written
        if tag == _T + "null":
            return None
        if tag == _T + "bool":
            return _constructor.construct_yaml_bool(node)
        if tag == _T + "int":
            return _constructor.construct_yaml_int(node)
        return _constructor.construct_yaml_float(node)

    @staticmethod
    def bad_tag(node: yaml.Node, path: FieldPath) -> ParseProblem:
        return ParseProblem(
            f"YAML tag {node.tag!r} is not allowed",
            line=_line(node),
            path=path,
            hint="manifests use plain YAML: remove the tag",
        )


def _yaml_problem(exc: yaml.YAMLError, text: str) -> ParseProblem:
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML refuses: no mark
        return ParseProblem(
            f"invalid YAML: {exc.reason} (character "
            + (f"U+{exc.character:04X})" if isinstance(exc.character, int) else "in bytes)"),
            line=text.count("\n", 0, exc.position) + 1,
            hint="remove it, or write it as an escape in a double-quoted string",
        )
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return ParseProblem(
        text,
        line=int(mark.line) + 1 if mark is not None else None,
        hint="fix the syntax; indent with spaces, not tabs",
    )


def _json_documents(text: str) -> Document:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseProblem(
            f"invalid JSON: {exc.msg}", line=exc.lineno, hint="fix the syntax"
        ) from None
    except RecursionError:
        raise ParseProblem("JSON nested too deeply", line=1, hint="flatten the document") from None
    return Document(data=data, line=1)


def _count_events(text: str) -> None:
    """Refuse a text of more than MAX_EVENTS YAML events; syntax errors are left to parse."""
    try:
        for n, event in enumerate(yaml.parse(text, Loader=_Loader)):
            if n >= MAX_EVENTS:
                mark = event.start_mark
                raise ParseProblem(
                    f"more than {MAX_EVENTS} YAML values in one input",
                    line=int(mark.line) + 1 if mark is not None else None,
                    hint="split it into several files",
                )
    except yaml.YAMLError:
        return


def parse(text: str) -> Iterator[Document]:
    """Yield the documents of ``text``; raises ParseProblem where reading stops."""
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ParseProblem(
            f"input is larger than {MAX_BYTES // (1024 * 1024)} MiB",
            line=None,
            hint="split it into several files",
        )
    if 2 * len(text) > MAX_EVENTS:  # YAML holds at most ~2 events per character
        _count_events(text)
    builder = _Builder()
    read = 0
    try:
        for root in yaml.compose_all(text, Loader=_Loader):
            if root is not None:
                read += 1
                yield builder.document(root)
    except yaml.YAMLError as exc:
        # JSON is YAML, except for a few spellings (tabs) PyYAML rejects: retry as JSON
        # when nothing was read yet.
        if text.lstrip()[:1] in ("{", "[") and read == 0:
            yield _json_documents(text)
            return
        raise _yaml_problem(exc, text) from None
    except RecursionError:
        raise ParseProblem(
            "YAML nested too deeply", line=None, hint="flatten the document"
        ) from None
