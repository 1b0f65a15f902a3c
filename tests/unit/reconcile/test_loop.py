from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kukeon.drivers.base import TaskState, TransientError
from kukeon.model.identity import ResourcePath
from kukeon.model.resources import RestartPolicy
from kukeon.reconcile.loop import LoopConfig
from kukeon.reconcile.plan import Op
from tests.unit.reconcile.helpers import Harness, cell, desired

WEB = ResourcePath.of("default", "default", "default", "web")


def test_creates_a_cell_then_does_nothing(tmp_path: Path) -> None:
    async def go() -> None:
        async with Harness(tmp_path) as h:
            h.want = desired(cell("web", "app", "side"))
            await h.converge()
            assert {str(p) for p in h.runtime.containers} == {
                str(WEB.child("app")),
                str(WEB.child("side")),
            }
            assert all(c.task is TaskState.RUNNING for c in h.runtime.containers.values())
            writes = h.runtime.calls.writes + h.network.writes + h.cgroups.writes
            await h.controller.pass_once()
            assert h.controller.last.actions == 0
            assert h.runtime.calls.writes + h.network.writes + h.cgroups.writes == writes
            assert h.controller.status[WEB].phase == "Ready"
            assert h.controller.status[WEB].ip.startswith("10.")

    asyncio.run(go())


def test_env_change_recreates_only_that_container_and_names_the_field(tmp_path: Path) -> None:
    async def go() -> None:
        async with Harness(tmp_path) as h:
            h.want = desired(cell("web"), cell("db"))
            await h.converge()
            db_pid = h.runtime.containers[
                ResourcePath.of("default", "default", "default", "db", "app")
            ].pid
            h.want = desired(cell("web", env=(("A", "1"),)), cell("db"))
            plan = await h.controller.plan_for(h.want)
            assert [(a.op, str(a.path)) for a in plan.actions] == [
                (Op.DELETE_CONTAINER, str(WEB.child("app"))),
                (Op.CREATE_CONTAINER, str(WEB.child("app"))),
            ]
            assert plan.actions[0].cause == "spec changed: env"
            await h.converge()
            assert (
                h.runtime.containers[
                    ResourcePath.of("default", "default", "default", "db", "app")
                ].pid
                == db_pid
            )

    asyncio.run(go())


def test_removed_cell_is_pruned_children_first(tmp_path: Path) -> None:
    async def go() -> None:
        async with Harness(tmp_path) as h:
            h.want = desired(cell("web", space="front"))
            await h.converge()
            h.want = desired()
            await h.converge()
            assert not h.runtime.containers and not h.network.cells
            assert ResourcePath.of("default", "front") not in h.network.spaces
            assert ResourcePath.of("default", "default") in h.cgroups.groups  # default stays

    asyncio.run(go())


def test_unowned_objects_are_reported_not_deleted(tmp_path: Path) -> None:
    async def go() -> None:
        async with Harness(tmp_path) as h:
            h.want = desired(cell("web"))
            await h.converge()
        # a new daemon with an empty store sees the cell but owns nothing
        (tmp_path / "state.db").unlink()
        async with Harness(tmp_path) as h2:
            h2.runtime, h2.network, h2.cgroups = h.runtime, h.network, h.cgroups
            h2.controller.d = h2.controller.executor.d = type(h.controller.d)(
                h.runtime, h.network, h.cgroups
            )
            await h2.converge()
            assert WEB in h2.controller.last.plan.unowned
            assert h2.controller.status[WEB].phase == "Unowned"
            assert h.runtime.containers

    asyncio.run(go())


