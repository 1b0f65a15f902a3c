"""Faults of kukeond's dependencies: containerd killed and restarted (idle, and while cells
are created), a CNI plugin missing, the state dir full, a truncated state.db. kukeond
reports the fault, keeps running cells running, and recovers when the fault is gone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from kukeon.api import kukeon_pb2 as pb
from kukeon.drivers.containerd.embedded import start_embedded, stop_embedded
from tests.fixtures.containerd import _shims_of
from tests.fixtures.kukeond import Kukeond, running, wait_for
from tests.reliability.host import converged, observe

pytestmark = pytest.mark.integration
PREFIX = "default/default/default/"
RUNNING = "trap 'exit 0' TERM; sleep 3600 & wait"


def cell_yaml(name: str, *, ports: bool = False) -> str:
    published = "\n      ports: [{containerPort: 80, hostPort: 18080}]" if ports else ""
    return f"""
apiVersion: v1beta1
kind: Cell
metadata: {{name: {name}}}
spec:
  containers:
    - id: main
      image: docker.io/library/busybox:latest
      command: [/bin/sh, -c, "{RUNNING}"]{published}
"""


def pids(d: Kukeond) -> dict[str, int]:
    return {p + "/" + c.name: c.pid for p, r in d.cells().items() for c in r.containers}


def events(d: Kukeond, prefix: str = "", after: int = 0) -> list[pb.Event]:
    return list(d.api.Events(pb.EventsRequest(prefix=prefix, after_id=after, limit=500)))


def passes(d: Kukeond, n: int) -> None:
    """Wait for ``n`` more passes without errors."""
    start = d.api.Status(pb.StatusRequest()).pass_number

    def probe() -> bool:
        st = d.api.Status(pb.StatusRequest())
        return st.pass_number >= start + n and st.last_pass_errors == 0

    wait_for(f"{n} clean passes", probe, 30)



# ---------------------------------------------------------------- containerd restarts
class PrivateContainerd:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.run, self.state, self.log = base / "run", base / "state", base / "containerd.log"
        self.socket = ""

    def start(self) -> None:
        self.socket = asyncio.run(start_embedded(self.run, self.state, self.log))

    def kill9(self) -> None:
        pid = int((self.run / "containerd" / "containerd.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


@pytest.fixture
def private_containerd() -> Iterator[PrivateContainerd]:
    """A containerd of this test only, so killing it disturbs no other test."""
    base = Path(os.environ.get("KUKEON_TEST_TMP") or "/var/tmp")  # overlayfs needs a real fs
    with tempfile.TemporaryDirectory(prefix="kukeon-ctd-", dir=base) as tmp:
        ctd = PrivateContainerd(Path(tmp))
        ctd.start()
        try:
            yield ctd
        finally:
            asyncio.run(stop_embedded(ctd.run))
            for pid in _shims_of(ctd.socket):
                os.kill(pid, signal.SIGKILL)
            for line in reversed(Path("/proc/self/mounts").read_text().splitlines()):
                if line.split()[1].startswith(tmp):
                    subprocess.run(["umount", "-l", line.split()[1]], check=False)


@pytest.fixture
def kukeond_private(
    tmp_path: Path, instance: str, private_containerd: PrivateContainerd, busybox_archive: Path
) -> Iterator[Kukeond]:
    with running(Kukeond(tmp_path, instance, private_containerd.socket), busybox_archive) as d:
        yield d


@pytest.mark.timeout(150)
def test_containerd_restart_idle_and_during_creates(
    kukeond_private: Kukeond, private_containerd: PrivateContainerd
) -> None:
    d, ctd = kukeond_private, private_containerd
    d.apply(cell_yaml("a") + "---" + cell_yaml("b"))
    for name in ("a", "b"):
        d.wait_phase(PREFIX + name, "Ready")
    before = pids(d)
    # idle: containerd dies, kukeond notices and says so, nothing is restarted
    mark = max((e.id for e in events(d)), default=0)
    ctd.kill9()
    wait_for(
        "kukeond reports containerd down",
        lambda: [e for e in events(d, after=mark) if e.reason == "ObserveFailed"],
        15,
    )
    ctd.start()
    passes(d, 3)
    assert pids(d) == before, "a containerd restart must not restart containers"
    assert all(c.restart_count == 0 for r in d.cells().values() for c in r.containers)
    converged(d, {PREFIX + n: ["main"] for n in ("a", "b")})
    # during creates: cells are half made when containerd dies
    d.apply("---".join(cell_yaml(n) for n in ("c", "d", "e")))
    wait_for("work started", lambda: any(c.phase != "Pending" for c in d.cells().values()), 10)
    ctd.kill9()
    ctd.start()
    converged(d, {PREFIX + n: ["main"] for n in "abcde"}, 60)
    assert {k: v for k, v in pids(d).items() if k in before} == before
    # kukeond subscribed to containerd's events again: an exit now is seen as it happens
    victim = PREFIX + "a/main"
    # Exits while the stream is down are caught by observe() instead; the watcher retries
    # every second at most, so after 3 s it must be subscribed again.
    time.sleep(3)
    mark = max(e.id for e in events(d))
    os.kill(before[victim], signal.SIGKILL)
    exited = wait_for(
        "exit event after the restart",
        lambda: [e for e in events(d, victim, mark) if e.reason == "Exited"],
        15,
    )
    assert "137" in exited[0].message
    wait_for("a restarted", lambda: pids(d).get(victim) not in (None, 0, before[victim]), 15)
    converged(d, {PREFIX + n: ["main"] for n in "abcde"})


# ---------------------------------------------------------------- CNI plugin missing
def test_missing_cni_plugin_is_reported_and_recovers(kukeond: Kukeond, tmp_path: Path) -> None:
    d = kukeond
    d.apply(cell_yaml("old"))
    d.wait_phase(PREFIX + "old", "Ready")
    before = pids(d)
    bindir = tmp_path / "cni-bin"
    bindir.mkdir()
    for plugin in Path("/usr/lib/cni").iterdir():
        if plugin.name != "portmap":
            (bindir / plugin.name).symlink_to(plugin)
    d.stop()
    d.extra_args = ["--cni-bin-dir", str(bindir)]
    d.start()
    try:
        d.apply(cell_yaml("new", ports=True))
        new = wait_for(
            "the fault in the new cell's status",
            lambda: (c := d.cell(PREFIX + "new")) is not None and "portmap" in c.message and c,
            20,
        )
        assert new.phase in ("Pending", "Degraded"), new
        assert any(
            e.type == "Warning" and "portmap" in e.message for e in events(d, PREFIX + "new")
        )
        doctor = {c.name: c for c in d.api.Doctor(pb.DoctorRequest()).checks}
        assert not doctor["cni:portmap"].ok
        assert {k: v for k, v in pids(d).items() if k in before} == before
        assert d.cell(PREFIX + "old").phase == "Ready"
    finally:  # the plugin is back (teardown needs it too)
        (bindir / "portmap").symlink_to("/usr/lib/cni/portmap")
    # the new cell comes up without any change to its spec
    d.wait_phase(PREFIX + "new", "Ready", 30)
    assert {k: v for k, v in pids(d).items() if k in before} == before
    converged(d, {PREFIX + "old": ["main"], PREFIX + "new": ["main"]})


# ---------------------------------------------------------------- state dir faults
def test_truncated_store_is_moved_aside_and_running_cells_adopted(kukeond: Kukeond) -> None:
    d = kukeond
    d.apply(cell_yaml("kept"))
    d.wait_phase(PREFIX + "kept", "Ready")
    before = pids(d)
    d.stop()  # the WAL is checkpointed into state.db, which is then cut short
    db = d.base / "state" / "state.db"
    data = db.read_bytes()
    db.write_bytes(data[: max(len(data) // 3, 100)])
    d.start()
    recovered = [e for e in events(d, "host") if e.reason == "StoreRecovered"]
    assert recovered and "moved aside" in recovered[0].message
    assert list(db.parent.glob("state.db.corrupt-*"))
    # what runs is adopted, not restarted, and reported as unowned (the inventory is lost)
    kept = wait_for("adopted", lambda: (c := d.cell(PREFIX + "kept")) and c.phase == "Unowned" and c)
    assert kept.phase == "Unowned"
    passes(d, 2)
    assert observe(d).pids == before  # unowned status lists no containers: ask the host
    # applying it again makes it owned, still without a restart
    d.apply(cell_yaml("kept"))
    d.wait_phase(PREFIX + "kept", "Ready")
    assert pids(d) == before


def test_full_state_dir_keeps_cells_running_and_recovers(kukeond: Kukeond) -> None:
    d = kukeond
    d.apply(cell_yaml("steady"))
    d.wait_phase(PREFIX + "steady", "Ready")
    before = pids(d)
    state = d.base / "state"
    d.stop()
    saved = d.base / "state-saved"
    state.rename(saved)
    state.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(state)], check=True)
    try:
        subprocess.run(["cp", "-a", f"{saved}/.", str(state)], check=True)
        d.start()
        filler = state / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M"], capture_output=True)
        with pytest.raises(grpc.RpcError) as err:
            d.apply(cell_yaml("more"))
        assert "full" in str(err.value.details()).lower(), err.value.details()
        passes(d, 2)
        assert pids(d) == before and d.cell(PREFIX + "steady").phase == "Ready"
        assert d.proc is not None and d.proc.poll() is None
        filler.unlink()
        d.apply(cell_yaml("more"))
        d.wait_phase(PREFIX + "more", "Ready")
        assert {k: v for k, v in pids(d).items() if k in before} == before
    finally:
        d.stop()  # the fixture's teardown deletes the cells from the restored state dir
        (state / "filler").unlink(missing_ok=True)
        shutil.rmtree(saved)
        subprocess.run(["cp", "-a", str(state), str(saved)], check=True)
        subprocess.run(["umount", "-l", str(state)], check=False)
        state.rmdir()
        saved.rename(state)
