"""A cgroups driver on this host, scoped by the test's random instance, and cleaned up.

Every behaviour test runs twice by id: ``[v1]`` on a hybrid/legacy host (this CI
machine) and ``[v2]`` (marked cgroupv2) on a unified host such as the v2guest; the
variant that does not match the host is skipped.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from kukeon.drivers.cgroups import CgroupTree, make_cgroups
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming

BUSYBOX = "/bin/busybox"


@pytest.fixture(params=["v1", pytest.param("v2", marks=pytest.mark.cgroupv2)])
def cg(request: pytest.FixtureRequest, naming: Naming) -> Iterator[CgroupTree]:
    driver = make_cgroups(naming)
    assert isinstance(driver, CgroupTree)
    if (driver.mode == "unified") != (request.param == "v2"):
        pytest.skip(f"needs a {request.param} host; this one is {driver.mode}")
    yield driver
    cleanup(driver)


def cleanup(cg: CgroupTree) -> None:
    """Kill what a test left in our tree, delete it, and assert nothing of ours remains."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (pids := procs_below(cg)):
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    for hierarchy in cg.mounts.hierarchies():
        top = hierarchy + cg.naming.cgroup_root
        if os.path.isdir(top):
            for realm in os.listdir(top):
                if os.path.isdir(os.path.join(top, realm)):
                    asyncio.run(cg.delete(ResourcePath.of(realm)))
    left = [h + cg.naming.cgroup_root for h in cg.mounts.hierarchies()]
    assert not [d for d in left if os.path.exists(d)], "cgroups leaked"


def procs_below(cg: CgroupTree) -> list[int]:
    pids: set[int] = set()
    for hierarchy in cg.mounts.hierarchies():
        for root, _dirs, _files in os.walk(hierarchy + cg.naming.cgroup_root):
            with open(os.path.join(root, "cgroup.procs")) as f:
                pids.update(int(p) for p in f.read().split())
    return sorted(pids)


def cgdir(cg: CgroupTree, hierarchy: str, path: ResourcePath, *leaf: str) -> str:
    return os.path.join(hierarchy + cg.naming.cgroup(path), *leaf)


def make_leaf(cg: CgroupTree, path: ResourcePath, name: str) -> None:
    """What runc does for a container: a leaf below the cell in the managed hierarchies."""
    for hierarchy in cg.managed:
        os.makedirs(cgdir(cg, hierarchy, path, name), exist_ok=True)


@contextmanager
def spawn_in(
    cg: CgroupTree, path: ResourcePath, leaf: str, script: str
) -> Iterator[subprocess.Popen[str]]:
    """Run ``busybox sh -c script`` in the cgroup (held at a ``read`` until it is there)."""
    with subprocess.Popen(
        [BUSYBOX, "sh", "-c", f"read go; {script}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            for hierarchy in cg.managed:
                with open(cgdir(cg, hierarchy, path, leaf, "cgroup.procs"), "w") as f:
                    f.write(str(proc.pid))
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
            yield proc
        finally:
            proc.kill()
            proc.communicate()
