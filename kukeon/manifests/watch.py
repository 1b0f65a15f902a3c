"""Watches the manifests directory and hands debounced batches of changed files to the
event loop. watchdog's thread only calls ``call_soon_threadsafe``; everything else runs
on the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from kukeon.manifests.loader import is_manifest_name


class _Handler(FileSystemEventHandler):
    def __init__(self, notify: Callable[[Path | None], None]) -> None:
        self._notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory:
            # a directory appeared, vanished or moved: rescan everything under it
            self._notify(None)
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                path = Path(raw if isinstance(raw, str) else raw.decode())
                if is_manifest_name(path.name):
                    self._notify(path)


class DirectoryWatcher:
    """Calls ``on_change(paths)`` (``None`` = rescan all) after ``debounce`` s of quiet."""

    def __init__(
        self,
        directory: Path,
        on_change: Callable[[set[Path] | None], Awaitable[None]],
        *,
        debounce: float = 0.02,
    ) -> None:
        self.directory = directory
        self._on_change = on_change
        self._debounce = debounce
        self._pending: set[Path] = set()
        self._rescan = False
        self._kick = asyncio.Event()

    def _notify_threadsafe(self, loop: asyncio.AbstractEventLoop, path: Path | None) -> None:
        loop.call_soon_threadsafe(self._add, path)

    def _add(self, path: Path | None) -> None:
        if path is None:
            self._rescan = True
        else:
            self._pending.add(path)
        self._kick.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        observer = Observer()
        handler = _Handler(lambda p: self._notify_threadsafe(loop, p))
        observer.schedule(handler, str(self.directory), recursive=True)
        observer.daemon = True
        observer.start()
        try:
            while True:
                await self._kick.wait()
                # debounce: wait until no event arrived for `debounce` seconds
                while True:
                    self._kick.clear()
                    try:
                        async with asyncio.timeout(self._debounce):
                            await self._kick.wait()
                    except TimeoutError:
                        break
                batch, rescan = self._pending, self._rescan
                self._pending, self._rescan = set(), False
                await self._on_change(None if rescan else batch)
        finally:
            observer.stop()
            await asyncio.to_thread(observer.join, 2.0)
