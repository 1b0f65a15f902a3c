"""Runs a Plan through the drivers: parents in order, cells concurrently (bounded),
then parent deletions children first. Each outcome is returned, never raised, so the
loop decides about retries in one place."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from kukeon.drivers.base import (
    Cgroups,
    ContainerRequest,
    DriverError,
    Network,
    ObservedCellNetwork,
    Runtime,
    SpaceNetwork,
    TransientError,
    host_etc_files,
)
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from kukeon.model.resources import Cell, Realm, Resources, Space
from kukeon.model.spechash import container_fields, spec_hash
from kukeon.reconcile.plan import Action, Op, Plan


@dataclass(frozen=True)
class Outcome:
    action: Action
    error: DriverError | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Drivers:
    runtime: Runtime
    network: Network
    cgroups: Cgroups


class Executor:
    def __init__(
        self,
        drivers: Drivers,
        naming: Naming,
        log_dir: Path,
        *,
        concurrency: int = 8,
        stop_grace_seconds: float = 10.0,
        on_action: Callable[[Action], None] | None = None,
    ) -> None:
        self.d = drivers
        self.naming = naming
        self.log_dir = log_dir
        self.stop_grace_seconds = stop_grace_seconds
        self._sem = asyncio.Semaphore(concurrency)
        self._on_action = on_action
        self.cell_nets: dict[ResourcePath, ObservedCellNetwork] = {}

    async def run(
        self, plan: Plan, cell_nets: dict[ResourcePath, ObservedCellNetwork]
    ) -> list[Outcome]:
        self.cell_nets = dict(cell_nets)
        outcomes: list[Outcome] = []
        failed: list[ResourcePath] = []
        for action in plan.before:
            if any(action.path.is_within(f) for f in failed):
                continue
            out = await self._one(action)
            outcomes.append(out)
            if not out.ok:
                failed.append(action.path)
        lanes = [lane for path, lane in plan.cells if not any(path.is_within(f) for f in failed)]
        for lane_out in await asyncio.gather(*(self._lane(lane) for lane in lanes)):
            outcomes.extend(lane_out)
        for action in plan.after:
            outcomes.append(await self._one(action))
        return outcomes

    async def _lane(self, lane: tuple[Action, ...]) -> list[Outcome]:
        out: list[Outcome] = []
        async with self._sem:
            for action in lane:
                result = await self._one(action)
                out.append(result)
                if not result.ok:
                    break  # the rest of a cell's work depends on this step
        return out

    async def _one(self, action: Action) -> Outcome:
        if self._on_action is not None:
            self._on_action(action)
        start = time.monotonic()
        try:
            await self._dispatch(action)
        except DriverError as err:
            return Outcome(action, err, time.monotonic() - start)
        except (OSError, ValueError, RuntimeError) as err:  # a driver bug must not kill the loop
            wrapped = TransientError(f"{type(err).__name__}: {err}")
            return Outcome(action, wrapped, time.monotonic() - start)
        return Outcome(action, None, time.monotonic() - start)

    async def _dispatch(self, a: Action) -> None:
        handler = self._handlers[a.op]
        await handler(self, a)

    # -- handlers -----------------------------------------------------------------------
    async def _ensure_namespace(self, a: Action) -> None:
        realm = a.resource if isinstance(a.resource, Realm) else None
        ns = (realm.namespace if realm else None) or self.naming.namespace(a.path.realm)
        await self.d.runtime.ensure_namespace(a.path.realm, ns)

    async def _ensure_cgroup(self, a: Action) -> None:
        await self.d.cgroups.ensure(a.path, a.limits or Resources())

    async def _ensure_space_network(self, a: Action) -> None:
        assert isinstance(a.resource, Space)
        space = a.resource
        await self.d.network.ensure_space(SpaceNetwork(space.path, space.subnet, space.egress))

    async def _ensure_cell_network(self, a: Action) -> None:
        assert isinstance(a.resource, Cell)
        self.cell_nets[a.path] = await self.d.network.ensure_cell(a.resource)

    async def _create_container(self, a: Action) -> None:
        cell, container = a.resource, a.container
        assert isinstance(cell, Cell) and container is not None
        if cell.host_network:
            netns_path, etc_files = "", host_etc_files()
        else:
            net = self.cell_nets.get(cell.path)
            if net is None or net.ip is None or not net.etc_files:
                net = self.cell_nets[cell.path] = await self.d.network.ensure_cell(cell)
            netns_path, etc_files = net.netns_path, dict(net.etc_files)
        digest = await self.d.runtime.ensure_image(
            cell.path.realm, container.image, container.image_pull_policy
        )
        log = self.log_dir.joinpath(*a.path.segments).with_suffix(".log")
        await self.d.runtime.create_container(
            ContainerRequest(
                path=a.path,
                cell=cell,
                container=container,
                spec_hash=spec_hash(container, cell),
                image_digest=digest,
                netns_path=netns_path,
                cgroup_parent=self.naming.cgroup(cell.path),
                etc_files=etc_files,
                log_path=str(log),
                spec_fields=container_fields(container, cell),
            )
        )

    async def _start_container(self, a: Action) -> None:
        await self.d.runtime.start_container(a.path)

    async def _restart_container(self, a: Action) -> None:
        await self.d.runtime.stop_container(a.path, self.stop_grace_seconds)
        await self.d.runtime.start_container(a.path)

    async def _stop_container(self, a: Action) -> None:
        await self.d.runtime.stop_container(a.path, self.stop_grace_seconds)

    async def _delete_container(self, a: Action) -> None:
        await self.d.runtime.stop_container(a.path, self.stop_grace_seconds)
        await self.d.runtime.delete_container(a.path)

    async def _delete_cell_network(self, a: Action) -> None:
        await self.d.network.delete_cell(a.path)

    async def _delete_cgroup(self, a: Action) -> None:
        await self.d.cgroups.delete(a.path)

    async def _delete_space_network(self, a: Action) -> None:
        await self.d.network.delete_space(a.path)

    async def _delete_namespace(self, a: Action) -> None:
        await self.d.runtime.delete_namespace(a.path.realm, self.naming.namespace(a.path.realm))

    _handlers: dict[Op, Callable[[Executor, Action], Awaitable[None]]] = {
        Op.ENSURE_NAMESPACE: _ensure_namespace,
        Op.ENSURE_CGROUP: _ensure_cgroup,
        Op.ENSURE_SPACE_NETWORK: _ensure_space_network,
        Op.ENSURE_CELL_NETWORK: _ensure_cell_network,
        Op.CREATE_CONTAINER: _create_container,
        Op.START_CONTAINER: _start_container,
        Op.RESTART_CONTAINER: _restart_container,
        Op.STOP_CONTAINER: _stop_container,
        Op.DELETE_CONTAINER: _delete_container,
        Op.DELETE_CELL_NETWORK: _delete_cell_network,
        Op.DELETE_CGROUP: _delete_cgroup,
        Op.DELETE_SPACE_NETWORK: _delete_space_network,
        Op.DELETE_NAMESPACE: _delete_namespace,
    }
