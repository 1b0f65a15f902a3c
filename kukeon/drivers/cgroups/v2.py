"""cgroup v2 backend, for hosts in "unified" mode.

Controllers (cpu, memory, pids) are enabled in ``cgroup.subtree_control`` from the root
down to the parent of each cgroup we ensure, so the cgroup has the limit files. A cell's
own subtree_control is left to runc, which enables it when it creates the container
leaves (v2 forbids processes in a cgroup that delegates controllers, so we must not
enable it while the cell could hold a process).
"""

from __future__ import annotations

import os

from kukeon.drivers.base import ObservedCgroup, PermanentError, TransientError
from kukeon.drivers.cgroups.mounts import Mounts
from kukeon.drivers.cgroups.tree import CgroupTree, read, read_int
from kukeon.model.failpoints import failpoint
from kukeon.model.identity import ResourcePath
from kukeon.model.limits import (
    CPU_PERIOD_US,
    PAGE,
    millis_to_quota,
    shares_to_weight,
    weight_to_shares,
)
from kukeon.model.naming import Naming
from kukeon.model.resources import Resources

CONTROLLERS = ("cpu", "memory", "pids")
DEFAULT_WEIGHT = 100


class V2Cgroups(CgroupTree):
    def __init__(self, naming: Naming, mounts: Mounts) -> None:
        super().__init__(naming, mounts)
        assert mounts.unified is not None
        self._root = mounts.unified

    @property
    def mode(self) -> str:
        return "unified"

    @property
    def managed(self) -> list[str]:
        return [self._root]

    # -- ensure ---------------------------------------------------------------------
    def _ensure(self, path: ResourcePath, limits: Resources) -> None:
        available = set((read(os.path.join(self._root, "cgroup.controllers")) or "").split())
        needed = {
            "memory": limits.memory_limit_bytes is not None,
            "cpu": limits.cpu_millis is not None or limits.cpu_shares is not None,
            "pids": limits.pids_limit is not None,
        }
        for controller, need in needed.items():
            if need and controller not in available:
                raise PermanentError(
                    f"cannot limit cgroup {self.naming.cgroup(path)}: the {controller}"
                    " controller is not available in the cgroup v2 hierarchy",
                    hint=f"enable {controller} in the kernel/boot options or drop the limit",
                )
        enable = [c for c in CONTROLLERS if c in available]
        self._delegate(self._root, enable)
        for directory in [self._dir(self._root), *map(self._cgroup, path.ancestors())]:
            self._mkdir(directory)
            self._delegate(directory, enable)
        target = self._cgroup(path)
        self._mkdir(target)
        failpoint("cgroups.after-create", TransientError)
        if "memory" in enable:
            file = os.path.join(target, "memory.max")
            memory = limits.memory_limit_bytes
            if read_int(file) != (None if memory is None else (memory // PAGE) * PAGE):
                self._write(file, "max" if memory is None else str(memory))
        if "cpu" in enable:
            self._ensure_cpu(target, limits)
        if "pids" in enable:
            file = os.path.join(target, "pids.max")
            if read_int(file) != limits.pids_limit:
                self._write(file, "max" if limits.pids_limit is None else str(limits.pids_limit))

    def _ensure_cpu(self, target: str, limits: Resources) -> None:
        file = os.path.join(target, "cpu.max")
        quota, period = _cpu_max(read(file))
        if limits.cpu_millis is None:
            if quota is not None:
                self._write(file, "max")
        elif (quota, period) != (millis_to_quota(limits.cpu_millis), CPU_PERIOD_US):
            self._write(file, f"{millis_to_quota(limits.cpu_millis)} {CPU_PERIOD_US}")
        file = os.path.join(target, "cpu.weight")
        weight = (
            DEFAULT_WEIGHT if limits.cpu_shares is None else shares_to_weight(limits.cpu_shares)
        )
        if read_int(file) != weight:
            self._write(file, str(weight))

    def _cgroup(self, path: ResourcePath) -> str:
        return self._dir(self._root, path)

    def _delegate(self, directory: str, controllers: list[str]) -> None:
        file = os.path.join(directory, "cgroup.subtree_control")
        enabled = set((read(file) or "").split())
        missing = [c for c in controllers if c not in enabled]
        if missing:
            self._write(file, " ".join("+" + c for c in missing))

    # -- observe --------------------------------------------------------------------
    def _observe_one(self, path: ResourcePath) -> ObservedCgroup:
        directory = self._cgroup(path)

        def get(name: str) -> str | None:
            return read(os.path.join(directory, name))

        quota, period = _cpu_max(get("cpu.max"))
        weight = read_int(os.path.join(directory, "cpu.weight"))
        limits = Resources(
            memory_limit_bytes=read_int(os.path.join(directory, "memory.max")),
            cpu_shares=None if weight in (None, DEFAULT_WEIGHT) else weight_to_shares(weight),
            cpu_millis=None if quota is None or not period else quota * 1000 // period,
            pids_limit=read_int(os.path.join(directory, "pids.max")),
        )
        events = _keyed(get("cgroup.events"))
        usage = _keyed(get("cpu.stat")).get("usage_usec")
        return ObservedCgroup(
            path=path,
            limits=limits,
            populated=events.get("populated", 0) > 0,  # counts the whole subtree
            memory_current=read_int(os.path.join(directory, "memory.current")),
            pids_current=read_int(os.path.join(directory, "pids.current")),
            cpu_usage_usec=usage,
        )


def _cpu_max(text: str | None) -> tuple[int | None, int | None]:
    """``"max 100000"`` or ``"50000 100000"`` -> (quota or None, period)."""
    if not text:
        return None, None
    quota, _, period = text.partition(" ")
    return (None if quota == "max" else int(quota)), (int(period) if period else None)


def _keyed(text: str | None) -> dict[str, int]:
    """A flat-keyed file (``cgroup.events``, ``cpu.stat``) as a dict."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out
