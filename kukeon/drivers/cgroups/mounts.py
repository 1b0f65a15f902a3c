"""Which cgroup hierarchies the host has mounted, read from ``/proc/self/mountinfo``.

The mode decides the backend: "unified" (only cgroup v2 carries controllers), "hybrid"
(v1 controllers plus a cgroup2 mount, usually ``/sys/fs/cgroup/unified``) or "legacy"
(v1 only). kukeon never mounts or remounts anything; it uses what it finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# Mount options of a v1 cgroup mount that name a controller (the rest are flags).
V1_CONTROLLERS = frozenset(
    {
        "cpuset", "cpu", "cpuacct", "blkio", "io", "memory", "devices", "freezer",
        "net_cls", "net_prio", "perf_event", "hugetlb", "pids", "rdma", "misc", "debug",
    }
)  # fmt: skip
_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mounts:
    """cgroup mount points; v1 hierarchies keyed by controller (or ``name=...``)."""

    v1: dict[str, str] = field(default_factory=dict)
    unified: str | None = None

    @property
    def mode(self) -> str:
        if any(not key.startswith("name=") for key in self.v1):
            return "hybrid" if self.unified else "legacy"
        if self.unified:
            return "unified"
        raise ValueError("no cgroup controllers are mounted")

    def controllers(self) -> list[str]:
        """Controllers available to kukeon: v1 ones mounted, or the unified root's."""
        if self.mode == "unified" and self.unified:
            try:
                return (Path(self.unified) / "cgroup.controllers").read_text().split()
            except OSError:
                return []
        return sorted(k for k in self.v1 if not k.startswith("name="))

    def hierarchies(self) -> list[str]:
        """Every distinct mount point: runc creates a container's path in each of them."""
        points = list(dict.fromkeys(self.v1.values()))
        if self.unified:
            points.append(self.unified)
        return points


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text: str) -> Mounts:
    v1: dict[str, str] = {}
    unified: str | None = None
    for line in text.splitlines():
        # id parent major:minor root mountpoint options [optional...] - fstype source superopts
        head, sep, tail = line.partition(" - ")
        if not sep:
            continue
        fields, rest = head.split(), tail.split()
        if len(fields) < 5 or len(rest) < 3:
            continue
        fstype, point = rest[0], _unescape(fields[4])
        if fstype == "cgroup2":
            unified = unified or point
        elif fstype == "cgroup":
            for opt in rest[2].split(","):
                if opt in V1_CONTROLLERS or opt.startswith("name="):
                    # A hierarchy mounted twice (bind mounts): the first one wins.
                    v1.setdefault(opt, point)
    return Mounts(v1=v1, unified=unified)


def read_mounts(mountinfo: Path = Path("/proc/self/mountinfo")) -> Mounts:
    return parse_mountinfo(mountinfo.read_text())
