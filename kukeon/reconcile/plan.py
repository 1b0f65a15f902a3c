"""plan(desired, observed, context) -> Plan: pure, no I/O, no clock, no randomness.

``kuke diff``, ``kuke apply --dry-run`` and the daemon all call this one function, so what
diff shows is what runs. Every action carries the cause that requires it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from kukeon.drivers.base import (
    NetworkObservation,
    ObservedCgroup,
    ObservedContainer,
    RuntimeObservation,
    TaskState,
)
from kukeon.model.identity import Kind, ResourcePath
from kukeon.model.limits import effective
from kukeon.model.resources import (
    AnyResource,
    Cell,
    Container,
    Dependency,
    PullPolicy,
    Realm,
    Resources,
    RestartPolicy,
    Space,
)
from kukeon.model.spechash import changed_fields, container_fields, spec_hash
from kukeon.reconcile.desired import DesiredState


class Op(StrEnum):
    ENSURE_NAMESPACE = "ensure-namespace"
    ENSURE_CGROUP = "ensure-cgroup"
    ENSURE_SPACE_NETWORK = "ensure-space-network"
    ENSURE_CELL_NETWORK = "ensure-cell-network"
    CREATE_CONTAINER = "create-container"
    START_CONTAINER = "start-container"
    RESTART_CONTAINER = "restart-container"
    STOP_CONTAINER = "stop-container"
    DELETE_CONTAINER = "delete-container"
    DELETE_CELL_NETWORK = "delete-cell-network"
    DELETE_CGROUP = "delete-cgroup"
    DELETE_SPACE_NETWORK = "delete-space-network"
    DELETE_NAMESPACE = "delete-namespace"

    @property
    def is_delete(self) -> bool:
        return self.value.startswith(("delete", "stop"))


@dataclass(frozen=True)
class Action:
    op: Op
    path: ResourcePath
    cause: str
    resource: AnyResource | None = None  # the desired resource (cell for container ops)
    container: Container | None = None
    limits: Resources | None = None

    def describe(self) -> str:
        return f"{self.op.value} {self.path}: {self.cause}"


@dataclass(frozen=True)
class Plan:
    before: tuple[Action, ...] = ()  # parents created, in order, before any cell work
    cells: tuple[tuple[ResourcePath, tuple[Action, ...]], ...] = ()  # lanes run concurrently
    after: tuple[Action, ...] = ()  # parents deleted, children first
    unowned: tuple[ResourcePath, ...] = ()  # ours on the host, in no inventory: reported only
    waiting: tuple[tuple[ResourcePath, str], ...] = ()  # held back (backoff), with why
    requeue_after: float | None = None

    @property
    def actions(self) -> list[Action]:
        out = list(self.before)
        for _, lane in self.cells:
            out.extend(lane)
        out.extend(self.after)
        return out

    @property
    def empty(self) -> bool:
        return not (self.before or self.cells or self.after)


@dataclass(frozen=True)
class RestartRecord:
    count: int = 0
    not_before: float = 0.0  # unix time; no restart before it


@dataclass(frozen=True)
class Observed:
    runtime: RuntimeObservation
    network: NetworkObservation
    cgroups: tuple[ObservedCgroup, ...]
    cgroup_mode: str
    # (realm, image ref) -> digest, for images present in the realm's namespace
    images: Mapping[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanContext:
    now: float
    managed: frozenset[ResourcePath] = frozenset()  # in some inventory: may be pruned
    keep: frozenset[ResourcePath] = frozenset()  # annotated kukeon.io/prune: "false"
    stopped: frozenset[ResourcePath] = frozenset()  # stop overrides (cell or container)
    restarts: Mapping[ResourcePath, RestartRecord] = field(default_factory=dict)
    prune_unowned: bool = False
    stop_grace_seconds: float = 10.0
    # container path -> starting | healthy | unhealthy (containers with a healthCheck)
    health: Mapping[ResourcePath, str] = field(default_factory=dict)
    health_reason: Mapping[ResourcePath, str] = field(default_factory=dict)
    # cells a source's policy refuses -> why: nothing of them runs
    refused: Mapping[ResourcePath, str] = field(default_factory=dict)


def plan(desired: DesiredState, observed: Observed, ctx: PlanContext) -> Plan:
    return _Planner(desired, observed, ctx).run()


class _Planner:
    def __init__(self, desired: DesiredState, observed: Observed, ctx: PlanContext) -> None:
        self.desired = desired
        self.obs = observed
        self.ctx = ctx
        self.cgroups = {c.path: c for c in observed.cgroups}
        self.spaces = {s.path: s for s in observed.network.spaces}
        self.cell_nets = {c.path: c for c in observed.network.cells}
        self.containers: dict[ResourcePath, dict[str, ObservedContainer]] = defaultdict(dict)
        for oc in observed.runtime.containers:
            cell = oc.path.parent
            assert cell is not None
            self.containers[cell][oc.path.name] = oc
        self.waiting: list[tuple[ResourcePath, str]] = []
        self.requeue: list[float] = []
        self.unowned: list[ResourcePath] = []

    # -- top level ----------------------------------------------------------------------
    def run(self) -> Plan:
        before: list[Action] = []
        for path in sorted(self.desired.resources, key=lambda p: (len(p.segments), p)):
            res = self.desired.resources[path]
            if path.kind is not Kind.CELL:
                before.extend(self._parent(res))
        lanes: list[tuple[ResourcePath, tuple[Action, ...]]] = []
        for cell in sorted(self.desired.cells(), key=lambda c: c.path):
            lane = self._cell(cell)
            if lane:
                lanes.append((cell.path, tuple(lane)))
        gone = self._observed_cells() - set(self.desired.resources)
        for path in sorted(gone):
            if not self._may_delete(path):
                continue
            dependents = sorted(c.name for c in gone if c != path and self._depends(c, path))
            if dependents:  # reverse order: they go first, this one on a later pass
                self.waiting.append((path, "deleted after " + ", ".join(dependents)))
                continue
            lanes.append((path, tuple(self._delete_cell(path))))
        after = self._delete_parents()
        return Plan(
            before=tuple(before),
            cells=tuple(lanes),
            after=tuple(after),
            unowned=tuple(sorted(set(self.unowned))),
            waiting=tuple(self.waiting),
            requeue_after=min(self.requeue) if self.requeue else None,
        )

    def _may_delete(self, path: ResourcePath) -> bool:
        if path in self.ctx.keep:
            return False
        if path in self.ctx.managed or self.ctx.prune_unowned:
            return True
        self.unowned.append(path)
        return False

    # -- parents ------------------------------------------------------------------------
    def _parent(self, res: AnyResource) -> list[Action]:
        path = res.path
        out: list[Action] = []
        if isinstance(res, Realm) and path.realm not in self.obs.runtime.namespaces:
            out.append(Action(Op.ENSURE_NAMESPACE, path, "namespace missing", res))
        limits = res.resources if isinstance(res, Space) else Resources()
        out.extend(self._cgroup(path, limits, res))
        if isinstance(res, Space):
            have = self.spaces.get(path)
            if have is None:
                out.append(Action(Op.ENSURE_SPACE_NETWORK, path, "network missing", res))
            elif res.subnet and have.subnet != res.subnet:
                cause = f"subnet changed: {have.subnet} -> {res.subnet}"
                out.append(Action(Op.ENSURE_SPACE_NETWORK, path, cause, res))
        return out

    def _cgroup(self, path: ResourcePath, limits: Resources, res: AnyResource) -> list[Action]:
        have = self.cgroups.get(path)
        if have is None:
            return [Action(Op.ENSURE_CGROUP, path, "cgroup missing", res, limits=limits)]
        want = effective(limits, self.obs.cgroup_mode)
        if have.limits != want:
            fields = [
                name
                for name in ("memory_limit_bytes", "cpu_shares", "cpu_millis", "pids_limit")
                if getattr(have.limits, name) != getattr(want, name)
            ]
            cause = "limits differ: " + ", ".join(fields)
            return [Action(Op.ENSURE_CGROUP, path, cause, res, limits=limits)]
        return []

    def _delete_parents(self) -> list[Action]:
        observed: set[ResourcePath] = set()
        observed.update(p for p in self.cgroups if p.kind in (Kind.REALM, Kind.SPACE, Kind.STACK))
        observed.update(self.spaces)
        observed.update(ResourcePath.of(r) for r in self.obs.runtime.namespaces)
        gone = sorted(
            (p for p in observed - set(self.desired.resources) if self._may_delete(p)),
            key=lambda p: (-len(p.segments), p),
        )
        out: list[Action] = []
        for path in gone:
            if path.kind is Kind.SPACE and path in self.spaces:
                out.append(Action(Op.DELETE_SPACE_NETWORK, path, "no longer declared"))
            if path in self.cgroups:
                out.append(Action(Op.DELETE_CGROUP, path, "no longer declared"))
            if path.kind is Kind.REALM and path.realm in self.obs.runtime.namespaces:
                out.append(Action(Op.DELETE_NAMESPACE, path, "no longer declared"))
        return out

    # -- cells --------------------------------------------------------------------------
    def _observed_cells(self) -> set[ResourcePath]:
        cells = set(self.containers)
        cells.update(self.cell_nets)
        cells.update(p for p in self.cgroups if p.kind is Kind.CELL)
        return cells

    def _cell(self, cell: Cell) -> list[Action]:
        if cell.path in self.ctx.refused:
            have = self.containers.get(cell.path, {})
            why = self.ctx.refused[cell.path]
            return [Action(Op.DELETE_CONTAINER, cell.path.child(n), why) for n in sorted(have)]
        out = self._cgroup(cell.path, cell.resources, cell)
        net = self.cell_nets.get(cell.path)
        have = self.containers.get(cell.path, {})
        if not cell.host_network and (net is None or net.ip is None):
            cause = "network namespace missing" if net is None else "not attached to its space"
            out.append(Action(Op.ENSURE_CELL_NETWORK, cell.path, cause, cell))
        cell_stopped = cell.path in self.ctx.stopped
        for name in sorted(set(have) - {c.name for c in cell.containers}):
            out.append(Action(Op.DELETE_CONTAINER, cell.path.child(name), "no longer declared"))
        unmet = [d.describe() for d in cell.depends_on if not self._met(d)]
        if unmet:
            self.waiting.append((cell.path, "waiting for " + ", ".join(unmet)))
        for container in cell.start_order():
            path = cell.path.child(container.name)
            stopped = cell_stopped or path in self.ctx.stopped
            actions = self._container(cell, container, have.get(container.name), stopped)
            if unmet:  # nothing starts before its dependencies; stopping still happens
                actions = [a for a in actions if a.op.is_delete]
            out.extend(actions)
        if cell.host_network and net is not None:
            # last in the cell's lane: containers still in the namespace are deleted first
            out.append(Action(Op.DELETE_CELL_NETWORK, cell.path, "moved to the host network"))
        return out

    def _met(self, dep: Dependency) -> bool:
        want = self.desired.resources.get(dep.cell)
        if not isinstance(want, Cell):
            return False
        have = self.containers.get(dep.cell, {})
        for c in want.containers:
            oc = have.get(c.name)
            if oc is None or oc.task is not TaskState.RUNNING:
                return False
            checked = dep.condition == "healthy" and c.health_check is not None
            if checked and self.ctx.health.get(dep.cell.child(c.name)) != "healthy":
                return False
        return True

    def _container(
        self, cell: Cell, c: Container, oc: ObservedContainer | None, stopped: bool
    ) -> list[Action]:
        path = cell.path.child(c.name)
        if oc is None:
            if stopped:
                return []
            return [Action(Op.CREATE_CONTAINER, path, "not on the host", cell, c)]
        reason = self._recreate_reason(cell, c, oc)
        if reason:
            delete = Action(Op.DELETE_CONTAINER, path, reason, cell, c)
            if stopped:
                return [delete]
            return [delete, Action(Op.CREATE_CONTAINER, path, reason, cell, c)]
        if stopped:
            if oc.task in (TaskState.RUNNING, TaskState.CREATED, TaskState.PAUSED):
                return [Action(Op.STOP_CONTAINER, path, "stopped by kuke stop", cell, c)]
            return []
        if oc.task is TaskState.RUNNING and self.ctx.health.get(path) == "unhealthy":
            return self._restart(path, cell, c, oc, unhealthy=True)
        if oc.task in (TaskState.RUNNING, TaskState.PAUSED):
            return []
        if oc.task in (TaskState.NONE, TaskState.CREATED, TaskState.UNKNOWN):
            return [Action(Op.START_CONTAINER, path, f"task {oc.task.value}", cell, c)]
        return self._restart(path, cell, c, oc)

    def _recreate_reason(self, cell: Cell, c: Container, oc: ObservedContainer) -> str:
        if oc.spec_hash != spec_hash(c, cell):
            if oc.spec_fields is not None:
                changed = changed_fields(dict(oc.spec_fields), container_fields(c, cell))
                if changed:
                    return "spec changed: " + ", ".join(changed)
            return "spec changed"
        if c.image_pull_policy is PullPolicy.ALWAYS:
            current = self.obs.images.get((cell.path.realm, c.image))
            if current and current != oc.image_digest:
                return f"image moved: {oc.image_digest[:19]} -> {current[:19]}"
        return ""

    def _restart(
        self,
        path: ResourcePath,
        cell: Cell,
        c: Container,
        oc: ObservedContainer,
        *,
        unhealthy: bool = False,
    ) -> list[Action]:
        code = oc.exit_code if oc.exit_code is not None else -1
        record = self.ctx.restarts.get(path, RestartRecord())
        policy = c.restart_policy
        if policy is RestartPolicy.NEVER or (
            policy is RestartPolicy.ON_FAILURE and code == 0 and not unhealthy
        ):
            return []
        if c.restart_max_retries is not None and record.count >= c.restart_max_retries:
            self.waiting.append((path, f"gave up after {record.count} restarts"))
            return []
        if record.not_before > self.ctx.now:
            wait = record.not_before - self.ctx.now
            self.waiting.append((path, f"restart in {wait:.1f}s (back-off)"))
            self.requeue.append(wait)
            return []
        if unhealthy:
            cause = self.ctx.health_reason.get(path, "health check failed")
            return [Action(Op.RESTART_CONTAINER, path, f"unhealthy: {cause}", cell, c)]
        cause = f"exited with code {code}; restartPolicy {policy.value}"
        return [Action(Op.START_CONTAINER, path, cause, cell, c)]

    def _depends(self, cell: ResourcePath, on: ResourcePath) -> bool:
        """Whether containers of ``cell`` still on the host were created depending on ``on``."""
        return any(on in oc.depends_on for oc in self.containers.get(cell, {}).values())

    def _delete_cell(self, path: ResourcePath) -> list[Action]:
        have = self.containers.get(path, {})
        # The root container is stopped last; without the desired cell we only know names,
        # so the containers go in reverse name order with any "root" last.
        names = sorted(have, key=lambda n: (n == "root", n), reverse=False)
        out = [Action(Op.DELETE_CONTAINER, path.child(n), "no longer declared") for n in names]
        if path in self.cell_nets:
            out.append(Action(Op.DELETE_CELL_NETWORK, path, "no longer declared"))
        if path in self.cgroups:
            out.append(Action(Op.DELETE_CGROUP, path, "no longer declared"))
        return out
