"""Validation against the official Kubernetes 1.37 schemas (a vendored subset, see k8s/)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

SCHEMAS = Path(__file__).parent / "k8s" / "kubernetes-1.37-strict.json"


@cache
def _validators() -> dict[str, Any]:
    doc = json.loads(SCHEMAS.read_text())
    registry = Registry().with_resource(doc["$id"], Resource.from_contents(doc))
    return {
        kind: jsonschema.Draft202012Validator(schema, registry=registry)
        for kind, schema in doc["kinds"].items()
    }


def problems(obj: dict[str, Any]) -> list[str]:
    """Why ``obj`` is not a valid Kubernetes object; empty when it is."""
    validator = _validators().get(obj.get("kind", ""))
    if validator is None:
        return [f"no schema for kind {obj.get('kind')!r}"]
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)
    ]