def test_restart_policy_backs_off_and_never_means_failed(tmp_path: Path) -> None:
    async def go() -> None:
        async with Harness(tmp_path) as h:
            h.want = desired(cell("web"), cell("job", restart_policy=RestartPolicy.NEVER))
            await h.converge()
            app = WEB.child("app")
            h.runtime.exit_task(app, 1)
            await h.controller.pass_once()
            assert h.runtime.containers[app].task is TaskState.RUNNING  # first restart at once
            h.runtime.exit_task(app, 1)
            await h.controller.pass_once()
            assert h.runtime.containers[app].task is TaskState.STOPPED  # backing off
            assert h.controller.last.plan.requeue_after is not None
            await asyncio.sleep(0.05)
            await h.controller.pass_once()
            assert h.runtime.containers[app].task is TaskState.RUNNING
            await h.controller.pass_once()  # status is derived from the next observation
            assert h.controller.status[WEB].containers[0].restart_count == 2
            job = ResourcePath.of("default", "default", "default", "job")
            h.runtime.exit_task(job.child("app"), 3)
            await h.converge()
            assert h.controller.status[job].phase == "Failed"

    asyncio.run(go())


def test_transient_failure_retries_with_backoff_then_converges(tmp_path: Path) -> None:
    async def go() -> None:
        async with Harness(tmp_path) as h:
            h.want = desired(cell("web"))
            h.runtime.fail_next["create_container"] = TransientError("containerd is restarting")
            await h.controller.pass_once()
            await h.controller.pass_once()
            assert not h.runtime.containers
            assert any(e[2] == "Retrying" for e in h.events.items)
            await asyncio.sleep(0.05)
            await h.converge()
            assert h.controller.status[WEB].phase == "Ready"

    asyncio.run(go())


@pytest.mark.parametrize("n", [1000])
def test_noop_pass_over_many_cells_is_fast(tmp_path: Path, n: int) -> None:
    import time

    async def go() -> float:
        async with Harness(tmp_path) as h:
            h.want = desired(*(cell(f"c{i}") for i in range(n)))
            await h.converge()
            t = time.perf_counter()
            await h.controller.pass_once()
            assert h.controller.last.actions == 0
            return time.perf_counter() - t

    elapsed = asyncio.run(go())
    print(f"no-op pass over {n} cells on fake drivers: {elapsed * 1000:.0f} ms")


def test_a_refused_cell_runs_nothing_and_says_why(tmp_path: Path) -> None:
    async def go() -> None:
        async with Harness(tmp_path) as h:
            h.want = desired(cell("web"))
            await h.converge()
            h.controller.refuse = lambda d: {WEB: "refused by the policy of git:ops: privileged"}
            await h.converge()
            await h.controller.pass_once()
            assert not h.runtime.containers
            status = h.controller.status[WEB]
            assert (status.phase, status.reason) == ("Failed", "PolicyViolation")
            assert "git:ops" in status.message

    asyncio.run(go())


def test_prune_false_annotation_keeps_a_removed_cell(tmp_path: Path) -> None:
    from dataclasses import replace as with_

    async def go() -> None:
        async with Harness(tmp_path) as h:
            kept = with_(cell("web"), annotations=(("kukeon.io/prune", "false"),))
            h.want = desired(kept, cell("db"))
            await h.converge()
            h.want = desired()
            await h.converge()
            assert WEB.child("app") in h.runtime.containers
            assert ResourcePath.of("default", "default", "default", "db", "app") not in h.runtime.containers

    asyncio.run(go())


def test_pull_policy_always_recreates_when_the_tag_moves(tmp_path: Path) -> None:
    from dataclasses import replace as with_

    from kukeon.model.resources import PullPolicy

    async def go() -> None:
        async with Harness(tmp_path, LoopConfig(resync_seconds=0.0)) as h:
            web = cell("web")
            web = with_(web, containers=(with_(web.containers[0], image_pull_policy=PullPolicy.ALWAYS),))
            h.runtime.remote[web.containers[0].image] = "sha256:" + "1" * 64
            h.want = desired(web, cell("db"))
            await h.converge()
            first = h.runtime.containers[WEB.child("app")]
            assert first.image_digest == "sha256:" + "1" * 64
            h.runtime.remote[web.containers[0].image] = "sha256:" + "2" * 64
            await h.converge()
            assert h.runtime.containers[WEB.child("app")].image_digest == "sha256:" + "2" * 64
            assert any(e[2] == "Deleted" and "image moved" in e[3] for e in h.events.items)

    asyncio.run(go())
