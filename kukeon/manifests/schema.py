"""The JSON Schemas of the kinds, and turning their findings into useful messages.

The schema files are the one source of truth for which fields exist: unknown fields are
errors because every object has ``additionalProperties: false``, and fields known
upstream but not implemented here carry ``x-kukeon-unimplemented`` (the hint to show).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from kukeon.manifests.report import did_you_mean
from kukeon.manifests.yamlpos import FieldPath

KIND_SCHEMAS = {
    "Realm": "realm.json",
    "Space": "space.json",
    "Stack": "stack.json",
    "Cell": "cell.json",
}
UNIMPLEMENTED = "x-kukeon-unimplemented"
HINT = "x-kukeon-hint"

_JSON_TYPES = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    type(None): "empty (null)",
}
_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "boolean": "a boolean (true or false)",
    "integer": "an integer",
    "number": "a number",
}


@dataclass(frozen=True)
class Finding:
    """A schema error or an unimplemented field, relative to the document root."""

    path: FieldPath
    message: str
    hint: str


def schema_dir() -> Path:
    """The directory holding the shipped schema files."""
    return Path(str(resources.files("kukeon") / "schemas"))


@functools.cache
def _registry() -> Registry[Any]:
    found = []
    for path in sorted(schema_dir().glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        found.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(found)


@functools.cache
def load_schema(kind: str) -> dict[str, Any]:
    """The schema of ``kind`` (Realm, Space, Stack, Cell), as a dict."""
    path = schema_dir() / KIND_SCHEMAS[kind]
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _inline(node: Any, resolver: Any) -> Any:
    """``node`` with every $ref replaced by its target (the schemas have no cycles).

    Resolving references while validating costs most of the validation time; done once
    here, loading a thousand cells is about twice as fast.
    """
    if isinstance(node, list):
        return [_inline(item, resolver) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        resolved = resolver.lookup(node["$ref"])
        target = _inline(resolved.contents, resolved.resolver)
        siblings = {k: _inline(v, resolver) for k, v in node.items() if k != "$ref"}
        return {k: v for k, v in {**target, **siblings}.items() if k not in ("$id", "$defs")}
    return {k: _inline(v, resolver) for k, v in node.items() if k != "$defs"}


@functools.cache
def _resolved(kind: str) -> dict[str, Any]:
    schema = load_schema(kind)
    inlined: dict[str, Any] = _inline(schema, _registry().resolver(schema["$id"]))
    return inlined


@functools.cache
def _validator(kind: str) -> Any:
    return Draft202012Validator(_resolved(kind))


def _type_word(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _expected(types: str | list[str]) -> str:
    names = [types] if isinstance(types, str) else types
    return " or ".join(_TYPE_WORDS.get(t, t) for t in names)


def _findings(error: Any) -> list[Finding]:
    path: FieldPath = tuple(error.absolute_path)
    schema, value, kind = error.schema, error.instance, error.validator
    # The nearest key name, for messages about list items such as ports[0].
    name = next((p for p in reversed(path) if isinstance(p, str)), "document")
    if kind == "additionalProperties" and isinstance(value, dict):
        known = list(schema.get("properties", {}))
        out = []
        for key in value:
            if key in known:
                continue
            guess = did_you_mean(key, known)
            hint = (
                f"did you mean {guess!r}?"
                if guess
                else f"remove it; fields allowed here: {', '.join(known)}"
            )
            out.append(Finding((*path, key), f"unknown field {key!r}", hint))
        return out
    if kind == "required":
        missing = [p for p in error.validator_value if p not in value]
        return [
            Finding(path, f"missing required field {m!r}", f"add {m!r} to {name!r}")
            for m in missing
        ]
    if kind == "type":
        hint = schema.get(HINT) or schema.get("description") or "see the schema"
        if "string" in error.validator_value and isinstance(value, int | float | bool):
            hint = f'quote the value, e.g. "{json.dumps(value)}"'
        msg = f"{name!r} must be {_expected(error.validator_value)}, not {_type_word(value)}"
        return [Finding(path, msg, hint)]
    if kind == "enum":
        choices = [str(c) for c in error.validator_value if c != ""]
        guess = did_you_mean(str(value), choices)
        hint = f"did you mean {guess!r}?" if guess else f"use one of: {', '.join(choices)}"
        return [Finding(path, f"{value!r} is not a valid {name!r}", hint)]
    if schema.get("x-kukeon-format") == "dns1123-label":
        return [
            Finding(
                path,
                f"{value!r} is not a valid name",
                "names are DNS-1123 labels: lowercase letters, digits and '-', starting and "
                "ending with a letter or digit, at most 63 characters",
            )
        ]
    hint = schema.get(HINT) or schema.get("description") or "see the schema"
    if kind == "pattern":
        return [Finding(path, f"{value!r} is not a valid {name!r} entry", hint)]
    return [Finding(path, f"{name!r}: {error.message}", hint)]


def validate(kind: str, data: Any) -> list[Finding]:
    """Every schema error of a document of ``kind``, ordered by position."""
    out: list[Finding] = []
    for error in _validator(kind).iter_errors(data):
        out.extend(_findings(error))
    return out


def unimplemented(kind: str, data: Any) -> list[Finding]:
    """Fields that are present in ``data`` and marked unimplemented in the schema."""
    out: list[Finding] = []
    _walk(data, _resolved(kind), (), out)
    return out


def _walk(data: Any, schema: dict[str, Any], path: FieldPath, out: list[Finding]) -> None:
    note = schema.get(UNIMPLEMENTED)
    if note and path:
        out.append(
            Finding(path, f"{path[-1]!r} is not implemented yet by kukeon and is ignored", note)
        )
    elif isinstance(data, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in data.items():
            sub = props.get(key, extra)
            if isinstance(sub, dict):
                _walk(value, sub, (*path, key), out)
    elif isinstance(data, list) and isinstance(schema.get("items"), dict):
        for i, value in enumerate(data):
            _walk(value, schema["items"], (*path, i), out)
