"""cgroups driver: the subtree ``/<instance>/<realm>/<space>/<stack>/<cell>``.

``make_cgroups`` reads the host's mounts once and picks the backend: cgroup v2 on a
unified host, cgroup v1 on a hybrid or legacy one. Both report limits in kukeon's terms
(see kukeon.model.limits.effective) so the planner can compare them with the desired ones.
"""

from __future__ import annotations

from pathlib import Path

from kukeon.drivers.base import Cgroups, PermanentError
from kukeon.drivers.cgroups.mounts import Mounts, parse_mountinfo, read_mounts
from kukeon.drivers.cgroups.tree import CgroupTree
from kukeon.drivers.cgroups.v1 import V1Cgroups
from kukeon.drivers.cgroups.v2 import V2Cgroups
from kukeon.model.naming import Naming

__all__ = [
    "CgroupTree",
    "Mounts",
    "V1Cgroups",
    "V2Cgroups",
    "make_cgroups",
    "parse_mountinfo",
    "read_mounts",
]


def make_cgroups(naming: Naming, *, mountinfo: Path = Path("/proc/self/mountinfo")) -> Cgroups:
    try:
        mounts = read_mounts(mountinfo)
        mode = mounts.mode
    except (OSError, ValueError) as exc:
        raise PermanentError(
            f"cannot find the cgroup hierarchies in {mountinfo}: {exc}",
            hint="mount cgroup2 (or the v1 controllers) under /sys/fs/cgroup",
        ) from exc
    if mode == "unified":
        return V2Cgroups(naming, mounts)
    return V1Cgroups(naming, mounts)
