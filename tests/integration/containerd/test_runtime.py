"""The containerd driver against a real (private) containerd, runc and cgroups."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path

import pytest

from kukeon._ctdapi.services.containers.v1 import containers_pb2
from kukeon._ctdapi.services.snapshots.v1 import snapshots_pb2
from kukeon.drivers.base import ContainerRequest, TaskState, TransientError
from kukeon.drivers.containerd.runtime import ContainerdRuntime
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from kukeon.model.resources import Cell, Container, Resources
from kukeon.model.spechash import container_fields, spec_hash

pytestmark = pytest.mark.integration
IMAGE = "docker.io/library/busybox:latest"
CELL = ResourcePath.of("default", "default", "default", "web")
V1_ROOTS = [p for p in Path("/sys/fs/cgroup").iterdir() if (p / "cgroup.procs").exists()]


# Both depend on `runtime` so they are torn down after its containers are gone.
@pytest.fixture
def netns(instance: str, runtime: ContainerdRuntime) -> Iterator[str]:
    name = f"{instance}-cell"
    subprocess.run(["ip", "netns", "add", name], check=True)
    yield f"/run/netns/{name}"
    subprocess.run(["ip", "netns", "del", name], check=True)


@pytest.fixture
def cgroup_parent(
    naming: Naming, runtime: ContainerdRuntime, rmdir_later: list[Path]
) -> Iterator[str]:
    parent = naming.cgroup(CELL)
    yield parent
    for root in V1_ROOTS:  # runc removes the leaf; the parents are ours to remove
        for depth in range(len(CELL.segments), -1, -1):
            d = root / naming.cgroup_root.lstrip("/") / "/".join(CELL.segments[:depth])
            if d.is_dir() and not any(p.is_dir() for p in d.iterdir()):
                _rmdir(d, rmdir_later)
            elif d.is_dir():
                rmdir_later.append(d)


def _rmdir(d: Path, later: list[Path]) -> None:
    """Parents go after their children; a busy one is retried at session end."""
    for _ in range(40):
        try:
            d.rmdir()
            return
        except OSError:
            time.sleep(0.05)
    later.append(d)


def request(
    tmp_path: Path,
    netns: str,
    cgroup_parent: str,
    digest: str,
    *,
    name: str = "main",
    args: tuple[str, ...] = ("-c", "echo hello; echo oops >&2; exec sleep 300"),
    resources: Resources | None = None,
) -> ContainerRequest:
    container = Container(name=name, image=IMAGE, command=("sh",), args=args,
                          resources=resources or Resources())
    cell = Cell(path=CELL, containers=(container,))
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    return ContainerRequest(
        path=CELL.child(name), cell=cell, container=container,
        spec_hash=spec_hash(container, cell), image_digest=digest, netns_path=netns,
        cgroup_parent=cgroup_parent, etc_files={"/etc/hosts": str(hosts)},
        log_path=str(tmp_path / "logs" / f"{name}.log"),
        spec_fields=container_fields(container, cell),
    )  # fmt: skip


def imported(aio: asyncio.Runner, rt: ContainerdRuntime, archive: Path) -> str:
    aio.run(rt.ensure_namespace("default", rt.naming.namespace("default")))
    images = aio.run(rt.import_archive(rt.naming.namespace("default"), archive))
    assert [i.name for i in images] == [IMAGE]
    return images[0].digest


async def call(rpc: Awaitable[object]) -> object:
    return await rpc


def wait_for(pred: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_run_log_limits_stop_delete(
    aio: asyncio.Runner, runtime: ContainerdRuntime, busybox_archive: Path, tmp_path: Path,
    netns: str, cgroup_parent: str,
) -> None:  # fmt: skip
    digest = imported(aio, runtime, busybox_archive)
    assert aio.run(runtime.image_digest("default", "busybox")) == digest
    req = request(tmp_path, netns, cgroup_parent, digest,
                  resources=Resources(memory_limit_bytes=64 << 20, pids_limit=50))  # fmt: skip
    aio.run(runtime.create_container(req))

    (seen,) = aio.run(runtime.observe()).containers
    assert (seen.path, seen.task, seen.spec_hash, seen.image_digest) == (
        req.path, TaskState.RUNNING, req.spec_hash, digest)  # fmt: skip
    assert seen.spec_fields == req.spec_fields
    log = Path(req.log_path)
    wait_for(lambda: log.exists() and "oops" in log.read_text())
    assert sorted(log.read_text().split()) == ["hello", "oops"]

    leaf = f"{cgroup_parent}/main".lstrip("/")
    memory = Path("/sys/fs/cgroup/memory", leaf, "memory.limit_in_bytes")
    assert int(memory.read_text()) == 64 << 20
    assert Path("/sys/fs/cgroup/pids", leaf, "pids.max").read_text().strip() == "50"
    assert str(seen.pid) in Path("/sys/fs/cgroup/memory", leaf, "cgroup.procs").read_text()

    aio.run(runtime.stop_container(req.path, 0.3))
    (stopped,) = aio.run(runtime.observe()).containers
    assert stopped.task is TaskState.NONE
    aio.run(runtime.stop_container(req.path, 0.3))  # idempotent
    aio.run(runtime.delete_container(req.path))
    aio.run(runtime.delete_container(req.path))
    assert aio.run(runtime.observe()).containers == ()
    assert not Path("/sys/fs/cgroup/memory", leaf).exists()


def test_create_is_idempotent_and_adopted_by_a_new_runtime(
    aio: asyncio.Runner, runtime: ContainerdRuntime, busybox_archive: Path, tmp_path: Path,
    netns: str, cgroup_parent: str, containerd_socket: str, naming: Naming,
) -> None:  # fmt: skip
    digest = imported(aio, runtime, busybox_archive)
    req = request(tmp_path, netns, cgroup_parent, digest)
    aio.run(runtime.create_container(req))
    first = aio.run(runtime.observe()).containers
    aio.run(runtime.create_container(req))
    assert aio.run(runtime.observe()).containers == first

    async def fresh_observe() -> tuple[object, ...]:
        other = ContainerdRuntime(containerd_socket, naming)
        try:
            obs = await other.observe()
            return (obs.namespaces, obs.containers, obs.orphans)
        finally:
            await other.close()

    assert aio.run(fresh_observe()) == (frozenset({"default"}), first, ())

    async def stranger_sees_nothing() -> int:
        other = ContainerdRuntime(containerd_socket, Naming("someone-else"))
        try:
            return len((await other.observe()).containers)
        finally:
            await other.close()

    assert aio.run(stranger_sees_nothing()) == 0
    aio.run(runtime.delete_container(req.path))


def test_exits_report_the_exit_code_and_restart(
    aio: asyncio.Runner, runtime: ContainerdRuntime, busybox_archive: Path, tmp_path: Path,
    netns: str, cgroup_parent: str,
) -> None:  # fmt: skip
    digest = imported(aio, runtime, busybox_archive)
    # exits 7 the first time; the restarted task (same rootfs) keeps running
    script = "test -f /once && exec sleep 300; touch /once; sleep 0.3; exit 7"
    req = request(tmp_path, netns, cgroup_parent, digest, args=("-c", script))

    async def run_and_wait() -> tuple[int, float]:
        stream = runtime.exits()
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.2)  # the subscription is in place
        await runtime.create_container(req)
        ev = await asyncio.wait_for(first, 10)
        await stream.aclose()
        assert ev.path == req.path
        return ev.exit_code, ev.exited_at

    code, exited_at = aio.run(run_and_wait())
    assert code == 7 and abs(exited_at - time.time()) < 30
    (seen,) = aio.run(runtime.observe()).containers
    assert (seen.task, seen.exit_code) == (TaskState.STOPPED, 7)

    aio.run(runtime.start_container(req.path))  # restart: a stopped task is replaced
    (again,) = aio.run(runtime.observe()).containers
    assert again.task is TaskState.RUNNING and again.pid != seen.pid


def test_crash_leftovers_give_a_fresh_rootfs_and_a_lost_snapshot_is_recreated(
    aio: asyncio.Runner, runtime: ContainerdRuntime, busybox_archive: Path, tmp_path: Path,
    netns: str, cgroup_parent: str,
) -> None:  # fmt: skip
    digest = imported(aio, runtime, busybox_archive)
    script = "test -f /old && echo reused; touch /old; echo up; exec sleep 300"
    req = request(tmp_path, netns, cgroup_parent, digest, args=("-c", script))
    log = Path(req.log_path)
    c, ns = runtime.client, runtime.naming.namespace("default")
    cid, key = runtime.naming.container_id(req.path), runtime.naming.snapshot_key(req.path)
    aio.run(runtime.create_container(req))
    wait_for(lambda: log.exists() and log.read_text().count("up") == 1)

    # a delete cut short after the container record went: the old rootfs is left behind
    aio.run(runtime.stop_container(req.path, 0.3))
    aio.run(call(c.containers.Delete(containers_pb2.DeleteContainerRequest(id=cid), **c.opts(ns))))
    aio.run(runtime.create_container(req))
    wait_for(lambda: log.read_text().count("up") == 2)
    assert "reused" not in log.read_text()

    # the rootfs lost under a stopped container: starting it fails once, recreating works
    aio.run(runtime.stop_container(req.path, 0.3))
    aio.run(call(c.snapshots.Remove(
        snapshots_pb2.RemoveSnapshotRequest(snapshotter="overlayfs", key=key), **c.opts(ns))))  # fmt: skip
    with pytest.raises(TransientError, match=r"snapshot .* is gone"):
        aio.run(runtime.start_container(req.path))
    assert aio.run(runtime.observe()).containers == ()
    aio.run(runtime.create_container(req))
    (seen,) = aio.run(runtime.observe()).containers
    assert seen.task is TaskState.RUNNING
    aio.run(runtime.delete_container(req.path))


def test_exec_runs_in_the_container_with_exit_code_output_and_timeout(
    aio: asyncio.Runner, runtime: ContainerdRuntime, busybox_archive: Path, tmp_path: Path,
    netns: str, cgroup_parent: str,
) -> None:  # fmt: skip
    digest = imported(aio, runtime, busybox_archive)
    req = request(tmp_path, netns, cgroup_parent, digest)
    aio.run(runtime.create_container(req))
    code, out = aio.run(runtime.exec(req.path, ["sh", "-c", "echo out; echo err >&2; hostname"], 5))
    assert code == 0 and out.split() == ["out", "web", "err"]
    assert aio.run(runtime.exec(req.path, ["sh", "-c", "exit 3"], 5))[0] == 3
    started = time.monotonic()
    assert aio.run(runtime.exec(req.path, ["sleep", "30"], 0.5))[0] == -1
    assert time.monotonic() - started < 10  # the 0.5 s timeout is honoured (kill + reap)
    # the container's own process is untouched by a killed exec
    (seen,) = aio.run(runtime.observe()).containers
    assert seen.task is TaskState.RUNNING
