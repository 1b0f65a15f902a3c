"""The shipped JSON Schemas are valid Draft 2020-12 and describe their fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from kukeon.manifests import KIND_SCHEMAS, schema_dir

SCHEMAS = sorted(schema_dir().glob("*.json"))


def test_every_kind_has_a_schema_and_the_top_level_link_works() -> None:
    names = {p.name for p in SCHEMAS}
    assert set(KIND_SCHEMAS.values()) <= names
    top = Path(__file__).parents[3] / "schemas"
    assert {p.name for p in top.glob("*.json")} == names


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _objects(node: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append((where, node))
        for key, value in node.items():
            found.extend(_objects(value, f"{where}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_objects(value, f"{where}/{i}"))
    return found


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_objects_are_closed_and_markers_are_well_formed(path: Path) -> None:
    schema = json.loads(path.read_text())
    for where, obj in _objects(schema, path.name):
        assert obj.get("additionalProperties") is False, f"{where} must close its fields"


def _all_dicts(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(d for v in node.values() for d in _all_dicts(v))]
    if isinstance(node, list):
        return [d for v in node for d in _all_dicts(v)]
    return []


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_kukeon_markers_are_well_formed(path: Path) -> None:
    for node in _all_dicts(json.loads(path.read_text())):
        if "x-kukeon-extension" in node:
            assert node["x-kukeon-extension"] is True
        if "x-kukeon-unimplemented" in node:
            hint = node["x-kukeon-unimplemented"]
            assert isinstance(hint, str) and hint, "the marker is the hint shown to users"
