"""The level-triggered control loop.

Every pass observes the whole host, plans against the whole desired state and executes.
Events (file changes, API applies, task exits) only wake the loop early; a periodic resync
catches drift. Retry decisions live in one place (``_record``): transient failures back off
per resource, permanent ones are parked until the resource's spec changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple, Protocol

import structlog

from kukeon.drivers.base import DriverError, PermanentError
from kukeon.model.failpoints import failpoint
from kukeon.model.identity import Kind, ResourcePath
from kukeon.model.naming import Naming
from kukeon.model.resources import AnyResource, PullPolicy
from kukeon.reconcile.desired import DesiredState
from kukeon.reconcile.execute import Drivers, Executor, Outcome
from kukeon.reconcile.health import HealthMonitor, HealthState
from kukeon.reconcile.plan import Action, Observed, Op, Plan, PlanContext, RestartRecord, plan
from kukeon.reconcile.status import Failure, ResourceStatus, derive

log = structlog.get_logger("kukeon.loop")


class EventSink(Protocol):
    async def emit(self, type_: str, path: str, reason: str, message: str) -> None: ...


class Claim(NamedTuple):
    """An inventory entry: who declared the resource, whether pruning must spare it, and
    when kukeond first took it on (0: unknown)."""

    source: str
    keep: bool
    since: float


class StateStore(Protocol):
    async def inventory(self) -> dict[str, Claim]: ...
    async def set_inventory(self, entries: dict[str, tuple[str, bool]]) -> None: ...
    async def forget(self, paths: list[str]) -> None: ...
    async def restarts(self) -> dict[str, tuple[int, float, int | None]]: ...
    async def set_restart(
        self, path: str, count: int, not_before: float, last_exit: int | None
    ) -> None: ...
    async def clear_restart(self, path: str) -> None: ...
    async def stopped(self) -> set[str]: ...


@dataclass(frozen=True)
class LoopConfig:
    resync_seconds: float = 30.0
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    restart_base: float = 1.0
    restart_cap: float = 300.0
    restart_reset_seconds: float = 600.0
    concurrency: int = 8
    stop_grace_seconds: float = 10.0
    prune_unowned: bool = False


@dataclass
class _Fail:
    message: str
    permanent: bool
    attempts: int
    not_before: float
    resource: AnyResource | None  # parked while the desired resource equals this


_VERBS = {
    Op.ENSURE_NAMESPACE: "NamespaceCreated",
    Op.ENSURE_CGROUP: "CgroupEnsured",
    Op.ENSURE_SPACE_NETWORK: "NetworkCreated",
    Op.ENSURE_CELL_NETWORK: "Attached",
    Op.CREATE_CONTAINER: "Created",
    Op.START_CONTAINER: "Started",
    Op.RESTART_CONTAINER: "Restarted",
    Op.STOP_CONTAINER: "Stopped",
    Op.DELETE_CONTAINER: "Deleted",
    Op.DELETE_CELL_NETWORK: "Detached",
    Op.DELETE_CGROUP: "CgroupDeleted",
    Op.DELETE_SPACE_NETWORK: "NetworkDeleted",
    Op.DELETE_NAMESPACE: "NamespaceDeleted",
}


@dataclass
class PassInfo:
    number: int = 0
    started: float = 0.0
    seconds: float = 0.0
    actions: int = 0
    errors: int = 0
    plan: Plan = field(default_factory=Plan)


class Controller:
    def __init__(
        self,
        drivers: Drivers,
        naming: Naming,
        store: StateStore,
        events: EventSink,
        desired: Callable[[], DesiredState],
        log_dir: Path,
        config: LoopConfig = LoopConfig(),
        refuse: Callable[[DesiredState], dict[ResourcePath, str]] | None = None,
    ) -> None:
        self.d = drivers
        self.naming = naming
        self.store = store
        self.events = events
        self.desired_fn = desired
        self.refuse = refuse or (lambda _desired: {})
        self.config = config
        self.executor = Executor(
            drivers,
            naming,
            log_dir,
            concurrency=config.concurrency,
            stop_grace_seconds=config.stop_grace_seconds,
            on_action=self._on_action,
        )
        self.status: dict[ResourcePath, ResourceStatus] = {}
        self.last = PassInfo()
        self.observed: Observed | None = None
        self._wake = asyncio.Event()
        self._passed = asyncio.Condition()
        self._failures: dict[ResourcePath, _Fail] = {}
        self._restarts: dict[ResourcePath, RestartRecord] = {}
        self._stopped: frozenset[ResourcePath] = frozenset()
        self._images: dict[tuple[str, str], str] = {}  # Always images: (realm, ref) -> digest
        self._resolved: dict[tuple[str, str], float] = {}
        self._seen_problems: set[tuple[str, str]] = set()
        self.action_listeners: list[Callable[[Action], None]] = []
        self.health = HealthMonitor(drivers.runtime, self._health_changed)
        self._background: set[asyncio.Task[None]] = set()

    # -- public -------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    async def load(self) -> None:
        """Read what the store remembers (restart history, stop overrides)."""
        for p, (count, not_before, _) in (await self.store.restarts()).items():
            path = ResourcePath.parse(p)
            self._restarts[path] = RestartRecord(count, not_before)
        self._stopped = frozenset(ResourcePath.parse(p) for p in await self.store.stopped())

    @property
    def stopped(self) -> frozenset[ResourcePath]:
        return self._stopped

    def set_stopped(self, stopped: set[ResourcePath]) -> None:
        self._stopped = frozenset(stopped)

    async def run(self) -> None:
        await self.load()
        watcher = asyncio.create_task(self._watch_exits(), name="kukeon-exits")
        checks = asyncio.create_task(self.health.run(), name="kukeon-health")
        try:
            while True:
                try:
                    requeue = await self.pass_once()
                except Exception:  # a bug in one pass must not stop reconciling for good
                    log.exception("reconcile pass failed")
                    requeue = self.config.backoff_cap / 10
                timeout = self.config.resync_seconds
                if requeue is not None:
                    timeout = min(timeout, max(requeue, 0.0))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
                self._wake.clear()
        finally:
            for task in (watcher, checks):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def observe(self) -> Observed:
        runtime, network, cgroups = await asyncio.gather(
            self.d.runtime.observe(), self.d.network.observe(), self.d.cgroups.observe()
        )
        return Observed(runtime, network, cgroups, self.d.cgroups.mode)

    async def plan_for(self, desired: DesiredState, *, fresh: bool = True) -> Plan:
        """The plan a pass would run for ``desired`` (for diff and dry runs)."""
        observed = await self.observe() if fresh or self.observed is None else self.observed
        inventory = await self.store.inventory()
        return plan(desired, observed, self._context(desired, inventory, time.time()))

    # -- one pass -----------------------------------------------------------------------
    async def pass_once(self) -> float | None:
        started = time.time()
        number = self.last.number + 1
        desired = self.desired_fn()
        try:
            observed = await self.observe()
        except DriverError as err:
            await self._problem("Warning", "host", "ObserveFailed", str(err))
            await self._finish(PassInfo(number, started, time.time() - started, 0, 1))
            return self.config.backoff_base
        observed = replace(observed, images=await self._resolve_always(desired, started))
        self.observed = observed
        ips = {c.path: c.ip or "" for c in observed.network.cells}
        ips.update((c.path, "127.0.0.1") for c in desired.cells() if c.host_network)
        self.health.sync(desired.cells(), observed.runtime.containers, ips)
        inventory = await self._update_inventory(desired, observed)
        ctx = self._context(desired, inventory, started)
        self._reset_restarts(observed, started)
        the_plan = self._hold_back(plan(desired, observed, ctx), desired, started)
        self.status = derive(
            desired,
            observed,
            failures={
                p: Failure(f.message, f.permanent, f.attempts, f.not_before)
                for p, f in self._failures.items()
            },
            restarts=self._restarts,
            stopped=self._stopped,
            managed=ctx.managed,
            pass_no=number,
            health={
                p: (h.status, h.reason if h.status == "unhealthy" else h.output)
                for p, h in self.health.states.items()
            },
            waiting=dict(the_plan.waiting),
            refused=ctx.refused,
            since={p: c.since for p, c in inventory.items()},
        )
        outcomes: list[Outcome] = []
        if not the_plan.empty:
            cell_nets = {c.path: c for c in observed.network.cells}
            outcomes = await self.executor.run(the_plan, cell_nets)
            await self._record(outcomes, desired, started)
        errors = sum(1 for o in outcomes if not o.ok)
        await self._finish(
            PassInfo(number, started, time.time() - started, len(outcomes), errors, the_plan)
        )
        waits = [the_plan.requeue_after] if the_plan.requeue_after is not None else []
        waits += [f.not_before - time.time() for f in self._failures.values() if not f.permanent]
        if outcomes and errors < len(outcomes):
            waits.append(0.0)  # something changed: look again at once
        return max(min(waits), 0.0) if waits else None

    async def _finish(self, info: PassInfo) -> None:
        async with self._passed:
            self.last = info
            self._passed.notify_all()

    def _context(
        self, desired: DesiredState, inventory: dict[str, Claim], now: float
    ) -> PlanContext:
        managed = frozenset(ResourcePath.parse(p) for p in inventory)
        keep = frozenset(ResourcePath.parse(p) for p, c in inventory.items() if c.keep)
        return PlanContext(
            now=now,
            managed=managed | frozenset(desired.resources),
            keep=keep - frozenset(desired.resources),
            stopped=self._stopped,
            restarts=self._restarts,
            prune_unowned=self.config.prune_unowned,
            stop_grace_seconds=self.config.stop_grace_seconds,
            health={p: h.status for p, h in self.health.states.items()},
            health_reason={p: h.reason for p, h in self.health.states.items()},
            refused=self.refuse(desired),
        )

    async def _update_inventory(
        self, desired: DesiredState, observed: Observed
    ) -> dict[str, Claim]:
        """Record what kukeond is about to own BEFORE acting, so a crash mid-pass can
        still prune it; forget what is neither desired nor on the host any more."""
        inventory = await self.store.inventory()
        additions = {}
        now = time.time()
        for path, res in desired.resources.items():
            entry = (desired.owners.get(path, "implicit"), not res.prunable)
            claim = inventory.get(str(path))
            if claim is None or (claim.source, claim.keep) != entry:
                additions[str(path)] = entry
                inventory[str(path)] = Claim(*entry, since=claim.since if claim else now)
        if additions:
            await self.store.set_inventory(additions)
        present = _present(observed)
        gone = [
            p
            for p in inventory
            if ResourcePath.parse(p) not in desired.resources
            and ResourcePath.parse(p) not in present
        ]
        if gone:
            await self.store.forget(gone)
            for p in gone:
                inventory.pop(p, None)
                self._restarts.pop(ResourcePath.parse(p), None)
        return inventory

    def _reset_restarts(self, observed: Observed, now: float) -> None:
        window = self.config.restart_reset_seconds
        for oc in observed.runtime.containers:
            rec = self._restarts.get(oc.path)
            if rec and oc.task.value == "running" and now - rec.not_before > window:
                del self._restarts[oc.path]
                task = asyncio.get_running_loop().create_task(
                    self.store.clear_restart(str(oc.path))
                )
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    async def _resolve_always(
        self, desired: DesiredState, now: float
    ) -> dict[tuple[str, str], str]:
        """Re-resolve the tags of imagePullPolicy: Always images once per resync period
        (a pull); the plan recreates containers whose image digest moved."""
        wanted = {
            (cell.path.realm, c.image)
            for cell in desired.cells()
            for c in cell.containers
            if c.image_pull_policy is PullPolicy.ALWAYS
        }
        for key in set(self._images) - wanted:
            del self._images[key]
        due = [k for k in wanted if now - self._resolved.get(k, 0.0) >= self.config.resync_seconds]

        async def resolve(key: tuple[str, str]) -> None:
            try:
                self._images[key] = await self.d.runtime.ensure_image(*key, PullPolicy.ALWAYS)
            except DriverError as err:
                await self._problem("Warning", key[0], "PullFailed", f"{key[1]}: {err}")
            self._resolved[key] = now

        await asyncio.gather(*(resolve(k) for k in due))
        return dict(self._images)

    def _hold_back(self, p: Plan, desired: DesiredState, now: float) -> Plan:
        """Drop work for resources that are backing off or parked."""
        waits: list[float] = []

        def held(path: ResourcePath) -> bool:
            f = self._failures.get(path)
            if f is None:
                return False
            if f.permanent:
                if f.resource is not None and desired.resources.get(path) == f.resource:
                    return True
                del self._failures[path]  # the spec changed: try again
                return False
            if f.not_before > now:
                waits.append(f.not_before - now)
                return True
            return False

        planned = {a.path for a in p.before + p.after} | {path for path, _ in p.cells}
        for path in [x for x in self._failures if x not in planned]:
            del self._failures[path]  # the plan no longer needs anything there
        blocked = {path for path in list(self._failures) if held(path)}

        def waits_on(path: ResourcePath) -> bool:
            # a cell cannot be worked on while its space (or itself) is backing off
            return any(path.is_within(b) for b in blocked)

        before = tuple(a for a in p.before if not waits_on(a.path))
        cells = tuple((path, lane) for path, lane in p.cells if not waits_on(path))
        after = tuple(a for a in p.after if a.path not in blocked)
        requeue = min(
            [*waits, *([p.requeue_after] if p.requeue_after is not None else [])], default=None
        )
        return replace(p, before=before, cells=cells, after=after, requeue_after=requeue)

    # -- results ------------------------------------------------------------------------
    def _on_action(self, action: Action) -> None:
        for listener in self.action_listeners:
            listener(action)

    async def _record(self, outcomes: list[Outcome], desired: DesiredState, now: float) -> None:
        for out in outcomes:
            a = out.action
            key = a.path if a.path.kind is not Kind.CONTAINER else a.path.parent
            assert key is not None
            if out.error is None:
                self._failures.pop(key, None)
                failpoint("loop.before-event-write")
                await self.events.emit("Normal", str(a.path), _VERBS[a.op], a.cause)
                if a.op is Op.RESTART_CONTAINER or (
                    a.op is Op.START_CONTAINER and "exited" in a.cause
                ):
                    await self._count_restart(a, now)
                continue
            prev = self._failures.get(key)
            attempts = (prev.attempts if prev else 0) + 1
            permanent = isinstance(out.error, PermanentError)
            delay = min(self.config.backoff_base * 2 ** (attempts - 1), self.config.backoff_cap)
            self._failures[key] = _Fail(
                str(out.error),
                permanent,
                attempts,
                time.time() + delay,
                desired.resources.get(key),
            )
            reason = "Failed" if permanent else "Retrying"
            await self._problem("Warning", str(a.path), reason, f"{a.op.value}: {out.error}")
            log.warning(
                "action failed",
                path=str(a.path),
                op=a.op.value,
                error=str(out.error),
                permanent=permanent,
                attempts=attempts,
            )

    async def _count_restart(self, a: Action, now: float) -> None:
        prev = self._restarts.get(a.path, RestartRecord())
        count = prev.count + 1
        first = self.config.restart_base
        if a.container is not None and a.container.restart_backoff_seconds is not None:
            first = a.container.restart_backoff_seconds
        delay = min(first * 2 ** (count - 1), self.config.restart_cap)
        rec = RestartRecord(count, now + delay)
        self._restarts[a.path] = rec
        failpoint("loop.before-restart-record")
        await self.store.set_restart(str(a.path), count, rec.not_before, None)

    async def _problem(self, type_: str, path: str, reason: str, message: str) -> None:
        """One event per distinct problem, not one per retry."""
        if (path, message) in self._seen_problems:
            return
        if len(self._seen_problems) > 10_000:
            self._seen_problems.clear()
        self._seen_problems.add((path, message))
        await self.events.emit(type_, path, reason, message)

    def _health_changed(self, path: ResourcePath, state: HealthState) -> None:
        kind = "Normal" if state.status == "healthy" else "Warning"
        reason = {"healthy": "Healthy", "unhealthy": "Unhealthy"}.get(
            state.status, "HealthStarting"
        )
        message = state.reason if state.status == "unhealthy" else state.output
        task = asyncio.get_running_loop().create_task(
            self.events.emit(kind, str(path), reason, message)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        self.wake()

    async def _watch_exits(self) -> None:
        while True:
            try:
                async for ex in self.d.runtime.exits():
                    await self.events.emit(
                        "Warning" if ex.exit_code else "Normal",
                        str(ex.path),
                        "Exited",
                        f"exit code {ex.exit_code}",
                    )
                    self.wake()
            except DriverError as err:
                log.warning("event stream lost", error=str(err))
            await asyncio.sleep(1.0)


def _present(observed: Observed) -> set[ResourcePath]:
    out: set[ResourcePath] = {c.path for c in observed.cgroups}
    out.update(c.path for c in observed.network.cells)
    out.update(s.path for s in observed.network.spaces)
    out.update(ResourcePath.of(r) for r in observed.runtime.namespaces)
    for oc in observed.runtime.containers:
        out.add(oc.path)
        if oc.path.parent is not None:
            out.add(oc.path.parent)
    return out
