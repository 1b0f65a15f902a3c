"""Events: written to the store and fanned out to live subscribers (``kuke events -w``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from kukeon.store.db import Event, Store, StoreError

log = structlog.get_logger("kukeon.events")


class EventLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._subscribers: set[asyncio.Queue[Event]] = set()

    async def emit(self, type_: str, path: str, reason: str, message: str) -> None:
        try:
            event = await self.store.add_event(type_, path, reason, message)
        except StoreError as err:  # a full disk must not stop the loop
            log.warning("event not stored", error=str(err), path=path, reason=reason)
            return
        log.info(message, reason=reason, path=path, type=type_)
        for q in self._subscribers:
            with contextlib.suppress(asyncio.QueueFull):
                q.put_nowait(event)

    async def stream(
        self, *, after_id: int, prefix: str, limit: int, follow: bool
    ) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=10_000)
        if follow:
            self._subscribers.add(queue)
        try:
            last = after_id
            for event in await self.store.events(
                after_id=after_id, path_prefix=prefix, limit=limit
            ):
                last = event.id
                yield event
            while follow:
                event = await queue.get()
                if event.id > last and _under(event.path, prefix):
                    last = event.id
                    yield event
        finally:
            self._subscribers.discard(queue)


def _under(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith(prefix + "/")
