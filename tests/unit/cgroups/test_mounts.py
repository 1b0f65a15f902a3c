"""Mode detection from mountinfo, and the backend make_cgroups picks for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kukeon.drivers.base import PermanentError
from kukeon.drivers.cgroups import V1Cgroups, V2Cgroups, make_cgroups, parse_mountinfo
from kukeon.model.naming import Naming

# This CI host: v1 controllers, cgroup2 at /sys/fs/cgroup/unified (carrying only hugetlb).
HYBRID = """\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""

# A systemd host with the unified hierarchy (optional fields before the "-").
UNIFIED = """\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
35 25 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 \
rw,nsdelegate,memory_recursiveprot
"""

# Older distributions: v1 only, cpu and cpuacct co-mounted, flags among the options.
LEGACY = """\
24 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
25 24 0:21 / /sys/fs/cgroup/systemd rw shared:10 - cgroup cgroup rw,xattr,name=systemd
28 24 0:24 / /sys/fs/cgroup/cpu,cpuacct rw shared:13 - cgroup cgroup rw,cpu,cpuacct
29 24 0:25 / /sys/fs/cgroup/memory rw shared:14 - cgroup cgroup rw,memory
30 24 0:26 / /sys/fs/cgroup/pids rw shared:15 - cgroup cgroup rw,pids
31 24 0:27 / /sys/fs/cgroup/cpuset rw shared:16 - cgroup cgroup rw,cpuset,clone_children
"""


def test_hybrid() -> None:
    mounts = parse_mountinfo(HYBRID)
    assert mounts.mode == "hybrid"
    assert mounts.unified == "/sys/fs/cgroup/unified"
    assert mounts.v1["memory"] == "/sys/fs/cgroup/memory"
    assert mounts.v1["name=systemd"] == "/sys/fs/cgroup/systemd"
    assert len(mounts.hierarchies()) == 10  # 9 v1 hierarchies + unified
    assert mounts.hierarchies()[-1] == "/sys/fs/cgroup/unified"


def test_unified() -> None:
    mounts = parse_mountinfo(UNIFIED)
    assert mounts.mode == "unified"
    assert mounts.unified == "/sys/fs/cgroup"
    assert mounts.v1 == {}
    assert mounts.hierarchies() == ["/sys/fs/cgroup"]


def test_legacy_with_co_mounted_controllers() -> None:
    mounts = parse_mountinfo(LEGACY)
    assert mounts.mode == "legacy"
    assert mounts.v1["cpu"] == mounts.v1["cpuacct"] == "/sys/fs/cgroup/cpu,cpuacct"
    assert "xattr" not in mounts.v1 and "clone_children" not in mounts.v1
    assert len(mounts.hierarchies()) == 5  # one entry per hierarchy, not per controller


def test_a_named_hierarchy_alone_does_not_make_v1() -> None:
    text = UNIFIED + "40 35 0:37 / /run/cg/systemd rw - cgroup cgroup rw,name=systemd\n"
    assert parse_mountinfo(text).mode == "unified"


def test_escaped_mount_points_and_bind_mounts() -> None:
    text = (
        "1 0 0:1 / /sys/fs/cgroup/my\\040memory rw - cgroup cgroup rw,memory\n"
        "2 0 0:1 / /elsewhere/memory rw - cgroup cgroup rw,memory\n"
    )
    mounts = parse_mountinfo(text)
    assert mounts.v1 == {"memory": "/sys/fs/cgroup/my memory"}
    assert mounts.mode == "legacy"


def test_no_cgroups_at_all() -> None:
    with pytest.raises(ValueError, match="no cgroup"):
        _ = parse_mountinfo("22 1 0:21 / /proc rw - proc proc rw\n").mode


@pytest.mark.parametrize(
    ("text", "backend", "mode"),
    [(HYBRID, V1Cgroups, "hybrid"), (LEGACY, V1Cgroups, "legacy"), (UNIFIED, V2Cgroups, "unified")],
)
def test_make_cgroups_picks_the_backend(
    tmp_path: Path, text: str, backend: type, mode: str
) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(text)
    driver = make_cgroups(Naming("kt1"), mountinfo=mountinfo)
    assert isinstance(driver, backend)
    assert driver.mode == mode


def test_make_cgroups_without_cgroups_is_permanent(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="cgroup"):
        make_cgroups(Naming("kt1"), mountinfo=tmp_path / "missing")
    (tmp_path / "empty").write_text("")
    with pytest.raises(PermanentError):
        make_cgroups(Naming("kt1"), mountinfo=tmp_path / "empty")
