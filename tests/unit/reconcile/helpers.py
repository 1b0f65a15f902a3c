"""Small builders for planner and loop tests."""

from __future__ import annotations

from pathlib import Path

from kukeon.drivers.fake import FakeCgroups, FakeNetwork, FakeRuntime
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from kukeon.model.resources import Cell, Container, RestartPolicy
from kukeon.reconcile.desired import DesiredState, merge
from kukeon.reconcile.execute import Drivers
from kukeon.reconcile.loop import Controller, LoopConfig
from kukeon.store import Store


def cell(name: str, *containers: str, space: str = "default", **kw: object) -> Cell:
    path = ResourcePath.of("default", space, "default", name)
    policy = kw.pop("restart_policy", RestartPolicy.ALWAYS)
    env = kw.pop("env", ())
    ctrs = tuple(
        Container(
            name=c,
            image="docker.io/library/busybox:latest",
            command=("sleep", "1000"),
            restart_policy=policy,
            env=env,
            root=(i == 0),
        )  # type: ignore[arg-type]
        for i, c in enumerate(containers or ("app",))
    )
    return Cell(path=path, containers=ctrs, **kw)  # type: ignore[arg-type]


def desired(*cells: Cell, source: str = "file:test.yaml") -> DesiredState:
    return merge([(source, cells)])


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, str]] = []

    async def emit(self, type_: str, path: str, reason: str, message: str) -> None:
        self.items.append((type_, path, reason, message))


class Harness:
    def __init__(self, tmp: Path, config: LoopConfig | None = None) -> None:
        self.runtime = FakeRuntime()
        self.network = FakeNetwork()
        self.cgroups = FakeCgroups()
        self.store = Store(tmp / "state.db")
        self.events = Events()
        self.want: DesiredState = desired()
        self.controller = Controller(
            Drivers(self.runtime, self.network, self.cgroups),
            Naming("kt"),
            self.store,
            self.events,
            lambda: self.want,
            tmp / "logs",
            config or LoopConfig(backoff_base=0.01, restart_base=0.01),
        )

    async def __aenter__(self) -> Harness:
        await self.store.open()
        await self.controller.load()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.store.close()

    async def converge(self, passes: int = 10) -> int:
        """Run passes until one does nothing; returns how many ran."""
        for n in range(1, passes + 1):
            await self.controller.pass_once()
            if self.controller.last.actions == 0:
                return n
        left = [a.describe() for a in self.controller.last.plan.actions][:10]
        raise AssertionError(f"no convergence after {passes} passes; still planned: {left}")
