"""kukeon against ctr (+ the same CNI chain by hand) and podman, in one run, as ratios.

Run as root:  .venv/bin/python bench/run.py [--quick] [--reps N]
It re-executes itself in a private network namespace (lo up), starts its own containerd and
a real kukeond (own instance and dirs), measures, removes everything, prints a table and
saves the numbers as JSON in bench/results/. DESIGN.md section 8 has the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fakepass, podman
from bench.byhand import NAMESPACE, ByHand, run
from bench.ctdevents import CtdEvents
from bench.daemon import CELL_DOC, Kukeond, start_containerd, stop_containerd, unmount_under
from bench.stats import ratio, summary, table
from kukeon._ctdapi.services.tasks.v1 import tasks_pb2
from kukeon.drivers.containerd.seed import build_busybox_archive

ROOT = Path(__file__).resolve().parents[1]
NETNS_MARK = "KUKEON_BENCH_IN_NETNS"
START, EXIT, CDELETE = "/tasks/start", "/tasks/exit", "/containers/delete"
now = time.perf_counter
T = TypeVar("T")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace, base: Path) -> None:
        self.args = args
        self.base = base
        self.quick: bool = args.quick
        self.reps: int = args.reps
        self.warm = 1 if self.quick else 2
        self.rows: list[dict[str, Any]] = []
        self.data: dict[str, Any] = {}
        self.notes: list[str] = []

    # -- plumbing ----------------------------------------------------------------------
    def row(self, what: str, k: dict[str, Any] | None, base_name: str | None = None,
            b: dict[str, Any] | None = None, target: str = "") -> None:
        self.rows.append({"what": what, "kukeon": k, "baseline_name": base_name, "baseline": b,
                          "ratio": ratio(k, b), "target": target})

    async def gone(self, name: str, after: float, timeout: float = 60.0) -> float:
        """Torn down: containerd deleted the container, netns pin and cgroups are gone."""
        await self.ev.wait(CDELETE, self.d.namespace, {self.d.container_id(name)}, after, timeout)
        traces = self.d.host_traces(name)
        deadline = now() + timeout
        while any(p.exists() for p in traces):
            if now() > deadline:
                raise RuntimeError(f"cell {name} left {[p for p in traces if p.exists()]}")
            await asyncio.sleep(0.002)
        return now()

    async def running(self, names: list[str], after: float) -> float:
        ids = {self.d.container_id(n) for n in names}
        return await self.ev.wait(START, self.d.namespace, ids, after, 120)

    async def by_hand_running(self, ids: list[str], after: float) -> float:
        return await self.ev.wait(START, NAMESPACE, set(ids), after, 120)

    async def repeat(self, what: str, one: Callable[[int], Awaitable[T]], n: int) -> list[T]:
        out = []
        for i in range(-self.warm, n):
            r = await one(i + self.warm)
            if i >= 0:
                out.append(r)
            await asyncio.sleep(0.1)  # let the daemon finish its pass before the next one
        log(f"{what}: {n} repetitions done")
        return out

    # -- set-up ----------------------------------------------------------------------------
    async def setup(self) -> None:
        self.archive = self.base / "busybox.tar"
        build_busybox_archive(self.archive)
        self.ctd = await start_containerd(self.base)
        self.ev = CtdEvents(self.ctd)
        await self.ev.start()
        await run("ctr", "-a", self.ctd, "-n", NAMESPACE, "images", "import", str(self.archive))
        self.d = Kukeond(self.base / "kukeond", f"kb{secrets.token_hex(3)}", self.ctd)
        await self.d.start()
        await self.d.import_image(self.archive)
        conflists = list((self.d.state_dir / "cni" / "net.d").glob("*.conflist"))
        if len(conflists) != 1:
            raise RuntimeError(f"expected the default space's conflist, found {conflists}")
        self.conflist = json.loads(conflists[0].read_text())
        self.hand = ByHand(self.ctd, self.conflist, self.base / "hand-pins")
        self.data["conflist_plugins"] = [p["type"] for p in self.conflist["plugins"]]

    async def machine(self) -> dict[str, Any]:
        versions = {}
        for name, argv in {"containerd": ["containerd", "--version"], "runc": ["runc", "--version"],
                           "python": [sys.executable, "--version"]}.items():
            with contextlib.suppress(Exception):
                versions[name] = (await run(*argv)).decode().splitlines()[0].strip()
        mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
        cg = "v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "v1/hybrid"
        return {"nproc": os.cpu_count(), "kernel": platform.release(), "mem_gib": round(int(mem) / 2**20, 1),
                "load_at_start": os.getloadavg(), "cgroups": cg, "versions": versions,
                "date": time.strftime("%Y-%m-%d %H:%M:%S")}

    # -- (1)+(2) one cell: start and teardown -----------------------------------------------
    async def one_cell(self) -> None:
        """kukeon, by hand and podman take turns in each repetition, so a change in the
        machine's load (other work on the host) hits all three alike."""
        async def kukeon(i: int) -> tuple[float, ...]:
            name = f"s{i}"
            t0 = now()
            await self.d.apply([name])
            t_apply = now()
            t_run = await self.running([name], t0)
            t1 = now()
            await self.d.delete([name])
            t_gone = await self.gone(name, t1)
            return t_run - t0, t_gone - t1, t_apply - t0

        async def hand(i: int) -> tuple[float, ...]:
            cid = f"hand-s{i}"
            t0 = now()
            await self.hand.start(cid)
            t_run = await self.by_hand_running([cid], t0)
            t1 = now()
            await self.hand.teardown(cid)
            return t_run - t0, now() - t1

        pm: podman.Podman | None = None
        if self.quick or not podman.available():
            why = "--quick" if self.quick else "podman is not installed"
            self.notes.append(f"podman kube play NOT measured ({why})")
            log(self.notes[-1])
        else:
            pm = podman.Podman(self.base / "podman")
            self.data["podman_version"] = await pm.load(self.archive)

        async def pod(i: int) -> tuple[float, ...]:
            assert pm is not None
            name = f"pb{i}"
            t0 = now()
            await pm.play(name)  # returns once the container is started
            t_run = now()
            if not await pm.running(name):
                raise RuntimeError(f"podman pod {name} is not running after kube play")
            t1 = now()
            await pm.down(name)
            return t_run - t0, now() - t1

        async def turn(i: int) -> tuple[tuple[float, ...], ...]:
            return (await kukeon(i), await hand(i), await pod(i) if pm else ())

        try:
            r = await self.repeat("cell start/teardown: kukeon, by hand, podman", turn, self.reps)
        finally:
            if pm is not None:
                with contextlib.suppress(Exception):
                    await pm.reset()
                unmount_under(self.base / "podman")
        col = lambda who, j: summary([x[who][j] for x in r])  # noqa: E731
        ks, kt, hs, ht = col(0, 0), col(0, 1), col(1, 0), col(1, 1)
        self.data["cell_start"] = {"kukeon": ks, "kukeon_apply_rpc": col(0, 2), "by_hand": hs}
        self.data["teardown"] = {"kukeon": kt, "by_hand": ht}
        self.row("cell start (Apply -> task running)", ks, "netns+CNI ADD+ctr run -d", hs, "<=1.3x")
        if pm is not None:
            ps, pd = col(2, 0), col(2, 1)
            self.data["cell_start"]["podman_kube_play"] = ps
            self.data["teardown"]["podman_stop_t0_kube_down"] = pd
            self.row("cell start vs podman", ks, "podman kube play", ps, "~0.5x")
        self.row("teardown, grace 0 (Delete -> all gone)", kt, "ctr task rm -f+c rm+CNI DEL", ht, "<=1.3x")
        if pm is not None:
            self.row("teardown vs podman", kt, "podman pod stop -t0+kube down", pd)

    # -- (3) many cells at once --------------------------------------------------------------
    async def scale(self, n: int, keep: bool = False) -> list[str]:
        names = [f"n{n}x{j}" for j in range(n)]
        t0 = now()
        await self.d.apply(names)
        k_run = await self.running(names, t0) - t0
        entry: dict[str, Any] = {"kukeon_s": round(k_run, 3)}
        if not keep:
            t1 = now()
            await self.d.delete(names)
            for name in names:
                await self.gone(name, t1, 120)
            entry["kukeon_teardown_s"] = round(now() - t1, 3)
            await self.d.wait_idle()
            ids = [f"hand-n{n}x{j}" for j in range(n)]
            t0 = now()
            await asyncio.gather(*(self.hand.start(c) for c in ids))
            entry["by_hand_s"] = round(await self.by_hand_running(ids, t0) - t0, 3)
            t1 = now()
            await asyncio.gather(*(self.hand.teardown(c) for c in ids))
            entry["by_hand_teardown_s"] = round(now() - t1, 3)
        self.data.setdefault("scale", {})[str(n)] = entry
        log(f"{n} cells at once: {entry}")
        k = {"p50_ms": k_run * 1000, "p95_ms": k_run * 1000}
        b = {"p50_ms": entry["by_hand_s"] * 1000, "p95_ms": entry["by_hand_s"] * 1000} if "by_hand_s" in entry else None
        self.row(f"{n} cells at once -> all running", k, f"{n} concurrent by hand" if b else None, b,
                 "<=1.3x" if n == 10 else "")
        return names

    # -- (5) file written -> first action, -> running; file removed -> gone --------------
    async def file_events(self) -> None:
        async def one(i: int) -> tuple[float, ...]:
            name = f"f{i}"
            f = self.d.manifests / f"{name}.yaml"
            traces = self.d.host_traces(name)
            f.write_text(CELL_DOC.format(name=name))
            t0 = now()
            while not any(p.exists() for p in traces):
                if now() - t0 > 30:
                    raise RuntimeError(f"no action for {f} after 30 s:\n{self.d.tail()}")
                await asyncio.sleep(0.001)
            t_first = now()
            t_run = await self.running([name], t0)
            f.unlink()
            t1 = now()
            t_gone = await self.gone(name, t1)
            return t_first - t0, t_run - t0, t_gone - t1

        r = await self.repeat("manifest file events", one, self.reps)
        first, run_, gone = (summary([x[j] for x in r]) for j in range(3))
        self.data["file_events"] = {"written_to_first_action": first, "written_to_running": run_,
                                    "removed_to_gone": gone}
        self.row("file written -> first host change", first, target="<200 ms p99")
        self.row("file written -> task running", run_)
        self.row("file removed -> all gone", gone)

    # -- (4) no-op passes with real cells ------------------------------------------------------
    async def noop_passes(self, names: list[str], n: int) -> None:
        await self.d.wait_idle()
        cni_state = self.d.state_dir / "cni"
        before = {p: p.stat().st_mtime_ns for p in cni_state.rglob("*")}
        t_start = now()
        secs, actions = [], []
        for _ in range(n):
            reply = await self.d.apply(names)  # unchanged documents: wakes one pass
            while (st := await self.d.status()).pass_number <= reply.pass_number:
                await asyncio.sleep(0.01)
            secs.append(st.last_pass_seconds)
            actions.append(st.last_pass_actions)
        writes = [f"{s.topic} {s.container}" for s in self.ev.count(t_start)]
        after = {p: p.stat().st_mtime_ns for p in cni_state.rglob("*")}
        s = summary(secs)
        self.data[f"noop_pass_{len(names)}_real"] = {**s, "actions": actions, "containerd_events": writes,
                                                      "cni_state_changed": before != after}
        self.row(f"no-op pass, {len(names)} real cells", s, target="<1 s (200 cells)")
        self.notes.append(f"no-op passes over {len(names)} real cells: actions {sum(actions)}, "
                          f"containerd events {len(writes)}, CNI state changed: {before != after}")
        log(self.notes[-1])

    # -- (5b) container killed -> restarted ------------------------------------------------------
    async def kill_restart(self, names: list[str]) -> None:
        out = []
        client = self.ev.client
        for name in names:
            cid = self.d.container_id(name)
            task = await client.tasks.Get(tasks_pb2.GetRequest(container_id=cid), **client.opts(self.d.namespace))
            t0 = now()
            os.kill(task.process.pid, signal.SIGKILL)
            t_exit = await self.ev.wait(EXIT, self.d.namespace, {cid}, t0)
            t_start = await self.ev.wait(START, self.d.namespace, {cid}, t0)
            out.append((t_start - t0, t_start - t_exit))
        k, e = summary([x[0] for x in out]), summary([x[1] for x in out])
        self.data["kill_to_restart"] = {"killed_to_running": k, "exit_event_to_running": e}
        self.row("container killed -> running again", k)
        log(f"kill -> restart: {k}")

    # -- (6) idle ---------------------------------------------------------------------------------
    async def idle(self, cells: int) -> None:
        await self.d.wait_idle()
        await asyncio.sleep(1)
        assert self.d.proc is not None
        pid, tick = self.d.proc.pid, os.sysconf("SC_CLK_TCK")

        def cpu() -> int:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime

        def rss_mb() -> float:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
            return 0.0

        c0, t0, peak = cpu(), now(), 0.0
        while now() - t0 < self.args.idle_seconds:
            peak = max(peak, rss_mb())
            await asyncio.sleep(1)
        pct_core = (cpu() - c0) / tick / (now() - t0) * 100
        entry = {"cells": cells, "seconds": round(now() - t0, 1), "cpu_pct_of_core": round(pct_core, 2),
                 "rss_mb": round(rss_mb(), 1), "rss_peak_mb": round(peak, 1)}
        self.data[f"idle_{cells}_cells"] = entry
        self.row(f"kukeond idle, {cells} cells: CPU", f"{entry['cpu_pct_of_core']}% of a core", target="<1%")
        self.row(f"kukeond idle, {cells} cells: RSS", f"{entry['rss_mb']} MB", target="<80 MB")
        log(f"idle: {entry}")

    # -- (7) kuke get ------------------------------------------------------------------------------
    async def kuke_get(self, cells: int) -> None:
        kuke = str(Path(sys.executable).parent / "kuke")

        def wall(argv: list[str]) -> float:
            t0 = now()
            subprocess.run(argv, check=True, capture_output=True)
            return now() - t0

        n = max(self.reps, 3)
        k = summary([wall([kuke, "--socket", str(self.d.socket), "get", "cell"]) for _ in range(n)])
        floor = summary([wall([sys.executable, "-c", "pass"]) for _ in range(n)])
        self.data["kuke_get_cells"] = {"cells": cells, "kuke": k, "python_startup": floor}
        self.row(f"kuke get cell ({cells} cells), wall", k, "python -c pass", floor, "<250 ms")

    # -- the run ------------------------------------------------------------------------------------
    async def main(self) -> dict[str, Any]:
        self.data["machine"] = await self.machine()
        many = 5 if self.quick else 100
        sizes = [1, 3] if self.quick else [1, 10, 50]
        try:
            log("setting up containerd, kukeond, images")
            await self.setup()
            await self.idle(0)
            await self.one_cell()
            await self.file_events()
            for n in sizes:
                await self.scale(n)
            names = await self.scale(many, keep=True)
            await self.noop_passes(names, 10 if not self.quick else 3)
            await self.kill_restart(names[: self.reps])
            await self.kuke_get(many)
            await self.idle(many)
        finally:
            await self.cleanup()
        log("fake drivers: 1,000 cells")
        fake = await fakepass.noop_passes(self.args.fake_cells, self.base / "fake", 10 if not self.quick else 3)
        self.data[f"noop_pass_{self.args.fake_cells}_fake"] = fake
        self.row(f"no-op pass, {self.args.fake_cells} cells, fake drivers", fake["pass"], target="<200 ms")
        self.notes.append(f"fake drivers: writes during no-op passes: {fake['writes']}")
        self.data["machine"]["load_at_end"] = os.getloadavg()
        self.data["rows"] = self.rows
        self.data["notes"] = self.notes
        return self.data

    async def cleanup(self) -> None:
        log("removing everything")
        if getattr(self, "d", None) is not None:
            try:
                await self.d.remove_everything()
            except Exception as err:
                log(f"kukeond clean-up failed: {err!r}")
        if getattr(self, "hand", None) is not None:
            for cid in list(self.hand.results):
                with contextlib.suppress(Exception):
                    await self.hand.teardown(cid)
            self.hand.remove_cgroups()
        if getattr(self, "ev", None) is not None:
            await self.ev.close()
        if getattr(self, "ctd", None) is not None:
            await stop_containerd(self.base, self.ctd)


