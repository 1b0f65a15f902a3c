"""The podman baseline: ``podman kube play`` of the equivalent pod, with private config and
storage under the bench's directory (see notes/perf-baselines.md for why each setting)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.byhand import IMAGE, run

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nproc=1000:1000", "nofile=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
runtime = "runc"
tmp_dir = "{d}/tmp"
static_dir = "{d}/root/libpod"
volume_path = "{d}/root/volumes"
[network]
network_backend = "netavark"
network_config_dir = "{d}/net"
"""
STORAGE_CONF = """\
[storage]
driver = "overlay"
graphroot = "{d}/root"
runroot = "{d}/run"
"""
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
    - name: main
      image: {image}
      imagePullPolicy: IfNotPresent
      command: ["/bin/sleep", "100000"]
"""


def available() -> bool:
    return shutil.which("podman") is not None


class Podman:
    def __init__(self, base: Path) -> None:
        self.dir = base
        for sub in ("tmp", "net", "pods"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        (base / "containers.conf").write_text(CONTAINERS_CONF.format(d=base))
        (base / "storage.conf").write_text(STORAGE_CONF.format(d=base))
        self.env = {**os.environ, "CONTAINERS_CONF": str(base / "containers.conf"),
                    "CONTAINERS_STORAGE_CONF": str(base / "storage.conf"), "TMPDIR": str(base / "tmp")}

    async def podman(self, *args: str) -> bytes:
        return await run("podman", *args, env=self.env)

    async def load(self, archive: Path) -> str:
        await self.podman("load", "-i", str(archive))
        return (await self.podman("version", "--format", "{{.Client.Version}}")).decode().strip()

    def pod_file(self, name: str) -> Path:
        f = self.dir / "pods" / f"{name}.yaml"
        f.write_text(POD.format(name=name, image=IMAGE))
        return f

    async def play(self, name: str) -> None:
        """Returns once podman has started the container (kube play waits for it)."""
        await self.podman("kube", "play", str(self.pod_file(name)))

    async def down(self, name: str) -> None:
        """``pod stop -t 0`` first: ``kube down`` alone stalls ~3 s on conmon's cgroup."""
        await self.podman("pod", "stop", "-t", "0", name)
        await self.podman("kube", "down", str(self.pod_file(name)))

    async def running(self, name: str) -> bool:
        out = await self.podman("container", "inspect", "--format", "{{.State.Status}}", f"{name}-main")
        return out.decode().strip() == "running"

    async def reset(self) -> None:
        await self.podman("pod", "rm", "-a", "-f")
        await self.podman("system", "reset", "-f")
