"""containerd's event stream as the bench's clock: the moment a task starts or a container
is deleted is when containerd says so, for kukeon and for ctr alike (no polling)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import grpc

from kukeon._ctdapi.events import container_pb2 as container_events
from kukeon._ctdapi.events import task_pb2 as task_events
from kukeon._ctdapi.services.events.v1 import events_pb2
from kukeon.drivers.containerd.client import Client

_DECODE = {
    "/tasks/start": task_events.TaskStart,
    "/tasks/exit": task_events.TaskExit,
    "/tasks/delete": task_events.TaskDelete,
    "/containers/create": container_events.ContainerCreate,
    "/containers/delete": container_events.ContainerDelete,
}


@dataclass(frozen=True)
class Seen:
    at: float  # time.perf_counter() when received
    topic: str
    namespace: str
    container: str


class CtdEvents:
    def __init__(self, socket: str) -> None:
        self.client = Client(socket)
        self.seen: list[Seen] = []
        self._cond = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._read())
        await asyncio.sleep(0.3)  # the subscription is live once the server has it

    async def _read(self) -> None:
        call = self.client.events.Subscribe(events_pb2.SubscribeRequest())
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
            async for env in call:
                at = time.perf_counter()
                cls = _DECODE.get(env.topic)
                cid = ""
                if cls is not None:
                    ev = cls.FromString(env.event.value)
                    cid = getattr(ev, "container_id", "") or getattr(ev, "id", "")
                    if env.topic == "/tasks/exit" and ev.id and ev.id != ev.container_id:
                        continue  # an exec'd process
                async with self._cond:
                    self.seen.append(Seen(at, env.topic, env.namespace, cid))
                    self._cond.notify_all()

    def count(self, after: float, namespace: str | None = None) -> list[Seen]:
        return [s for s in self.seen if s.at >= after and namespace in (None, s.namespace)]

    async def wait(self, topic: str, namespace: str, containers: set[str], after: float,
                   timeout: float = 60.0) -> float:
        """The time the last of ``containers`` had a ``topic`` event after ``after``."""
        def done() -> bool:
            hit = {s.container for s in self.seen if s.at >= after and s.topic == topic
                   and s.namespace == namespace and s.container in containers}
            return hit == containers

        async with asyncio.timeout(timeout), self._cond:
            await self._cond.wait_for(done)
        return max(s.at for s in self.seen if s.at >= after and s.topic == topic
                   and s.namespace == namespace and s.container in containers)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()
