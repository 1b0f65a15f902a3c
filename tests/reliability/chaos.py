"""Chaos: kill -9 kukeond at random instants while cells are applied, updated (env change)
and deleted; then it must converge with zero leaks. Used by tests/reliability/test_chaos.py
(a few iterations in CI) and bench/chaos.py (the full run)."""

from __future__ import annotations

import contextlib
import random
import signal
import time
from dataclasses import dataclass, field

from kukeon.api import kukeon_pb2 as pb
from tests.fixtures.kukeond import Kukeond, wait_for
from tests.reliability.host import observe, problems

PREFIX = "default/default/default/"


def chaos_yaml(name: str, version: int) -> str:
    return f"""
apiVersion: v1beta1
kind: Cell
metadata: {{name: {name}}}
spec:
  containers:
    - id: main
      image: docker.io/library/busybox:latest
      command: [/bin/sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
      env: ["VERSION={version}"]
"""


@dataclass
class ChaosResult:
    kills: int = 0
    applies: int = 0
    updates: int = 0
    deletes: int = 0
    converge_seconds: float = 0.0
    leaks: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"chaos: {self.kills} kill -9, {self.applies} creates, {self.updates} env updates, "
            f"{self.deletes} deletes; converged in {self.converge_seconds:.1f}s; "
            f"leaks/lies: {len(self.leaks)}"
        )


def run_chaos(
    d: Kukeond, iterations: int, *, cells: int = 20, seed: int = 0, converge_timeout: float = 120
) -> ChaosResult:
    rng = random.Random(seed)
    names = [f"chaos{i:02d}" for i in range(cells)]
    want: dict[str, int] = {}  # what the API holds: cell name -> env version
    res = ChaosResult()
    killed_at = time.monotonic()
    for _ in range(iterations):
        for name in rng.sample(names, rng.randint(1, cells // 2)):
            if name not in want:
                want[name] = 1
                res.applies += 1
            elif rng.random() < 0.5:
                want[name] += 1
                res.updates += 1
            else:
                del want[name]
                res.deletes += 1
                d.api.Delete(pb.DeleteRequest(paths=[PREFIX + name]))
                continue
            d.apply(chaos_yaml(name, want[name]), name=f"{name}.yaml")
        time.sleep(rng.uniform(0, 1.5))  # let it get somewhere, then kill it mid-work
        d.stop(signal.SIGKILL)
        killed_at = time.monotonic()
        res.kills += 1
        d.start()
    expected = {PREFIX + n: ["main"] for n in want}
    last: list[str] = []

    def probe() -> bool:
        nonlocal last
        st = observe(d)
        last = problems(d, expected, st)
        for name, version in want.items():
            env = (st.specs.get(f"{PREFIX}{name}/main") or {}).get("env")
            if ["VERSION", str(version)] not in (env if isinstance(env, list) else []):
                last.append(f"{name}/main runs env {env}, not VERSION={version}")
        return not last

    with contextlib.suppress(AssertionError):  # reported through res.leaks
        wait_for("chaos convergence", probe, converge_timeout, every=0.5)
    res.converge_seconds = time.monotonic() - killed_at  # from the last kill
    res.leaks = last
    return res
