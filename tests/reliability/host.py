"""What an instance has on the host, counted from the host itself (containerd's API, the
run and state dirs, `ip`, `iptables-save`, cgroupfs), never asked of kukeond; and the
check that it is exactly what the desired cells need: nothing missing, nothing twice,
nothing left over."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kukeon._ctdapi.services.leases.v1 import leases_pb2
from kukeon._ctdapi.services.snapshots.v1 import snapshots_pb2
from kukeon._ctdapi.services.tasks.v1 import tasks_pb2
from kukeon.api import kukeon_pb2 as pb
from kukeon.drivers.base import TaskState
from kukeon.drivers.containerd.client import SNAPSHOTTER
from kukeon.drivers.containerd.runtime import ContainerdRuntime
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from tests.fixtures.kukeond import Kukeond, _cgroup_tops, wait_for

SPACE = ResourcePath.of("default", "default")


@dataclass
class HostState:
    containers: dict[str, str] = field(default_factory=dict)  # container path -> task state
    pids: dict[str, int] = field(default_factory=dict)  # container path -> task pid
    specs: dict[str, dict[str, object]] = field(default_factory=dict)  # path -> spec label
    tasks: int = 0
    snapshots: list[str] = field(default_factory=list)  # active snapshot keys
    leases: list[str] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    veths: int = 0
    ip_leases: list[str] = field(default_factory=list)  # host-local lease files (IPs)
    records: list[str] = field(default_factory=list)  # CNI records (cell paths)
    cgroups: set[str] = field(default_factory=set)  # cell-depth cgroups, as paths
    rules: list[str] = field(default_factory=list)  # iptables lines naming a cell's CNI id


def observe(d: Kukeond) -> HostState:
    naming = Naming(d.instance)
    st = HostState()
    asyncio.run(_containerd(d, naming, st))
    pins = d.run_dir / "netns"
    st.pins = sorted(p.name for p in pins.iterdir()) if pins.exists() else []
    st.mounts = [
        line.split()[1]
        for line in Path("/proc/self/mounts").read_text().splitlines()
        if str(d.run_dir) in line
    ]
    bridge = naming.bridge(SPACE)
    links = subprocess.run(
        ["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True
    ).stdout
    st.veths = sum(1 for line in links.splitlines() if "veth" in line)
    ipam = d.base / "state" / "cni" / "ipam" / naming.network_name(SPACE)
    if ipam.is_dir():
        st.ip_leases = sorted(p.name for p in ipam.iterdir() if _is_ip(p.name))
    results = d.base / "state" / "cni" / "results"
    if results.is_dir():
        st.records = sorted(
            json.loads(p.read_text())["path"] for p in results.glob("*.json")
        )
    for top in _cgroup_tops(d.instance):
        if top.exists():
            st.cgroups.update(
                "/".join(p.relative_to(top).parts) for p in top.glob("*/*/*/*") if p.is_dir()
            )
    saved = "".join(
        subprocess.run(["iptables-save", "-t", t], capture_output=True, text=True).stdout
        for t in ("filter", "nat")
    )
    prefix = naming.cni_container_id(ResourcePath.of("default", "default", "default", "x"))[:-1]
    st.rules = [line for line in saved.splitlines() if prefix in line]
    return st


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


async def _containerd(d: Kukeond, naming: Naming, st: HostState) -> None:
    rt = ContainerdRuntime(d.containerd_socket, naming, call_timeout=10)
    try:
        obs = await rt.observe()
        for oc in obs.containers:
            st.containers[str(oc.path)] = oc.task.value
            st.specs[str(oc.path)] = dict(oc.spec_fields or {})
            if oc.task is TaskState.RUNNING:
                st.pids[str(oc.path)] = oc.pid
        c = rt.client
        ns = naming.namespace("default")
        st.tasks = len((await c.tasks.List(tasks_pb2.ListTasksRequest(), **c.opts(ns))).tasks)
        listing = c.snapshots.List(
            snapshots_pb2.ListSnapshotsRequest(snapshotter=SNAPSHOTTER),
            metadata=(("containerd-namespace", ns),),
        )
        async for resp in listing:
            st.snapshots += [i.name for i in resp.info if i.kind == snapshots_pb2.ACTIVE]
        leases = await c.leases.List(leases_pb2.ListRequest(), **c.opts(ns))
        st.leases = [lease.id for lease in leases.leases]
    finally:
        await rt.close()


def problems(d: Kukeond, cells: dict[str, list[str]], st: HostState | None = None) -> list[str]:
    """Everything that differs from exactly ``cells`` (cell path -> container names) running,
    each once, with status telling the truth. Empty when the host is right."""
    st = st or observe(d)
    naming = Naming(d.instance)
    out: list[str] = []
    want_ctrs = {f"{c}/{n}" for c, names in cells.items() for n in names}
    for path, state in st.containers.items():
        if path not in want_ctrs:
            out.append(f"leaked container {path} ({state})")
        elif state != "running":
            out.append(f"container {path} is {state}, not running")
    out += [f"missing container {p}" for p in sorted(want_ctrs - set(st.containers))]
    if st.tasks != len(want_ctrs):
        out.append(f"{st.tasks} tasks for {len(want_ctrs)} containers")
    keys = {naming.snapshot_key(ResourcePath.parse(p)) for p in want_ctrs}
    snaps = Counter(st.snapshots)
    out += [f"leaked snapshot {k}" for k in snaps if k not in keys]
    out += [f"snapshot {k} x{n}" for k, n in snaps.items() if n > 1]
    out += [f"missing snapshot {k}" for k in keys - set(snaps)]
    out += [f"leaked lease {lease}" for lease in st.leases]
    pins = {naming.netns_pin(ResourcePath.parse(c)) for c in cells}
    out += [f"leaked netns pin {p}" for p in st.pins if p not in pins]
    out += [f"missing netns pin {p}" for p in pins - set(st.pins)]
    if len(st.mounts) != len(cells):
        out.append(f"{len(st.mounts)} mounts under the run dir for {len(cells)} cells")
    if st.veths != len(cells):
        out.append(f"{st.veths} veths on the bridge for {len(cells)} cells")
    if len(st.ip_leases) != len(cells):
        out.append(f"{len(st.ip_leases)} host-local leases {st.ip_leases} for {len(cells)} cells")
    if sorted(st.records) != sorted(cells):
        out.append(f"CNI records {st.records} for cells {sorted(cells)}")
    if st.cgroups != set(cells):
        out.append(f"cell cgroups {sorted(st.cgroups)} for cells {sorted(cells)}")
    dup = [line for line, n in Counter(st.rules).items() if n > 1]
    out += [f"iptables rule twice: {line}" for line in dup]
    ids = {naming.cni_container_id(ResourcePath.parse(c)) for c in cells}
    out += [f"leaked iptables rule: {r}" for r in st.rules if not any(i in r for i in ids)]
    out += _status_lies(d, cells, st)
    return out


def _status_lies(d: Kukeond, cells: dict[str, list[str]], st: HostState) -> list[str]:
    out: list[str] = []
    listed = {r.path: r for r in d.api.List(pb.ListRequest(kind="Cell")).resources}
    for path in sorted(set(listed) - set(cells)):
        out.append(f"status lists {path} ({listed[path].phase}), which should be gone")
    for path in cells:
        r = listed.get(path)
        if r is None:
            out.append(f"status does not list {path}")
            continue
        if r.phase != "Ready":
            out.append(f"status says {path} is {r.phase}: {r.message}")
        for c in r.containers:
            real = st.pids.get(f"{path}/{c.name}")
            if c.pid != real:
                out.append(f"status says {path}/{c.name} has pid {c.pid}, containerd {real}")
        pin = d.run_dir / "netns" / Naming(d.instance).netns_pin(ResourcePath.parse(path))
        addrs = subprocess.run(
            ["nsenter", f"--net={pin}", "ip", "-o", "-4", "addr"], capture_output=True, text=True
        ).stdout
        if not r.ip or f" {r.ip}/" not in addrs:
            out.append(f"status says {path} has IP {r.ip!r}; its netns has {addrs.split()!r}")
    return out


def converged(d: Kukeond, cells: dict[str, list[str]], timeout: float = 30) -> None:
    """Wait until the host matches ``cells`` (cell path -> container names) with no leak
    and no status lie; fail naming what is still wrong, with kukeond's log."""
    last: list[str] = []

    def probe() -> bool:
        nonlocal last
        last = problems(d, cells)
        return not last

    try:
        wait_for("convergence, no leaks", probe, timeout, every=0.3)
    except AssertionError:
        raise AssertionError(f"not converged: {last}\nkukeond log:\n{d.tail()}") from None
