"""Health checks for every running container with a ``healthCheck``, on one scheduler.

One heap of due times, one task: no thread or timer per check. http and tcp checks
connect from kukeond's own side of the bridge to the cell's IP (as kubelet does; no
thread ever setns()s); exec checks run inside the container through the runtime.
A status change wakes the control loop, which decides about restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kukeon.drivers.base import DriverError, ObservedContainer, Runtime, TaskState
from kukeon.model.identity import ResourcePath
from kukeon.model.resources import Cell, HealthCheck

OUTPUT_MAX = 512


@dataclass
class HealthState:
    check: HealthCheck
    pid: int  # the process being checked; a new pid is a new start
    started: float  # monotonic time the process was first seen running
    status: str = "starting"  # starting | healthy | unhealthy
    failures: int = 0
    last_check: float = 0.0  # unix time
    output: str = ""

    @property
    def reason(self) -> str:
        return f"health check failed {self.failures} times: {self.output}".strip()


@dataclass(order=True)
class _Due:
    at: float
    path: ResourcePath = field(compare=False)
    pid: int = field(compare=False)


class HealthMonitor:
    def __init__(
        self,
        runtime: Runtime,
        on_change: Callable[[ResourcePath, HealthState], None],
        *,
        concurrency: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.on_change = on_change
        self.clock = clock
        self.states: dict[ResourcePath, HealthState] = {}
        self._ips: dict[ResourcePath, str] = {}
        self._heap: list[_Due] = []
        self._kick = asyncio.Event()
        self._sem = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()

    def status_of(self, path: ResourcePath) -> str | None:
        state = self.states.get(path)
        return None if state is None else state.status

    def sync(
        self,
        cells: Iterable[Cell],
        containers: Iterable[ObservedContainer],
        ips: dict[ResourcePath, str],
    ) -> None:
        """Follow the latest observation: schedule new processes, forget gone ones."""
        checks = {
            cell.path.child(c.name): c.health_check
            for cell in cells
            for c in cell.containers
            if c.health_check is not None
        }
        running = {oc.path: oc.pid for oc in containers if oc.task is TaskState.RUNNING}
        self._ips = ips
        now = self.clock()
        for path in list(self.states):
            if path not in checks or running.get(path) != self.states[path].pid:
                del self.states[path]
        for path, check in checks.items():
            pid = running.get(path)
            if pid is None:
                continue
            state = self.states.get(path)
            if state is None or state.check != check:
                self.states[path] = HealthState(check, pid, now)
                heapq.heappush(self._heap, _Due(now + min(check.interval_seconds, 1.0), path, pid))
                self._kick.set()

    async def run(self) -> None:
        try:
            while True:
                while not self._heap:
                    self._kick.clear()
                    await self._kick.wait()
                due = self._heap[0]
                wait = due.at - self.clock()
                if wait > 0:
                    self._kick.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._kick.wait()
                    continue
                heapq.heappop(self._heap)
                state = self.states.get(due.path)
                if state is None or state.pid != due.pid:
                    continue  # the process is gone or restarted: its new entry is queued
                task = asyncio.create_task(self._check(due.path, state))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        finally:
            for task in self._running:
                task.cancel()

    async def _check(self, path: ResourcePath, state: HealthState) -> None:
        async with self._sem:
            ok, output = await self._probe(path, state.check)
        if self.states.get(path) is not state:
            return
        before = state.status
        state.last_check = time.time()
        state.output = output[:OUTPUT_MAX]
        if ok:
            state.failures = 0
            state.status = "healthy"
        else:
            in_start_period = self.clock() - state.started < state.check.start_period_seconds
            if not in_start_period:
                state.failures += 1
                if state.failures >= state.check.failure_threshold:
                    state.status = "unhealthy"
        if state.status != before:
            self.on_change(path, state)
        next_at = self.clock() + state.check.interval_seconds
        heapq.heappush(self._heap, _Due(next_at, path, state.pid))
        self._kick.set()

    async def _probe(self, path: ResourcePath, check: HealthCheck) -> tuple[bool, str]:
        if check.kind == "exec":
            try:
                code, out = await self.runtime.exec(
                    path, list(check.command), check.timeout_seconds
                )
            except DriverError as err:
                return False, str(err)
            if code == -1:
                return False, f"timed out after {check.timeout_seconds:g}s"
            return code == 0, out.strip() or f"exit code {code}"
        cell = path.parent
        ip = self._ips.get(cell) if cell else None
        if not ip:
            return False, "the cell has no IP yet"
        try:
            async with asyncio.timeout(check.timeout_seconds):
                if check.kind == "tcp":
                    _, writer = await asyncio.open_connection(ip, check.port)
                    writer.close()
                    return True, f"connected to {ip}:{check.port}"
                return await _http(ip, check)
        except TimeoutError:
            return False, f"timed out after {check.timeout_seconds:g}s"
        except OSError as err:
            return False, err.strerror or str(err)


async def _http(ip: str, check: HealthCheck) -> tuple[bool, str]:
    reader, writer = await asyncio.open_connection(ip, check.port)
    try:
        request = f"GET {check.path} HTTP/1.0\r\nHost: {ip}\r\nUser-Agent: kukeon-health\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        line = (await reader.readline()).decode(errors="replace").strip()
    finally:
        writer.close()
    parts = line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        return False, f"not an HTTP answer: {line[:80]!r}"
    status = int(parts[1])
    ok = status == check.expect_status if check.expect_status else 200 <= status < 400
    return ok, f"HTTP {status}"
