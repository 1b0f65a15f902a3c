"""The one service layer behind every transport (gRPC API, Web UI): it maps requests to
sources, the controller and the runtime. Errors are domain errors; transports map them."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from kukeon import __version__
from kukeon.daemon.config import DaemonConfig
from kukeon.daemon.events import EventLog
from kukeon.daemon.gitsync import GitSpec, GitSyncer, GitView, Tracked
from kukeon.daemon.sources import API, FILE_PREFIX, Sources
from kukeon.drivers.base import PullProgress
from kukeon.drivers.cgroups.mounts import read_mounts
from kukeon.drivers.containerd.runtime import ContainerdRuntime
from kukeon.manifests import load_text
from kukeon.model.deps import describe_cycle, find_cycle
from kukeon.model.errors import KukeonError, Location, ManifestError, ManifestErrors
from kukeon.model.identity import Kind, ResourcePath, is_valid_name
from kukeon.model.resources import AnyResource
from kukeon.reconcile.loop import Controller
from kukeon.reconcile.plan import Plan
from kukeon.reconcile.status import ResourceStatus
from kukeon.store.db import Event, Store

MAX_EVENT_PREFIX = 1024
CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap", "firewall")


class NotFound(KukeonError):
    pass


class Refused(KukeonError):
    """The request is valid but conflicts with how the resource is owned."""


@dataclass(frozen=True)
class ApplyResult:
    applied: list[str]
    unchanged: list[str]
    pruned: list[str]
    warnings: list[ManifestError]
    plan: Plan
    pass_number: int


@dataclass(frozen=True)
class ResourceView:
    status: ResourceStatus
    resource: AnyResource | None
    stopped: bool


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


class Service:
    def __init__(
        self,
        cfg: DaemonConfig,
        controller: Controller,
        sources: Sources,
        store: Store,
        events: EventLog,
        runtime: ContainerdRuntime,
        containerd_socket: str,
        *,
        git: GitSyncer | None = None,
    ) -> None:
        self.cfg = cfg
        self.controller = controller
        self.sources = sources
        self.store = store
        self.events = events
        self.runtime = runtime
        self.containerd_socket = containerd_socket
        self.git = git

    # -- desired state ------------------------------------------------------------------
    def _load(
        self, documents: Sequence[tuple[str, str]]
    ) -> tuple[list[AnyResource], list[ManifestError]]:
        resources: list[AnyResource] = []
        warnings: list[ManifestError] = []
        errors: list[ManifestError] = []
        for name, content in documents:
            result = load_text(content, name or "-")
            resources.extend(result.resources)
            warnings.extend(result.warnings)
            errors.extend(result.errors)
        if errors:
            raise ManifestErrors(errors)
        return resources, warnings

    def _refuse_foreign(self, resources: Sequence[AnyResource]) -> None:
        desired = self.sources.desired()
        for res in resources:
            owner = desired.owners.get(res.path)
            if owner and owner != API:
                raise Refused(
                    f"{res.kind.value} {res.path} is owned by {owner}",
                    hint=_change_at(owner, "edit"),
                )

    async def apply(
        self, documents: Sequence[tuple[str, str]], *, dry_run: bool, prune_set: str = ""
    ) -> ApplyResult:
        resources, warnings = self._load(documents)
        self._refuse_foreign(resources)
        if prune_set:
            label = ("kukeon.io/prune-set", prune_set)
            resources = [replace(r, labels=(*r.labels, label)) for r in resources]
        applying = {r.path for r in resources}
        stale = [
            p
            for p, r in self.sources.api.items()
            if prune_set and ("kukeon.io/prune-set", prune_set) in r.labels and p not in applying
        ]
        candidate = self.sources.with_api(resources)
        cycle = find_cycle(candidate.cells())
        if cycle is not None:
            raise ManifestErrors(
                [
                    ManifestError(
                        Location(documents[0][0] if documents else "-", None, "spec.dependsOn"),
                        "dependsOn forms a cycle with cells already declared: "
                        + describe_cycle(cycle),
                        hint="remove one of the dependencies; nothing of this input is applied",
                    )
                ]
            )
        if dry_run:
            plan = await self.controller.plan_for(candidate, fresh=True)
            same = [str(r.path) for r in resources if self.sources.api.get(r.path) == r]
            changed = [str(r.path) for r in resources if str(r.path) not in same]
            return ApplyResult(
                changed, same, [str(p) for p in stale], warnings, plan, self.controller.last.number
            )
        changed, same = await self.sources.apply_api(resources)
        pruned = await self.sources.delete_api(stale) if stale else []
        await self.store.add_history(API, _revision(documents), f"applied {len(changed)}")
        number = self.controller.last.number
        plan = await self.controller.plan_for(self.sources.desired(), fresh=False)
        self.controller.wake()
        return ApplyResult(changed, same, pruned, warnings, plan, number)

    async def diff(self, documents: Sequence[tuple[str, str]]) -> tuple[Plan, list[ManifestError]]:
        resources, warnings = self._load(documents)
        desired = self.sources.with_api(resources) if resources else self.sources.desired()
        return await self.controller.plan_for(desired, fresh=True), warnings

    async def delete(
        self, paths: Sequence[str], documents: Sequence[tuple[str, str]]
    ) -> tuple[list[str], int]:
        targets = [self._path(p) for p in paths]
        if documents:
            resources, _ = self._load(documents)
            targets.extend(r.path for r in resources)
        desired = self.sources.desired()
        for path in targets:
            owner = desired.owners.get(path)
            if owner is None and path in desired.implicit:
                raise Refused(
                    f"{path} exists because other resources reference it",
                    hint="it goes by itself once nothing references it",
                )
            if owner is None and path not in self.sources.api:
                raise NotFound(f"{path} is not declared by any source")
            if owner and owner != API:
                raise Refused(
                    f"{path} is owned by {owner}",
                    hint=_change_at(owner, "delete"),
                )
        deleted = await self.sources.delete_api(targets)
        number = self.controller.last.number
        self.controller.wake()
        return deleted, number

    async def prune(self, *, unowned: bool, dry_run: bool, confirm_empty: bool) -> list[str]:
        if confirm_empty and not dry_run:
            await self.sources.confirm_empty()
        paths = [str(p) for p in self.controller.last.plan.unowned] if unowned else []
        if unowned and not dry_run:
            inventory = {p: ("unowned-pruned", False) for p in paths}
            await self.store.set_inventory(inventory)  # owned by nobody: the next pass prunes
        self.controller.wake()
        return paths

    # -- reading ------------------------------------------------------------------------
    def _path(self, text: str) -> ResourcePath:
        try:
            return ResourcePath.parse(text)
        except ValueError as err:
            raise KukeonError(
                f"{text!r} is not a resource path: {err}",
                hint="write realm/space/stack/cell, e.g. default/default/default/web",
            ) from err

    def resources(self, kind: str = "", prefix: str = "") -> list[ResourceView]:
        desired = self.sources.desired().resources
        stopped = set(self.controller.stopped)
        out = []
        for path, status in sorted(self.controller.status.items()):
            if kind and status.kind.value.lower() != kind.lower():
                continue
            if prefix and not str(path).startswith(prefix):
                continue
            out.append(ResourceView(status, desired.get(path), path in stopped))
        return out

    def event_stream(
        self, *, after_id: int, prefix: str, limit: int, follow: bool
    ) -> AsyncIterator[Event]:
        """Events after ``after_id`` of ``prefix`` (a resource path, git:NAME, host) and of
        what is below it. The store matches the prefix with LIKE, where ``%`` and ``_`` are
        wildcards, a pattern ends at a NUL and one over 50,000 bytes is an error: such a
        prefix is refused."""
        if len(prefix) > MAX_EVENT_PREFIX or any(c in prefix for c in "%_\x00"):
            raise KukeonError(
                f"{prefix[:80]!r} is not a resource path or a source name",
                hint="e.g. default/default/default/web, or git:NAME",
            )
        return self.events.stream(after_id=after_id, prefix=prefix, limit=limit, follow=follow)

    def get(self, path_text: str) -> ResourceView:
        path = self._path(path_text)
        status = self.controller.status.get(path)
        if status is None:
            raise NotFound(f"{path} not found", hint="kuke get all lists what exists")
        return ResourceView(
            status, self.sources.desired().resources.get(path), path in self.controller.stopped
        )

    # -- imperative verbs ---------------------------------------------------------------
    def _cell(self, text: str) -> ResourcePath:
        path = self._path(text)
        if path.kind not in (Kind.CELL, Kind.CONTAINER):
            raise KukeonError(f"{path} is a {path.kind.value}; start/stop/restart take a cell")
        if path not in self.controller.status and path.parent not in self.controller.status:
            raise NotFound(f"{path} not found")
        return path

    async def set_stopped(self, text: str, stopped: bool) -> tuple[list[str], int]:
        path = self._cell(text)
        await self.store.set_stopped(str(path), stopped)
        current = set(self.controller.stopped)
        (current.add if stopped else current.discard)(path)
        self.controller.set_stopped(current)
        self.controller.wake()
        return [str(path)], self.controller.last.number

    async def restart(self, text: str) -> tuple[list[str], int]:
        path = self._cell(text)
        targets = []
        status = self.controller.status.get(path)
        if status is not None and status.kind is Kind.CELL:
            targets = [path.child(c.name) for c in status.containers]
        else:
            targets = [path]
        for t in targets:
            await self.runtime.stop_container(t, self.cfg.stop_grace_seconds)
        self.controller.wake()
        return [str(t) for t in targets], self.controller.last.number

    # -- logs ---------------------------------------------------------------------------
    def log_path(self, cell: str, container: str) -> Path:
        path = self._path(cell)
        if path.kind is not Kind.CELL:
            raise KukeonError(f"{path} is not a cell")
        status = self.controller.status.get(path)
        if not container:
            res = self.sources.desired().resources.get(path)
            if res is None or not hasattr(res, "root_container"):
                raise NotFound(f"cell {path} not found")
            container = res.root_container.name
        elif status is None:
            raise NotFound(f"cell {path} not found")
        if not is_valid_name(container):  # it becomes a file name: no "/", "..", NUL
            raise KukeonError(
                f"{container!r} is not a container name", hint="kuke get cell lists them"
            )
        return self.cfg.log_dir.joinpath(*path.segments, container + ".log")

    async def logs(
        self, cell: str, container: str, *, follow: bool, tail: int
    ) -> AsyncIterator[bytes]:
        log = self.log_path(cell, container)
        if not log.exists() and not follow:
            return
        pos = 0
        if log.exists() and tail > 0:
            data = log.read_bytes()
            lines = data.splitlines(keepends=True)
            chunk = b"".join(lines[-tail:])
            pos = len(data)
            yield chunk
        while True:
            try:
                size = log.stat().st_size
            except FileNotFoundError:
                size = 0
            if size < pos:  # rotated
                pos = 0
            if size > pos:
                with log.open("rb") as f:
                    f.seek(pos)
                    data = f.read(size - pos)
                pos = size
                yield data
            elif not follow:
                return
            else:
                await asyncio.sleep(0.25)

    # -- images -------------------------------------------------------------------------
    def _namespace(self, realm: str) -> str:
        """The containerd namespace of ``realm`` (empty: default); refuses what is not a
        realm name, as it would name another namespace or be refused by containerd."""
        realm = realm or "default"
        if not is_valid_name(realm):
            raise KukeonError(f"{realm!r} is not a realm name", hint="kuke get realms lists them")
        return self.cfg.naming.namespace(realm)

    async def pull(self, ref: str, realm: str, progress: Callable[[PullProgress], None]) -> str:
        image = await self.runtime.pull(self._namespace(realm), ref, progress=progress)
        self.controller.wake()
        return image.digest

    async def import_archive(self, realm: str, data: IO[bytes]) -> list[tuple[str, str, int]]:
        ns = self._namespace(realm)
        await self.runtime.ensure_namespace(realm or "default", ns)
        images = await self.runtime.import_archive(ns, data)
        self.controller.wake()
        return [(i.name, i.digest, i.size) for i in images]

    async def images(self, realm: str) -> list[tuple[str, str, int]]:
        ns = self._namespace(realm)
        return [(i.name, i.digest, i.size) for i in await self.runtime.list_images(ns)]

    async def remove_image(self, ref: str, realm: str) -> None:
        await self.runtime.remove_image(self._namespace(realm), ref)

    # -- git sources --------------------------------------------------------------------
    def _git(self) -> GitSyncer:
        if self.git is None:
            raise KukeonError("this kukeond does not follow git sources")
        return self.git

    def _git_source(self, name: str) -> Tracked:
        t = self._git().get(name)
        if t is None:
            raise NotFound(f"no git source named {name!r}", hint="kuke git ls lists them")
        return t

    async def git_add(self, spec: GitSpec, *, wait: bool, timeout: float) -> GitView:
        git = self._git()
        existing = git.get(spec.name)
        if existing is not None and existing.spec.origin != "api":
            raise Refused(
                f"git source {spec.name!r} is defined in kukeond's config file",
                hint="change it there, or choose another name",
            )
        t = await git.add(spec)
        if wait:
            t = await git.sync(spec.name, timeout)
        return await git.view(t)

    async def git_list(self) -> list[GitView]:
        git = self._git()
        return [await git.view(t, history=False) for _, t in sorted(git.tracked.items())]

    async def git_remove(self, name: str) -> int:
        t = self._git_source(name)
        if t.spec.origin != "api":
            raise Refused(
                f"git source {name!r} is defined in kukeond's config file",
                hint="remove it there and restart kukeond",
            )
        number = self.controller.last.number
        await self._git().remove(name)
        return number

    async def git_sync(self, name: str, timeout: float) -> GitView:
        self._git_source(name)
        return await self._git().view(await self._git().sync(name, timeout))

    async def git_status(self, name: str) -> GitView:
        return await self._git().view(self._git_source(name))

    # -- doctor -------------------------------------------------------------------------
    async def doctor(self) -> list[Check]:
        checks: list[Check] = []
        try:
            version = await self.runtime.version()
            checks.append(Check("containerd", True, f"{version} at {self.containerd_socket}"))
        except KukeonError as err:
            checks.append(
                Check(
                    "containerd",
                    False,
                    str(err),
                    "apt-get install containerd, or let kukeond start its own",
                )
            )
        runc = shutil.which("runc")
        checks.append(Check("runc", runc is not None, runc or "not found", "apt-get install runc"))
        for plugin in CNI_PLUGINS:
            found = next((d / plugin for d in self.cfg.cni_bin_dirs if (d / plugin).exists()), None)
            checks.append(
                Check(
                    f"cni:{plugin}",
                    found is not None,
                    str(found or "not found"),
                    "apt-get install containernetworking-plugins",
                )
            )
        ipt = shutil.which("iptables")
        checks.append(
            Check("iptables", ipt is not None, ipt or "not found", "apt-get install iptables")
        )
        mode = self.controller.d.cgroups.mode
        try:
            controllers = read_mounts(Path("/proc/self/mountinfo")).controllers()
        except (OSError, ValueError):
            controllers = []
        wanted = {"cpu", "memory", "pids"}
        missing = sorted(wanted - set(controllers))
        detail = f"{'unified v2' if mode == 'unified' else mode} mode, controllers: "
        checks.append(
            Check(
                "cgroups",
                not missing,
                detail + (" ".join(controllers) or "none"),
                f"enable the {', '.join(missing)} controller(s)" if missing else "",
            )
        )
        mode_bits = self.cfg.socket.stat().st_mode & 0o777 if self.cfg.socket.exists() else 0
        checks.append(
            Check(
                "socket",
                mode_bits & 0o002 == 0,
                f"{self.cfg.socket} mode {mode_bits:o}",
                f"chmod 660 {self.cfg.socket}",
            )
        )
        checks.append(
            Check("root", os.geteuid() == 0, f"euid {os.geteuid()}", "run kukeond as root")
        )
        if self.store.recovered:
            fix = "what ran before shows as unowned until it is applied again"
            checks.append(Check("store", False, self.store.recovered, fix))
        for src in self.sources.statuses():
            if src.error:
                checks.append(Check(f"source:{src.name}", False, src.error, "fix the manifest"))
        return checks

    def version(self) -> str:
        return __version__


def _change_at(owner: str, verb: str) -> str:
    """Where to make a change to a resource another source owns."""
    if owner.startswith("git:"):
        return f"{verb} it in the repository {owner} follows, and push"
    return f"{verb} {owner.removeprefix(FILE_PREFIX)} instead"


def _revision(documents: Sequence[tuple[str, str]]) -> str:
    import hashlib

    h = hashlib.sha256()
    for name, content in documents:
        h.update(name.encode() + b"\0" + content.encode() + b"\0")
    return h.hexdigest()[:12]
