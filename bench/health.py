"""Cost of health checks: 100 cells with an http check, on kukeond's one scheduler.

The checked servers run in a separate process (one asyncio server answering on 100 ports
of 127.0.0.1), so only the checking side is measured: CPU seconds of this process per
check, and the share of a core at a 10 s interval.

    .venv/bin/python -m bench.health [CELLS] [SECONDS]
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time

from kukeon.drivers.base import ContainerRequest
from kukeon.drivers.fake import FakeRuntime
from kukeon.model.identity import ResourcePath
from kukeon.model.resources import Cell, Container, HealthCheck
from kukeon.model.spechash import container_fields, spec_hash
from kukeon.reconcile.health import HealthMonitor

BASE_PORT = 21000
SERVER = """
import asyncio, sys
async def answer(reader, writer):
    await reader.readline()
    writer.write(b"HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
    await writer.drain()
    writer.close()
async def main(n, base):
    servers = [await asyncio.start_server(answer, "127.0.0.1", base + i) for i in range(n)]
    print("ready", flush=True)
    await asyncio.sleep(3600)
asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
"""


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def measure(cells: int, seconds: float, interval: float) -> dict[str, float]:
    runtime = FakeRuntime()
    monitored = []
    ips = {}
    for i in range(cells):
        path = ResourcePath.of("default", "default", "default", f"c{i}")
        check = HealthCheck("http", port=BASE_PORT + i, interval_seconds=interval)
        c = Container(name="web", image="busybox", health_check=check)
        cell = Cell(path=path, containers=(c,))
        await runtime.create_container(ContainerRequest(
            path.child("web"), cell, c, spec_hash(c, cell), "sha256:x", "", "", {}, "",
            container_fields(c, cell)))  # fmt: skip
        monitored.append(cell)
        ips[path] = "127.0.0.1"
    changes = 0

    def changed(*_: object) -> None:
        nonlocal changes
        changes += 1

    monitor = HealthMonitor(runtime, changed)
    monitor.sync(monitored, (await runtime.observe()).containers, ips)
    task = asyncio.create_task(monitor.run())
    await asyncio.sleep(interval * 2)  # all healthy, first round done
    checks_before = sum(1 for s in monitor.states.values() if s.status == "healthy")
    cpu0, t0 = _cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = _cpu() - cpu0, time.monotonic() - t0
    task.cancel()
    done_checks = cells * wall / interval
    per_check = cpu / done_checks
    return {
        "cells": cells,
        "healthy": checks_before,
        "cpu_per_check_ms": per_check * 1000,
        "core_share_at_10s_percent": per_check * cells / 10.0 * 100,
        "core_share_measured_percent": cpu / wall * 100,
    }


def main(argv: list[str]) -> int:
    cells = int(argv[0]) if argv else 100
    seconds = float(argv[1]) if len(argv) > 1 else 20.0
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(cells), str(BASE_PORT)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        # checks every second so the sample is large; the cost scales to a 10 s interval
        result = asyncio.run(measure(cells, seconds, interval=1.0))
    finally:
        server.kill()
        server.wait()
    for key, value in result.items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
