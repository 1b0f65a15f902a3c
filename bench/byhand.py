"""The baseline: what a shell user would type for one cell, with kukeon's own CNI plugin
chain (the conflist kukeond wrote) and the same image in the same containerd:
netns pin + CNI ADD + ``ctr run -d``; teardown ``ctr task rm -f`` + ``ctr c rm`` + CNI DEL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Any

CNI_PATH = "/usr/lib/cni"
NAMESPACE = "bench"
IMAGE = "docker.io/library/busybox:latest"


async def run(*argv: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)
    out, err = await proc.communicate(stdin)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {err.decode().strip()} {out.decode().strip()}")
    return out


class ByHand:
    def __init__(self, socket: str, conflist: dict[str, Any], pins: Path) -> None:
        self.ctr = ["ctr", "-a", socket, "-n", NAMESPACE]
        self.conflist = conflist
        self.pins = pins
        self.results: dict[str, Any] = {}
        pins.mkdir(parents=True, exist_ok=True)

    async def _cni(self, command: str, cid: str, pin: Path, prev: Any) -> Any:
        env = {**os.environ, "CNI_COMMAND": command, "CNI_CONTAINERID": cid,
               "CNI_NETNS": str(pin), "CNI_IFNAME": "eth0", "CNI_PATH": CNI_PATH}
        plugins = self.conflist["plugins"]
        for p in plugins if command == "ADD" else list(reversed(plugins)):
            conf = {**p, "name": self.conflist["name"], "cniVersion": self.conflist["cniVersion"]}
            if prev is not None:
                conf["prevResult"] = prev
            out = await run(f"{CNI_PATH}/{p['type']}", stdin=json.dumps(conf).encode(), env=env)
            if command == "ADD":
                prev = json.loads(out)
        return prev

    async def start(self, cid: str) -> None:
        pin = self.pins / cid
        pin.touch()
        await run("unshare", f"--net={pin}", "ip", "link", "set", "lo", "up")
        self.results[cid] = await self._cni("ADD", cid, pin, None)
        await run(*self.ctr, "run", "-d", "--with-ns", f"network:{pin}", IMAGE, cid,
                  "/bin/sleep", "100000")

    async def teardown(self, cid: str) -> None:
        pin = self.pins / cid
        await run(*self.ctr, "task", "rm", "-f", cid)
        await run(*self.ctr, "containers", "rm", cid)
        await self._cni("DEL", cid, pin, self.results.pop(cid))
        await run("umount", str(pin))
        pin.unlink()

    @staticmethod
    def remove_cgroups() -> None:
        """``ctr run`` puts containers in /<namespace>/<id>; runc removes the leaves, the
        namespace's cgroup is left in every hierarchy."""
        root = Path("/sys/fs/cgroup")
        for d in [root / NAMESPACE, *(h / NAMESPACE for h in root.iterdir() if h.is_dir())]:
            if d.is_dir():
                with contextlib.suppress(OSError):
                    d.rmdir()
