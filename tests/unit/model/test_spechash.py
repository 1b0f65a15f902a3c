from __future__ import annotations

from dataclasses import replace

from kukeon.model.identity import ResourcePath
from kukeon.model.resources import Cell, Container, Resources
from kukeon.model.spechash import container_fields, spec_hash

CELL = Cell(path=ResourcePath.of("default", "default", "default", "web"))
APP = Container(name="app", image="busybox", command=("sleep", "1"), env=(("B", "2"), ("A", "1")))


def test_hash_is_versioned_and_stable_under_env_order() -> None:
    h = spec_hash(APP, CELL)
    assert h.startswith("v1-")
    assert spec_hash(replace(APP, env=(("A", "1"), ("B", "2"))), CELL) == h


def test_limits_are_not_hashed_but_recreate_fields_are() -> None:
    h = spec_hash(APP, CELL)
    assert spec_hash(replace(APP, resources=Resources(memory_limit_bytes=1 << 20)), CELL) == h
    for change in (
        {"image": "other"},
        {"args": ("x",)},
        {"working_dir": "/tmp"},
        {"privileged": True},
    ):
        assert spec_hash(replace(APP, **change), CELL) != h, change  # type: ignore[arg-type]
    assert "resources" not in container_fields(APP, CELL)
