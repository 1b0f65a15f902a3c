"""No-op reconcile passes over many cells on the fake drivers (the planner and the loop's
own cost, without containerd), built like tests/unit/reconcile/helpers.py's Harness."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.stats import summary
from kukeon.drivers.fake import FakeCgroups, FakeNetwork, FakeRuntime
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from kukeon.model.resources import Cell, Container
from kukeon.reconcile.desired import merge
from kukeon.reconcile.execute import Drivers
from kukeon.reconcile.loop import Controller, LoopConfig
from kukeon.store import Store


class _Events:
    async def emit(self, type_: str, path: str, reason: str, message: str) -> None:
        pass


async def noop_passes(cells: int, tmp: Path, passes: int) -> dict[str, Any]:
    tmp.mkdir(parents=True, exist_ok=True)
    want = merge([("file:bench.yaml", tuple(
        Cell(path=ResourcePath.of("default", "default", "default", f"c{i}"),
             containers=(Container(name="app", image="docker.io/library/busybox:latest",
                                   command=("sleep", "1000"), root=True),))
        for i in range(cells)))])
    rt, net, cg = FakeRuntime(), FakeNetwork(), FakeCgroups()
    store = Store(tmp / "state.db")
    await store.open()
    try:
        ctl = Controller(Drivers(rt, net, cg), Naming("kbfake"), store, _Events(), lambda: want,
                         tmp / "logs", LoopConfig())
        await ctl.load()
        for _ in range(20):
            await ctl.pass_once()
            if ctl.last.actions == 0:
                break
        else:
            raise RuntimeError("fake drivers did not converge")
        writes0 = rt.calls.writes
        secs = []
        for _ in range(passes):
            t0 = time.perf_counter()
            await ctl.pass_once()
            secs.append(time.perf_counter() - t0)
            if ctl.last.actions:
                raise RuntimeError(f"no-op pass acted: {ctl.last.actions} actions")
        return {"cells": cells, "pass": summary(secs), "writes": rt.calls.writes - writes0}
    finally:
        await store.close()
