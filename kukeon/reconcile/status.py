"""Status, derived in memory from the latest observation (never trusted from disk)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kukeon.drivers.base import ObservedContainer, TaskState
from kukeon.model.identity import Kind, ResourcePath
from kukeon.model.resources import Cell, RestartPolicy
from kukeon.reconcile.desired import DesiredState
from kukeon.reconcile.plan import Observed, RestartRecord

PHASES = ("Pending", "Creating", "Ready", "Degraded", "Stopped", "Failed", "Deleting", "Unowned")


@dataclass(frozen=True)
class ContainerStatus:
    name: str
    state: str  # running | exited | created | missing | stopped
    pid: int = 0
    exit_code: int | None = None
    restart_count: int = 0
    image_digest: str = ""
    health: str = ""  # "" (no check) | starting | healthy | unhealthy
    health_output: str = ""

    @property
    def ready(self) -> bool:
        return self.state == "running" and self.health in ("", "healthy")


@dataclass(frozen=True)
class Failure:
    message: str
    permanent: bool
    attempts: int
    not_before: float


@dataclass(frozen=True)
class ResourceStatus:
    path: ResourcePath
    kind: Kind
    phase: str
    reason: str = ""
    message: str = ""
    owner: str = ""
    ip: str = ""
    containers: tuple[ContainerStatus, ...] = ()
    observed_pass: int = 0
    memory_bytes: int | None = None
    pids: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    since: float = 0.0  # when kukeond took the resource on; 0: unknown


def derive(
    desired: DesiredState,
    observed: Observed,
    *,
    failures: Mapping[ResourcePath, Failure],
    restarts: Mapping[ResourcePath, RestartRecord],
    stopped: frozenset[ResourcePath],
    managed: frozenset[ResourcePath],
    pass_no: int,
    health: Mapping[ResourcePath, tuple[str, str]] | None = None,
    waiting: Mapping[ResourcePath, str] | None = None,
    refused: Mapping[ResourcePath, str] | None = None,
    since: Mapping[str, float] | None = None,
) -> dict[ResourcePath, ResourceStatus]:
    """``health``: container path -> (status, last output); ``waiting``: cell -> why;
    ``since``: path string -> when it was first claimed."""
    health = health or {}
    since = since or {}
    waiting = waiting or {}
    containers: dict[ResourcePath, dict[str, ObservedContainer]] = {}
    for oc in observed.runtime.containers:
        assert oc.path.parent is not None
        containers.setdefault(oc.path.parent, {})[oc.path.name] = oc
    ips = {c.path: c.ip or "" for c in observed.network.cells}
    cgroups = {c.path: c for c in observed.cgroups}
    present: set[ResourcePath] = set(cgroups) | set(ips) | set(containers)
    present.update(s.path for s in observed.network.spaces)
    present.update(ResourcePath.of(r) for r in observed.runtime.namespaces)
    out: dict[ResourcePath, ResourceStatus] = {}

    def failure_of(path: ResourcePath) -> Failure | None:
        hits = [f for p, f in failures.items() if p.is_within(path)]
        return hits[0] if hits else None

    for path, res in desired.resources.items():
        fail = failure_of(path)
        owner = desired.owners.get(path, "implicit" if path in desired.implicit else "")
        cg = cgroups.get(path)
        mem, pids = (cg.memory_current, cg.pids_current) if cg else (None, None)
        if isinstance(res, Cell):
            have = containers.get(path, {})
            statuses = tuple(
                _container_status(
                    c.name,
                    have.get(c.name),
                    restarts.get(path.child(c.name)),
                    health.get(path.child(c.name), ("", "")),
                )
                for c in res.start_order()
            )
            phase, reason = _cell_phase(res, have, statuses, path in stopped, fail)
            message = fail.message if fail else ""
            if path in waiting and phase in ("Pending", "Creating"):
                phase, reason, message = "Pending", "WaitingForDependency", waiting[path]
            if refused and path in refused:
                phase, reason, message = "Failed", "PolicyViolation", refused[path]
            sick = [s for s in statuses if s.health == "unhealthy"]
            if sick and not message:
                message = f"{sick[0].name}: {sick[0].health_output}"
            out[path] = ResourceStatus(
                path,
                path.kind,
                phase,
                reason,
                message,
                owner,
                "host" if res.host_network else ips.get(path, ""),
                statuses,
                pass_no,
                memory_bytes=mem,
                pids=pids,
                labels=dict(res.labels),
                since=since.get(str(path), 0.0),
            )
        else:
            if fail:
                phase, reason = ("Failed" if fail.permanent else "Pending"), "Error"
            else:
                phase, reason = ("Ready", "") if path in present else ("Pending", "NotCreated")
            out[path] = ResourceStatus(
                path,
                path.kind,
                phase,
                reason,
                fail.message if fail else "",
                owner,
                observed_pass=pass_no,
                labels=dict(res.labels),
                memory_bytes=mem,
                pids=pids,
                since=since.get(str(path), 0.0),
            )
    for path in present - set(desired.resources):
        phase = "Deleting" if path in managed else "Unowned"
        reason = "NoLongerDeclared" if path in managed else "InNoInventory"
        out[path] = ResourceStatus(
            path, path.kind, phase, reason, observed_pass=pass_no, since=since.get(str(path), 0.0)
        )
    return out


def _container_status(
    name: str,
    oc: ObservedContainer | None,
    record: RestartRecord | None,
    health: tuple[str, str],
) -> ContainerStatus:
    count = record.count if record else 0
    if oc is None:
        return ContainerStatus(name, "missing", restart_count=count)
    state = {
        TaskState.RUNNING: "running",
        TaskState.PAUSED: "paused",
        TaskState.STOPPED: "exited",
        TaskState.CREATED: "created",
        TaskState.NONE: "stopped",
    }.get(oc.task, "unknown")
    if state != "running":
        health = ("", "")
    return ContainerStatus(name, state, oc.pid, oc.exit_code, count, oc.image_digest, *health)


def _cell_phase(
    cell: Cell,
    have: Mapping[str, ObservedContainer],
    statuses: tuple[ContainerStatus, ...],
    stopped: bool,
    fail: Failure | None,
) -> tuple[str, str]:
    running = [s for s in statuses if s.state == "running"]
    if stopped:
        return ("Stopped", "StoppedByUser") if not running else ("Deleting", "Stopping")
    if all(s.ready for s in statuses):
        return "Ready", ""
    if len(running) == len(statuses):
        if any(s.health == "unhealthy" for s in statuses):
            return "Degraded", "Unhealthy"
        return "Creating", "HealthStarting"
    for c in cell.containers:
        s = next(x for x in statuses if x.name == c.name)
        if s.state == "exited" and c.restart_policy is RestartPolicy.NEVER:
            return ("Failed", "Exited") if s.exit_code else ("Stopped", "Completed")
    if fail is not None:
        return ("Failed" if fail.permanent else "Degraded" if running else "Pending"), "Error"
    if running:
        return "Degraded", "ContainersNotRunning"
    return ("Creating", "Starting") if have else ("Pending", "NotCreated")
