"""cgroup v1 backend, for hosts in "legacy" or "hybrid" mode.

Our tree lives in the hierarchies of the controllers we limit or read (memory, cpu,
cpuacct, pids). Other hierarchies (cpuset, devices, freezer, ...) are left to runc, which
creates a container's path in every mounted hierarchy and copies cpuset.cpus/mems itself;
delete() clears our subtree from all of them.
"""

from __future__ import annotations

import errno
import os

from kukeon.drivers.base import ObservedCgroup, PermanentError, TransientError
from kukeon.drivers.cgroups.mounts import Mounts
from kukeon.drivers.cgroups.tree import CgroupTree, read, read_int
from kukeon.model.failpoints import failpoint
from kukeon.model.identity import ResourcePath
from kukeon.model.limits import CPU_PERIOD_US, PAGE, millis_to_quota
from kukeon.model.naming import Naming
from kukeon.model.resources import Resources

MANAGED = ("memory", "cpu", "cpuacct", "pids")
DEFAULT_SHARES = 1024
# memory.limit_in_bytes reads PAGE_COUNTER_MAX pages (9223372036854771712) when unlimited.
UNLIMITED_MEMORY = 2**62


class V1Cgroups(CgroupTree):
    def __init__(self, naming: Naming, mounts: Mounts) -> None:
        super().__init__(naming, mounts)
        self._points = {c: mounts.v1[c] for c in MANAGED if c in mounts.v1}
        self._managed = list(dict.fromkeys(self._points.values()))

    @property
    def mode(self) -> str:
        return self.mounts.mode

    @property
    def managed(self) -> list[str]:
        return self._managed

    def _file(self, controller: str, path: ResourcePath, name: str) -> str | None:
        point = self._points.get(controller)
        return os.path.join(self._dir(point, path), name) if point else None

    def _need(self, controller: str, path: ResourcePath, name: str) -> str:
        file = self._file(controller, path, name)
        if file is None:
            raise PermanentError(
                f"cannot limit cgroup {self.naming.cgroup(path)}: the {controller} controller"
                " is not mounted on this host",
                hint=f"mount the cgroup v1 {controller} hierarchy or drop the limit",
            )
        return file

    # -- ensure ---------------------------------------------------------------------
    def _ensure(self, path: ResourcePath, limits: Resources) -> None:
        for point in self._managed:
            self._mkdir(self._dir(point, path))
        failpoint("cgroups.after-create", TransientError)
        self._ensure_memory(path, limits.memory_limit_bytes)
        self._ensure_cpu(path, limits)
        self._ensure_pids(path, limits.pids_limit)

    def _ensure_memory(self, path: ResourcePath, limit: int | None) -> None:
        if limit is None and "memory" not in self._points:
            return
        file = self._need("memory", path, "memory.limit_in_bytes")
        current = _memory(read_int(file))
        if limit is None:
            if current is not None:
                self._write(file, "-1")
        elif current != (limit // PAGE) * PAGE:
            self._write(file, str(limit))

    def _ensure_cpu(self, path: ResourcePath, limits: Resources) -> None:
        wanted = limits.cpu_millis is not None or limits.cpu_shares is not None
        if not wanted and "cpu" not in self._points:
            return
        quota_file = self._need("cpu", path, "cpu.cfs_quota_us")
        period_file = self._need("cpu", path, "cpu.cfs_period_us")
        shares_file = self._need("cpu", path, "cpu.shares")
        quota = read_int(quota_file)
        if limits.cpu_millis is None:
            if quota != -1:
                self._write(quota_file, "-1")
        else:
            # The period goes first: the kernel checks quota against it.
            if read_int(period_file) != CPU_PERIOD_US:
                self._write(period_file, str(CPU_PERIOD_US))
            target = millis_to_quota(limits.cpu_millis)
            if quota != target:
                self._lower_below(os.path.dirname(quota_file), target)
                try:
                    self._write(quota_file, str(target))
                except OSError as exc:
                    if exc.errno != errno.EINVAL or target < 1000:
                        raise
                    raise PermanentError(
                        f"cpu limit {limits.cpu_millis}m of {path} is above its parent's:"
                        " cgroup v1 cannot nest a larger cpu quota in a smaller one",
                        hint="lower this cpu limit or raise the parent's",
                    ) from exc
        shares = DEFAULT_SHARES if limits.cpu_shares is None else limits.cpu_shares
        shares = max(2, min(shares, 262144))  # the kernel clamps the same way
        if read_int(shares_file) != shares:
            self._write(shares_file, str(shares))

    def _lower_below(self, directory: str, quota: int) -> None:
        """v1 refuses a parent's cpu quota below a child's: lower the subtree's larger
        quotas to this one first, deepest first (each level's own ensure then sets its
        value, at most this)."""
        for root, _dirs, _files in os.walk(directory, topdown=False):
            if root == directory:
                continue
            child_quota = read_int(os.path.join(root, "cpu.cfs_quota_us"))
            period = read_int(os.path.join(root, "cpu.cfs_period_us")) or CPU_PERIOD_US
            allowed = quota * period // CPU_PERIOD_US
            if child_quota is not None and child_quota > allowed:
                self._write(os.path.join(root, "cpu.cfs_quota_us"), str(allowed))

    def _ensure_pids(self, path: ResourcePath, limit: int | None) -> None:
        if limit is None and "pids" not in self._points:
            return
        file = self._need("pids", path, "pids.max")
        if read_int(file) != limit:
            self._write(file, "max" if limit is None else str(limit))

    # -- observe --------------------------------------------------------------------
    def _observe_one(self, path: ResourcePath) -> ObservedCgroup:
        def get(controller: str, name: str) -> int | None:
            file = self._file(controller, path, name)
            return read_int(file) if file else None

        quota, period = get("cpu", "cpu.cfs_quota_us"), get("cpu", "cpu.cfs_period_us")
        shares = get("cpu", "cpu.shares")
        usage_ns = get("cpuacct", "cpuacct.usage")
        pids_current = get("pids", "pids.current")
        limits = Resources(
            memory_limit_bytes=_memory(get("memory", "memory.limit_in_bytes")),
            cpu_shares=None if shares in (None, DEFAULT_SHARES) else shares,
            cpu_millis=quota * 1000 // period if quota not in (None, -1) and period else None,
            pids_limit=get("pids", "pids.max"),
        )
        # pids.current counts the whole subtree, container leaves included.
        populated = bool(pids_current) if "pids" in self._points else self._has_procs(path)
        return ObservedCgroup(
            path=path,
            limits=limits,
            populated=populated,
            memory_current=get("memory", "memory.usage_in_bytes"),
            pids_current=pids_current,
            cpu_usage_usec=None if usage_ns is None else usage_ns // 1000,
        )

    def _has_procs(self, path: ResourcePath) -> bool:
        """Without the pids controller: any process in the cgroup or below, any hierarchy."""
        for point in self._managed:
            for root, _dirs, _files in os.walk(self._dir(point, path)):
                if read(os.path.join(root, "cgroup.procs")):
                    return True
        return False


def _memory(value: int | None) -> int | None:
    return None if value is None or value >= UNLIMITED_MEMORY else value
