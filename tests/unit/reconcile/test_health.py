"""Health checks and dependsOn through the real loop, on fake drivers."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from pathlib import Path

from kukeon.model.identity import ResourcePath
from kukeon.model.resources import Dependency, HealthCheck
from tests.unit.reconcile.helpers import Harness, cell, desired

DB = ResourcePath.of("default", "default", "default", "db")
WEB = ResourcePath.of("default", "default", "default", "web")
FAST = HealthCheck("exec", command=("check",), interval_seconds=0.01, failure_threshold=3)


def checked(name: str, check: HealthCheck = FAST, **kw: object):  # type: ignore[no-untyped-def]
    c = cell(name, **kw)
    return replace(c, containers=(replace(c.containers[0], health_check=check),))


async def settle(h: Harness, until: object, passes: int = 200) -> None:
    for _ in range(passes):
        await h.controller.pass_once()
        if until():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(
        f"not settled; plan: {[a.describe() for a in h.controller.last.plan.actions]}"
    )


def test_dependent_cell_waits_until_its_dependency_is_healthy(tmp_path: Path) -> None:
    async def go() -> None:
        async with Harness(tmp_path) as h:
            monitor = asyncio.create_task(h.controller.health.run())
            try:
                h.runtime.exec_results[DB.child("app")] = (1, "not yet")
                web = replace(cell("web"), depends_on=(Dependency(DB, "healthy"),))
                h.want = desired(checked("db"), web)
                await settle(h, lambda: DB.child("app") in h.runtime.containers)
                for _ in range(5):
                    await h.controller.pass_once()
                    await asyncio.sleep(0.01)
                assert WEB.child("app") not in h.runtime.containers
                assert (WEB, "waiting for db (healthy)") in h.controller.last.plan.waiting
                assert h.controller.status[WEB].reason == "WaitingForDependency"
                h.runtime.exec_results[DB.child("app")] = (0, "ok")
                await settle(h, lambda: WEB.child("app") in h.runtime.containers)
                await settle(h, lambda: h.controller.status[DB].phase == "Ready")
                assert h.controller.status[DB].containers[0].health == "healthy"
            finally:
                monitor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await monitor

    asyncio.run(go())


def test_unhealthy_container_is_restarted_with_the_reason_in_events(tmp_path: Path) -> None:
    async def go() -> None:
        async with Harness(tmp_path) as h:
            monitor = asyncio.create_task(h.controller.health.run())
            try:
                app = WEB.child("app")
                h.want = desired(checked("web"))
                h.runtime.exec_results[app] = (0, "fine")
                await settle(
                    h,
                    lambda: (
                        h.controller.status.get(WEB) and h.controller.status[WEB].phase == "Ready"
                    ),
                )
                first_pid = h.runtime.containers[app].pid
                h.runtime.exec_results[app] = (1, "connection refused")
                await settle(h, lambda: any(e[2] == "Restarted" for e in h.events.items))
                unhealthy = [e for e in h.events.items if e[2] == "Unhealthy"]
                assert (
                    unhealthy
                    and "health check failed 3 times: connection refused" in unhealthy[0][3]
                )
                restarted = next(e for e in h.events.items if e[2] == "Restarted")
                assert restarted[3].startswith("unhealthy: health check failed 3 times")
                assert h.controller._restarts[app].count == 1
                assert first_pid  # the fake keeps pids; the runtime saw stop + start
            finally:
                monitor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await monitor

    asyncio.run(go())


def test_checks_share_one_scheduler_and_stop_for_gone_containers(tmp_path: Path) -> None:
    async def go() -> None:
        async with Harness(tmp_path) as h:
            h.want = desired(*(checked(f"c{i}") for i in range(50)))
            await h.converge()
            await h.controller.pass_once()
            assert len(h.controller.health.states) == 50
            h.want = desired()
            await h.converge()
            await h.controller.pass_once()
            assert not h.controller.health.states

    asyncio.run(go())


def test_cells_are_deleted_in_reverse_dependency_order(tmp_path: Path) -> None:
    async def go() -> None:
        async with Harness(tmp_path) as h:
            web = replace(cell("web"), depends_on=(Dependency(DB, "started"),))
            h.want = desired(cell("db"), web)
            await h.converge()
            h.want = desired()
            await h.controller.pass_once()
            assert WEB.child("app") not in h.runtime.containers
            assert DB.child("app") in h.runtime.containers  # waits for its dependent
            assert (DB, "deleted after web") in h.controller.last.plan.waiting
            await h.converge()
            assert not h.runtime.containers

    asyncio.run(go())
