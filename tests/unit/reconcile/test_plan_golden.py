"""plan() golden cases: desired manifests + an observed host -> the exact plan.

Each YAML file in golden/ holds ``desired`` (manifest text), ``observed``, ``context`` and
the expected ``plan`` (one "op path: cause" line per action, in order). A container's
``hash: current`` means "created from the desired spec"; anything else is a stale hash.
Regenerate the expected plans with KUKEON_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from kukeon.drivers.base import (
    NetworkObservation,
    ObservedCellNetwork,
    ObservedCgroup,
    ObservedContainer,
    ObservedSpaceNetwork,
    RuntimeObservation,
    TaskState,
)
from kukeon.manifests import load_text
from kukeon.model.identity import ResourcePath
from kukeon.model.resources import Cell, Resources
from kukeon.model.spechash import container_fields, spec_hash
from kukeon.reconcile.desired import merge
from kukeon.reconcile.plan import Observed, PlanContext, RestartRecord, plan

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*.yaml"))


def _observed(raw: dict[str, Any], cells: dict[ResourcePath, Cell]) -> Observed:
    containers = []
    for c in raw.get("containers", []):
        path = ResourcePath.parse(c["path"])
        cell = cells.get(path.parent)  # type: ignore[arg-type]
        ctr = cell.container(path.name) if cell else None
        current = c.get("hash", "current") == "current" and cell is not None and ctr is not None
        fields = container_fields(ctr, cell) if ctr and cell else None
        if fields is not None and not current and "stale_field" in c:
            fields = {**fields, c["stale_field"]: "old"}
        containers.append(ObservedContainer(
            path=path, container_id=str(path),
            spec_hash=spec_hash(ctr, cell) if current and ctr and cell else "v1-stale",
            image_digest="sha256:aa", task=TaskState(c.get("task", "running")),
            exit_code=c.get("exit"), spec_fields=fields,
        ))  # fmt: skip
    limits = {
        ResourcePath.parse(p): Resources(**(v or {})) for p, v in (raw.get("cgroups") or {}).items()
    }
    return Observed(
        runtime=RuntimeObservation(frozenset(raw.get("namespaces", [])), tuple(containers)),
        network=NetworkObservation(
            tuple(
                ObservedSpaceNetwork(ResourcePath.parse(p), "kk-x", s)
                for p, s in (raw.get("spaces") or {}).items()
            ),
            tuple(
                ObservedCellNetwork(ResourcePath.parse(p), f"/run/netns/{i}", ip)
                for i, (p, ip) in enumerate((raw.get("cells") or {}).items())
            ),
        ),
        cgroups=tuple(ObservedCgroup(p, lim, populated=False) for p, lim in limits.items()),
        cgroup_mode=raw.get("mode", "unified"),
    )


def _run(case: dict[str, Any]) -> list[str]:
    result = load_text(case.get("desired", ""), "desired.yaml")
    assert result.ok, result.errors
    desired = merge([("file:desired.yaml", result.resources)])
    cells = {c.path: c for c in desired.cells()}
    ctx_raw = case.get("context") or {}
    ctx = PlanContext(
        now=float(ctx_raw.get("now", 1000.0)),
        managed=frozenset(ResourcePath.parse(p) for p in ctx_raw.get("managed", [])),
        keep=frozenset(ResourcePath.parse(p) for p in ctx_raw.get("keep", [])),
        stopped=frozenset(ResourcePath.parse(p) for p in ctx_raw.get("stopped", [])),
        restarts={
            ResourcePath.parse(p): RestartRecord(**r)
            for p, r in (ctx_raw.get("restarts") or {}).items()
        },
        prune_unowned=bool(ctx_raw.get("prune_unowned", False)),
    )
    p = plan(desired, _observed(case.get("observed") or {}, cells), ctx)
    lines = [f"{a.op.value} {a.path}: {a.cause}" for a in p.actions]
    lines += [f"unowned {u}" for u in p.unowned]
    lines += [f"waiting {w}: {why}" for w, why in p.waiting]
    return lines


@pytest.mark.parametrize("path", CASES, ids=[c.stem for c in CASES])
def test_golden_plan(path: Path) -> None:
    case = yaml.safe_load(path.read_text())
    got = _run(case)
    if os.environ.get("KUKEON_UPDATE_GOLDEN"):
        case["plan"] = got
        path.write_text(yaml.safe_dump(case, sort_keys=False, width=100))
    assert got == case["plan"]
    assert _run(case) == got  # deterministic


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 8
