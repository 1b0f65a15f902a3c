"""A private containerd and a real kukeond (own dirs and instance, like
tests/fixtures/kukeond.py), its API over grpc.aio, and a teardown that leaves nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

from kukeon.api import kukeon_pb2 as pb
from kukeon.api import kukeon_pb2_grpc as pbg
from kukeon.drivers.cgroups import make_cgroups
from kukeon.drivers.containerd.embedded import start_embedded, stop_embedded
from kukeon.drivers.containerd.runtime import ContainerdRuntime
from kukeon.drivers.network import CniNetwork
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming

ROOT = Path(__file__).resolve().parents[1]
REALM, SPACE, STACK = "default", "default", "default"
CELL_DOC = """\
apiVersion: v1beta1
kind: Cell
metadata:
  name: {name}
spec:
  containers:
    - id: main
      image: docker.io/library/busybox:latest
      command: /bin/sleep
      args: ["100000"]
"""


def cell_path(name: str) -> ResourcePath:
    return ResourcePath.of(REALM, SPACE, STACK, name)


class Kukeond:
    def __init__(self, base: Path, instance: str, containerd_socket: str) -> None:
        self.base = base
        self.instance = instance
        self.naming = Naming(instance)
        self.ctd = containerd_socket
        self.manifests = base / "manifests"
        self.socket = base / "kukeond.sock"
        self.run_dir = base / "run"
        self.state_dir = base / "state"
        self.proc: subprocess.Popen[bytes] | None = None
        self.api: Any = None
        self._channel: grpc.aio.Channel | None = None
        self._cgroup_roots = [p for p in Path("/sys/fs/cgroup").iterdir() if p.is_dir()]

    # -- names (all from Naming) -----------------------------------------------------
    @property
    def namespace(self) -> str:
        return self.naming.namespace(REALM)

    def container_id(self, name: str) -> str:
        return self.naming.container_id(cell_path(name).child("main"))

    def host_traces(self, name: str) -> list[Path]:
        """Where a cell shows on the host: its netns pin and its cgroup directories."""
        pin = self.run_dir / "netns" / self.naming.netns_pin(cell_path(name))
        cg = self.naming.cgroup(cell_path(name)).lstrip("/")
        return [pin, *(root / cg for root in self._cgroup_roots)]

    # -- life ----------------------------------------------------------------------------
    async def start(self) -> None:
        self.manifests.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "kukeon.app.kukeond", "--instance", self.instance,
                "--state-dir", str(self.state_dir), "--run-dir", str(self.run_dir),
                "--log-dir", str(self.base / "logs"), "--manifests-dir", str(self.manifests),
                "--socket", str(self.socket), "--containerd-socket", self.ctd,
                "--containerd-managed", "never", "--stop-grace", "0"]
        with (self.base / "kukeond.log").open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, cwd=ROOT)
        self._channel = grpc.aio.insecure_channel(f"unix://{self.socket}")
        self.api = pbg.KukeonStub(self._channel)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kukeond exited:\n{self.tail()}")
            with contextlib.suppress(grpc.aio.AioRpcError):
                if self.socket.exists() and (await self.status()).pass_number > 0:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"kukeond did not finish a first pass:\n{self.tail()}")
            await asyncio.sleep(0.05)

    def tail(self, n: int = 30) -> str:
        text = (self.base / "kukeond.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-n:])

    async def status(self) -> Any:
        return await self.api.Status(pb.StatusRequest())

    async def apply(self, names: list[str]) -> Any:
        docs = [pb.Document(name=f"{n}.yaml", content=CELL_DOC.format(name=n)) for n in names]
        return await self.api.Apply(pb.ApplyRequest(documents=docs))

    async def delete(self, names: list[str]) -> Any:
        return await self.api.Delete(pb.DeleteRequest(paths=[str(cell_path(n)) for n in names]))

    async def import_image(self, archive: Path) -> None:
        data = archive.read_bytes()

        async def chunks() -> Any:
            yield pb.ImageImportChunk(realm=REALM, data=data)

        await self.api.ImageImport(chunks())

    async def cells(self) -> list[Any]:
        return list((await self.api.List(pb.ListRequest(kind="Cell"))).resources)

    async def wait_idle(self, timeout: float = 120.0) -> Any:
        """Until a pass that started after now did nothing and plans nothing. An empty
        Apply wakes the loop, so this does not wait for the resync timer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            number = (await self.api.Apply(pb.ApplyRequest())).pass_number
            while (st := await self.status()).pass_number <= number:
                await asyncio.sleep(0.02)
            if st.last_pass_actions == 0 and not st.pending.actions and not st.pending.waiting:
                return st
            await asyncio.sleep(0.1)
        raise RuntimeError(f"kukeond did not settle:\n{self.tail()}")

    async def stop(self) -> None:
        if self._channel is not None:
            await self._channel.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    async def remove_everything(self) -> None:
        """Cells through kukeond, then what it keeps while running (default realm, space)
        with the drivers, then its namespace in containerd."""
        with contextlib.suppress(grpc.aio.AioRpcError):
            names = [ResourcePath.parse(c.path).name for c in await self.cells()]
            if names:
                await self.delete(names)
            deadline = time.monotonic() + 120
            while await self.cells() and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
        await self.stop()
        network = CniNetwork(self.naming, run_dir=self.run_dir, state_dir=self.state_dir)
        await network.delete_space(ResourcePath.of(REALM, SPACE))
        await network.close()
        await make_cgroups(self.naming).delete(ResourcePath.of(REALM))
        rt = ContainerdRuntime(self.ctd, self.naming)
        try:
            obs = await rt.observe()
            for c in obs.containers:
                await rt.delete_container(c.path)
            for realm in obs.namespaces:
                await rt.delete_namespace(realm, self.naming.namespace(realm))
        finally:
            await rt.close()


async def start_containerd(base: Path) -> str:
    return await start_embedded(base / "ctd-run", base / "ctd-state", base / "containerd.log")


async def stop_containerd(base: Path, socket: str) -> None:
    await stop_embedded(base / "ctd-run")
    for proc in Path("/proc").iterdir():  # shims of this containerd name its address
        with contextlib.suppress(OSError, ValueError):
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if argv[0].endswith(b"containerd-shim-runc-v2") and socket.encode() in argv:
                os.kill(int(proc.name), signal.SIGKILL)
    unmount_under(base)


def unmount_under(base: Path) -> None:
    for line in reversed(Path("/proc/self/mounts").read_text().splitlines()):
        target = line.split()[1]
        if target.startswith(str(base)):
            subprocess.run(["umount", "-l", target], check=False, capture_output=True)
