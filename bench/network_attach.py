"""Latency of the network driver vs the same plugin chain run by hand.

Run as root inside a private netns (nothing touches the host network):
  unshare --net --fork sh -c 'ip link set lo up && .venv/bin/python bench/network_attach.py'
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from kukeon.drivers.base import SpaceNetwork
from kukeon.drivers.network import CniNetwork
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import Naming
from kukeon.model.resources import Cell, Egress

N = 20
SPACE = ResourcePath.of("default", "bench")


def by_hand(conflist: dict[str, object], root: Path, i: int) -> tuple[float, float]:
    """netns + plugin chain ADD, then DEL + netns removal, as a shell user would."""
    pin, cid = root / f"hand{i}", f"hand{i}"
    env = {**os.environ, "CNI_CONTAINERID": cid, "CNI_NETNS": str(pin),
           "CNI_IFNAME": "eth0", "CNI_PATH": "/usr/lib/cni"}
    plugins: list[dict[str, object]] = conflist["plugins"]  # type: ignore[assignment]

    def run(command: str, plugin: dict[str, object], prev: object) -> bytes:
        conf = {**plugin, "name": conflist["name"], "cniVersion": conflist["cniVersion"]}
        if prev is not None:
            conf["prevResult"] = prev
        return subprocess.run([f"/usr/lib/cni/{plugin['type']}"], input=json.dumps(conf).encode(),
                              env={**env, "CNI_COMMAND": command}, capture_output=True,
                              check=True).stdout

    t0 = time.perf_counter()
    pin.touch()
    subprocess.run(["unshare", f"--net={pin}", "ip", "link", "set", "lo", "up"], check=True)
    prev = None
    for p in plugins:
        prev = json.loads(run("ADD", p, prev))
    t1 = time.perf_counter()
    for p in reversed(plugins):
        run("DEL", p, prev)
    subprocess.run(["umount", str(pin)], check=True)
    pin.unlink()
    return t1 - t0, time.perf_counter() - t1


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        net = CniNetwork(Naming("ktbench"), run_dir=root / "run", state_dir=root / "st")
        await net.ensure_space(SpaceNetwork(SPACE, None, Egress()))
        cells = [Cell(path=SPACE.child("s").child(f"c{i}")) for i in range(N + 2)]
        add, dele = [], []
        for c in cells:
            t0 = time.perf_counter()
            await net.ensure_cell(c)
            t1 = time.perf_counter()
            await net.delete_cell(c.path)
            add.append(t1 - t0)
            dele.append(time.perf_counter() - t1)
        conflist = json.loads(next((root / "st/cni/net.d").iterdir()).read_text())
        hand = [by_hand(conflist, root, i) for i in range(N + 2)][2:]
        ms = lambda xs: f"{statistics.median(xs) * 1000:.1f} ms"  # noqa: E731
        print(f"ensure_cell median {ms(add[2:])}  (by hand: netns + ADD {ms([h[0] for h in hand])})")
        print(f"delete_cell median {ms(dele[2:])}  (by hand: DEL + unpin {ms([h[1] for h in hand])})")
        for c in cells[:50] + [Cell(path=SPACE.child("s").child(f"o{i}")) for i in range(28)]:
            await net.ensure_cell(c)
        obs_t = []
        for _ in range(10):
            t0 = time.perf_counter()
            obs = await net.observe()
            obs_t.append(time.perf_counter() - t0)
        print(f"observe with {len(obs.cells)} cells: median {ms(obs_t)}")
        await net.delete_space(SPACE)


if __name__ == "__main__":
    asyncio.run(main())
