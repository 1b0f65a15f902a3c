"""Crash at every step: for each failpoint of kukeon.model.failpoints.POINTS and each phase
it is hit in, kukeond dies right there (exit 137, like kill -9), restarts without the
failpoint, and must converge with nothing missing, nothing twice and nothing leaked,
counted from the host."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import grpc
import pytest

from kukeon.api import kukeon_pb2 as pb
from kukeon.model.failpoints import CRASH_EXIT, ENV, POINTS
from tests.fixtures.kukeond import Kukeond, wait_for
from tests.reliability.host import converged

pytestmark = pytest.mark.integration

CELL = "default/default/default/fp"
CASES = [(name, phase) for name, (phases, _) in POINTS.items() for phase in phases]
RUNNING = "trap 'exit 0' TERM; sleep 3600 & wait"
# Exits once (code 3) a few seconds after its first start, then runs: the rootfs (and the
# marker file in it) survives a restart of the task.
FLAKY = "if [ -e /ran ]; then trap 'exit 0' TERM; sleep 3600 & wait; fi; touch /ran; sleep 3; exit 3"


def cell_yaml(cmd: str = RUNNING) -> str:
    return f"""
apiVersion: v1beta1
kind: Cell
metadata: {{name: fp}}
spec:
  resources: {{memoryLimitBytes: 134217728, pidsLimit: 64}}
  containers:
    - id: main
      image: docker.io/library/busybox:latest
      command: [/bin/sh, -c, "{cmd}"]
      resources: {{memoryLimitBytes: 67108864}}
"""


def arm(d: Kukeond, point: str) -> None:
    """Restart kukeond with the failpoint armed (it settles first, so defaults exist)."""
    d.stop()
    d.env[ENV] = f"{point}=crash"
    d.start()


def crashes(d: Kukeond, point: str, act: Callable[[], object] | None = None) -> None:
    """Do ``act`` and see kukeond die at ``point``; then start it again without it."""
    started = time.monotonic()
    if act is not None:
        with contextlib.suppress(grpc.RpcError):  # the crash may cut the call itself
            act()
    assert d.proc is not None
    proc = d.proc
    wait_for(f"kukeond to crash at {point}", lambda: proc.poll() is not None, 30)
    assert proc.returncode == CRASH_EXIT, d.tail()
    assert f"failpoint {point}: crash" in d.tail(), d.tail()
    print(f"{point}: crashed {time.monotonic() - started:.2f}s after the action")
    d.stop()
    del d.env[ENV]
    d.start()



@pytest.mark.parametrize(("point", "phase"), CASES, ids=[f"{p}-{ph}" for p, ph in CASES])
def test_crash_at_failpoint(kukeond: Kukeond, point: str, phase: str) -> None:
    d = kukeond
    if phase == "apply":
        arm(d, point)
        crashes(d, point, lambda: d.apply(cell_yaml()))
        converged(d, {CELL: ["main"]})
    elif phase == "delete":
        d.apply(cell_yaml())
        d.wait_phase(CELL, "Ready")
        arm(d, point)
        crashes(d, point, lambda: d.api.Delete(pb.DeleteRequest(paths=[CELL])))
        converged(d, {})
    else:  # restart: the container exits once, kukeond restarts it and dies on the way
        d.apply(cell_yaml(FLAKY))
        d.wait_phase(CELL, "Ready")
        arm(d, point)
        crashes(d, point)
        converged(d, {CELL: ["main"]})


def test_every_failpoint_is_in_the_code() -> None:
    """A point in the registry that no code hits would be a test that proves nothing."""
    from pathlib import Path

    import kukeon

    source = "".join(p.read_text() for p in Path(kukeon.__file__).parent.rglob("*.py"))
    for name in POINTS:
        assert f'failpoint("{name}"' in source, f"{name} is registered but never hit"
