"""cgroup v1 specifics: which hierarchies hold our tree, the files we write, cleanup."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from kukeon.drivers.base import PermanentError
from kukeon.drivers.cgroups import CgroupTree, make_cgroups
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from kukeon.model.resources import Resources

from .conftest import cgdir, cleanup

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

STACK = ResourcePath.of("r1", "s1", "st1")
CELL = STACK.child("c1")


@pytest.fixture
def v1(naming: Naming) -> Iterator[CgroupTree]:
    driver = make_cgroups(naming)
    assert isinstance(driver, CgroupTree)
    if driver.mode == "unified":
        pytest.skip("needs a cgroup v1 (hybrid or legacy) host")
    yield driver
    cleanup(driver)


def read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def test_tree_lives_in_the_managed_hierarchies_with_our_values(v1: CgroupTree) -> None:
    limits = Resources(memory_limit_bytes=10_000_000, cpu_shares=100, cpu_millis=300, pids_limit=7)
    asyncio.run(v1.ensure(CELL, limits))
    points = v1.mounts.v1
    for controller in ("memory", "cpu", "cpuacct", "pids"):
        assert os.path.isdir(cgdir(v1, points[controller], CELL)), controller
    if "cpuset" in points:  # left to runc, which copies cpuset.cpus/mems into its dirs
        assert not os.path.exists(cgdir(v1, points["cpuset"], CELL))

    def value(controller: str, name: str) -> str:
        return read(cgdir(v1, points[controller], CELL, name))

    assert value("memory", "memory.limit_in_bytes") == str(10_000_000 // 4096 * 4096)
    assert value("cpu", "cpu.cfs_quota_us") == "30000"
    assert value("cpu", "cpu.cfs_period_us") == "100000"
    assert value("cpu", "cpu.shares") == "100"
    assert value("pids", "pids.max") == "7"

    asyncio.run(v1.ensure(CELL, Resources()))
    assert value("memory", "memory.limit_in_bytes") == "9223372036854771712"
    assert value("cpu", "cpu.cfs_quota_us") == "-1"
    assert value("cpu", "cpu.shares") == "1024"
    assert value("pids", "pids.max") == "max"


def test_delete_clears_every_hierarchy_runc_used(v1: CgroupTree) -> None:
    asyncio.run(v1.ensure(CELL, Resources()))
    # runc makes <cell>/<container> in every mounted hierarchy, cpuset included.
    for hierarchy in v1.mounts.hierarchies():
        parts = [v1.naming.cgroup_root.strip("/"), *CELL.segments, "app"]
        current = hierarchy
        for part in parts:
            current = os.path.join(current, part)
            if not os.path.isdir(current):
                os.mkdir(current)
                if os.path.exists(os.path.join(current, "cpuset.cpus")):
                    for name in ("cpuset.cpus", "cpuset.mems"):
                        parent = os.path.join(os.path.dirname(current), name)
                        with open(os.path.join(current, name), "w") as f:
                            f.write(read(parent))
    asyncio.run(v1.delete(CELL))
    for hierarchy in v1.mounts.hierarchies():
        assert not os.path.exists(cgdir(v1, hierarchy, CELL)), hierarchy
    asyncio.run(v1.delete(ResourcePath.of("r1")))
    for hierarchy in v1.mounts.hierarchies():
        assert not os.path.exists(hierarchy + v1.naming.cgroup_root), hierarchy


def test_invalid_limits_are_permanent_errors(v1: CgroupTree) -> None:
    # 1 millicore is a 100 us quota: below the kernel's 1 ms minimum.
    with pytest.raises(PermanentError, match=r"cpu\.cfs_quota_us"):
        asyncio.run(v1.ensure(CELL, Resources(cpu_millis=1)))
    # v1 refuses a child's cpu quota above its parent's.
    asyncio.run(v1.ensure(STACK, Resources(cpu_millis=200)))
    with pytest.raises(PermanentError, match="above its parent's") as err:
        asyncio.run(v1.ensure(CELL, Resources(cpu_millis=500)))
    assert err.value.hint == "lower this cpu limit or raise the parent's"


def test_lowering_a_parents_cpu_limit_lowers_larger_quotas_below_it_first(
    v1: CgroupTree,
) -> None:
    asyncio.run(v1.ensure(STACK, Resources(cpu_millis=800)))
    asyncio.run(v1.ensure(CELL, Resources(cpu_millis=600)))
    hierarchy = v1.mounts.v1["cpu"]
    cpu = cgdir(v1, hierarchy, CELL)
    leaf = os.path.join(cpu, "main")  # a container's cgroup, as runc makes it
    os.mkdir(leaf)
    with open(os.path.join(leaf, "cpu.cfs_period_us"), "w") as f:
        f.write("50000")
    with open(os.path.join(leaf, "cpu.cfs_quota_us"), "w") as f:
        f.write("25000")  # 500m at a 50 ms period
    try:
        asyncio.run(v1.ensure(STACK, Resources(cpu_millis=300)))
        assert read(os.path.join(cgdir(v1, hierarchy, STACK), "cpu.cfs_quota_us")) == "30000"
        assert read(os.path.join(cpu, "cpu.cfs_quota_us")) == "30000"
        assert read(os.path.join(leaf, "cpu.cfs_quota_us")) == "15000"  # 300m, its period
        asyncio.run(v1.ensure(CELL, Resources(cpu_millis=100)))
        assert read(os.path.join(cpu, "cpu.cfs_quota_us")) == "10000"
    finally:
        os.rmdir(leaf)


def test_observe_skips_foreign_names_and_walks_only_our_instance(v1: CgroupTree) -> None:
    asyncio.run(v1.ensure(CELL, Resources()))
    memory = v1.mounts.v1["memory"]
    odd = os.path.join(memory + v1.naming.cgroup(STACK), "Not_A_Label")
    os.mkdir(odd)
    try:
        paths = {o.path for o in asyncio.run(v1.observe())}
        assert paths == {*CELL.ancestors(), CELL}
    finally:
        os.rmdir(odd)
