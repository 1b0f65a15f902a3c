"""cgroup v2 specifics: delegation through subtree_control and the files we write."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from kukeon.drivers.base import PermanentError
from kukeon.drivers.cgroups import CgroupTree, make_cgroups
from kukeon.model.identity import ResourcePath
from kukeon.model.limits import shares_to_weight
from kukeon.model.naming import Naming
from kukeon.model.resources import Resources

from .conftest import cgdir, cleanup

pytestmark = [pytest.mark.integration, pytest.mark.cgroupv2, pytest.mark.timeout(120)]

CELL = ResourcePath.of("r1", "s1", "st1", "c1")


@pytest.fixture
def v2(naming: Naming) -> Iterator[CgroupTree]:
    driver = make_cgroups(naming)
    assert isinstance(driver, CgroupTree)
    if driver.mode != "unified":
        pytest.skip(f"needs a unified cgroup v2 host; this one is {driver.mode}")
    yield driver
    cleanup(driver)


def read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def test_controllers_are_delegated_down_to_the_cell(v2: CgroupTree) -> None:
    asyncio.run(v2.ensure(CELL, Resources(pids_limit=3)))
    root = v2.mounts.unified
    assert root is not None
    for directory in [root, root + v2.naming.cgroup_root] + [
        cgdir(v2, root, p) for p in CELL.ancestors()
    ]:
        enabled = read(os.path.join(directory, "cgroup.subtree_control")).split()
        assert {"cpu", "memory", "pids"} <= set(enabled), directory
    # The cell's own delegation is runc's, once it holds no process of its own.
    assert read(cgdir(v2, root, CELL, "cgroup.subtree_control")) == ""


def test_limit_files(v2: CgroupTree) -> None:
    limits = Resources(memory_limit_bytes=10_000_000, cpu_shares=100, cpu_millis=300, pids_limit=7)
    asyncio.run(v2.ensure(CELL, limits))
    root = v2.mounts.unified
    assert root is not None

    def value(name: str) -> str:
        return read(cgdir(v2, root, CELL, name))

    assert value("memory.max") == str(10_000_000 // 4096 * 4096)
    assert value("cpu.max") == "30000 100000"
    assert value("cpu.weight") == str(shares_to_weight(100))
    assert value("pids.max") == "7"

    asyncio.run(v2.ensure(CELL, Resources()))
    assert value("memory.max") == "max"
    assert value("cpu.max") == "max 100000"
    assert value("cpu.weight") == "100"
    assert value("pids.max") == "max"


def test_invalid_limit_is_a_permanent_error(v2: CgroupTree) -> None:
    with pytest.raises(PermanentError, match=r"cpu\.max"):
        asyncio.run(v2.ensure(CELL, Resources(cpu_millis=1)))