def reexec_in_netns() -> None:
    """Nothing may touch the host network: run again in a private netns with lo up."""
    env = {**os.environ, NETNS_MARK: "1"}
    argv = ["unshare", "--net", "--fork", "--", sys.executable, *sys.argv]
    os.execvpe("unshare", argv, env)


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: few cells, no podman")
    p.add_argument("--reps", type=int, help="repetitions (default 20, 2 with --quick)")
    p.add_argument("--idle-seconds", type=float, help="idle window (default 30, 2 with --quick)")
    p.add_argument("--fake-cells", type=int, help="cells on fake drivers (default 1000)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="JSON directory")
    a = p.parse_args()
    a.reps = a.reps or (2 if a.quick else 20)
    a.idle_seconds = a.idle_seconds or (2.0 if a.quick else 30.0)
    a.fake_cells = a.fake_cells or (100 if a.quick else 1000)
    return a


def main() -> None:
    args = parse()
    if os.geteuid() != 0:
        sys.exit("bench/run.py must run as root (containerd, CNI, cgroups)")
    if os.environ.get(NETNS_MARK) != "1":
        reexec_in_netns()
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # On the root filesystem (ext4): overlayfs cannot live on overlay or tmpfs.
    base = Path(tempfile.mkdtemp(prefix="kukeon-bench-", dir="/var/tmp"))
    try:
        data = asyncio.run(Bench(args, base).main())
    finally:
        unmount_under(base)
        shutil.rmtree(base, ignore_errors=True)
    m = data["machine"]
    print(f"\nmachine: {m['nproc']} cores, kernel {m['kernel']}, {m['mem_gib']} GiB, cgroups {m['cgroups']}, "
          f"load {m['load_at_start'][0]:.2f} -> {m['load_at_end'][0]:.2f}; {m['versions']}\n")
    print(table(data["rows"]))
    for n in data["notes"]:
        print(f"note: {n}")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(data, indent=2))
    print(f"\nsaved {out}")


if __name__ == "__main__":
    main()
