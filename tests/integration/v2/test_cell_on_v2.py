"""kukeond end to end on a unified cgroup v2 kernel (the v2guest when CI's host is hybrid):
a cell's limit lands in its container's cgroup, a memory hog there is OOM-killed and
restarted per its policy, deleting the cell removes its cgroups, doctor says "unified"."""

from __future__ import annotations

import urllib.request
from functools import partial
from pathlib import Path

import pytest

from kukeon.api import kukeon_pb2 as pb
from kukeon.drivers.cgroups import CgroupTree, make_cgroups
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from tests.fixtures.kukeond import ROOT, TIMEOUT_SCALE, Kukeond, host_leaks, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.cgroupv2,
    pytest.mark.timeout(int(150 * TIMEOUT_SCALE)),  # above its waits, which say what failed
]

CELL = ResourcePath.of("default", "default", "default", "hog")
LIMIT = 32 * 1024 * 1024
# The hog waits for /tmp/go so the test reads its cgroup while it is steady; the file
# stays in the container's snapshot, so every restart hogs (and is OOM-killed) again.
HOG = f"""
apiVersion: v1beta1
kind: Cell
metadata: {{name: {CELL.name}}}
spec:
  resources: {{memoryLimitBytes: {LIMIT}}}
  containers:
    - id: main
      image: docker.io/library/busybox:latest
      command: [/bin/sh, -c, "until [ -e /tmp/go ]; do sleep 0.1; done; exec tail /dev/zero"]
      restartPolicy: on-failure
      resources: {{memoryLimitBytes: {LIMIT}}}
"""


@pytest.fixture
def unified(naming: Naming) -> Path:
    """The cgroup2 mount; asked for before ``kukeond`` so a hybrid host skips at once."""
    cgroups = make_cgroups(naming)
    assert isinstance(cgroups, CgroupTree)
    if cgroups.mounts.unified is None or cgroups.mode != "unified":
        pytest.skip(f"needs a unified cgroup v2 host; this one is {cgroups.mode}")
    return Path(cgroups.mounts.unified)


def read(path: Path) -> str:
    return path.read_text().strip()


def keyed(path: Path) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split() for line in path.read_text().splitlines())}


def test_memory_hog_is_oom_killed_restarted_and_its_cgroups_deleted(
    unified: Path, kukeond: Kukeond
) -> None:
    naming = Naming(kukeond.instance)
    cell_cg = unified / naming.cgroup(CELL).lstrip("/")
    ctr_cg = cell_cg / "main"
    assert str(ctr_cg).endswith(f"/{kukeond.instance}/default/default/default/hog/main")

    kukeond.apply(HOG)
    pid = kukeond.wait_phase(str(CELL), "Ready").containers[0].pid
    # the container's process sits in its own leaf, limited, below the limited cell
    assert Path(f"/proc/{pid}/cgroup").read_text() == f"0::{naming.cgroup(CELL)}/main\n"
    assert read(ctr_cg / "memory.max") == str(LIMIT)
    assert read(cell_cg / "memory.max") == str(LIMIT)
    assert "memory" in read(cell_cg / "cgroup.subtree_control").split()  # runc delegated

    Path(f"/proc/{pid}/root/tmp/go").touch()
    # the kernel killed it for the limit (memory.events is hierarchical: the cell's counter
    # outlives the container leaf that runc recreates on restart) ...
    wait_for("an OOM kill in the cell", lambda: keyed(cell_cg / "memory.events")["oom_kill"])
    # ... kukeond saw it die of SIGKILL and restarted it per on-failure
    events = wait_for(
        "exit 137 and a restart",
        lambda: (
            (c := kukeond.cell(str(CELL))) is not None
            and c.containers[0].restart_count >= 1
            and [e for e in _events(kukeond) if e.message == "exit code 137"]
        ),
        60,
    )
    assert all(e.type == "Warning" and e.reason == "Exited" for e in events)
    starts = [e.message for e in _events(kukeond) if "exited with code 137" in e.message]
    assert starts and "restartPolicy on-failure" in starts[0]

    doctor = {c.name: c for c in kukeond.api.Doctor(pb.DoctorRequest()).checks}
    assert doctor["cgroups"].ok and "unified v2" in doctor["cgroups"].detail
    assert {"cpu", "memory", "pids"} <= set(doctor["cgroups"].detail.split("controllers: ")[1].split())

    kukeond.api.Delete(pb.DeleteRequest(paths=[str(CELL)]))
    wait_for("cell deleted", lambda: str(CELL) not in kukeond.cells(), 60)
    assert not cell_cg.exists()
    assert not host_leaks(kukeond.instance, kukeond.run_dir)


def _events(kukeond: Kukeond) -> list[pb.Event]:
    request = pb.EventsRequest(prefix=f"{CELL}/main", limit=200)
    return list(kukeond.api.Events(request))


def test_hello_world_serves_with_its_limits_in_its_leaf(unified: Path, kukeond: Kukeond) -> None:
    """The quick-start example on v2: CNI, the published port, memory.max and pids.max."""
    kukeond.apply((ROOT / "examples/hello-world.yaml").read_text())
    path = "default/default/default/hello-world"
    cell = kukeond.wait_phase(path, "Ready")
    leaf = unified / Naming(kukeond.instance).cgroup(ResourcePath.parse(path)).lstrip("/") / "web"
    assert read(leaf / "memory.max") == str(64 * 1024 * 1024)
    assert read(leaf / "pids.max") == "64"
    for url in (f"http://{cell.ip}:8080/", "http://127.0.0.1:8080/"):  # its netns, our lo
        assert "Hello from kukeon" in wait_for(url, partial(_get, url))
    kukeond.api.Delete(pb.DeleteRequest(paths=[path]))
    wait_for("cell deleted", lambda: path not in kukeond.cells(), 60)
    assert not leaf.parent.exists()


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # a netns we made, or loopback
            return str(resp.read().decode())
    except OSError:
        return None
