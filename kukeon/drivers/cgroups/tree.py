"""What both backends share: our subtree, file access, the walk, bottom-up removal.

Everything here is blocking cgroupfs I/O; the async methods run it in a thread. ``OSError``
never leaves: it becomes a TransientError or PermanentError that names the file.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TypeVar

from kukeon.drivers.base import DriverError, ObservedCgroup, PermanentError, TransientError
from kukeon.drivers.cgroups.mounts import Mounts
from kukeon.model.identity import Kind, ResourcePath, is_valid_name
from kukeon.model.naming import Naming
from kukeon.model.resources import Resources

T = TypeVar("T")
# Errors that will not go away by retrying the same write.
_PERMANENT = {errno.EACCES, errno.EPERM, errno.EROFS, errno.EINVAL, errno.ERANGE}


def read(path: str) -> str | None:
    """A cgroup file's content, or None when it (or its cgroup) does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        data = os.read(fd, 65536)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENODEV):
            return None  # the cgroup was removed between open and read
        raise
    finally:
        os.close(fd)
    return data.decode().strip()


def read_int(path: str) -> int | None:
    text = read(path)
    if text is None or text == "max":
        return None
    return int(text)


class CgroupTree(ABC):
    """The subtree ``/<instance>/<realm>/<space>/<stack>/<cell>`` in the managed hierarchies."""

    def __init__(self, naming: Naming, mounts: Mounts) -> None:
        self.naming = naming
        self.mounts = mounts
        # Mutations of cgroupfs (file writes, mkdir, rmdir): a no-op ensure adds none.
        # Counted under a lock: ensures of many cells run in threads at once.
        self.writes = 0
        self._count_lock = threading.Lock()

    @property
    @abstractmethod
    def mode(self) -> str: ...

    @property
    @abstractmethod
    def managed(self) -> list[str]:
        """Hierarchy mount points where we create our tree and read limits."""

    @abstractmethod
    def _ensure(self, path: ResourcePath, limits: Resources) -> None: ...

    @abstractmethod
    def _observe_one(self, path: ResourcePath) -> ObservedCgroup: ...

    # -- the async interface --------------------------------------------------------
    async def observe(self) -> tuple[ObservedCgroup, ...]:
        return await self._run("observe the cgroup tree", self._observe)

    async def ensure(self, path: ResourcePath, limits: Resources) -> None:
        await self._run(f"ensure cgroup {self.naming.cgroup(path)}", self._ensure, path, limits)

    async def delete(self, path: ResourcePath) -> None:
        await self._run(f"delete cgroup {self.naming.cgroup(path)}", self._delete, path)

    async def close(self) -> None:
        return None  # nothing is held open between calls

    async def _run(self, what: str, fn: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.to_thread(fn, *args)
        except DriverError:
            raise
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            message = f"cannot {what}: {exc.strerror or exc}{where}"
            if exc.errno in _PERMANENT:
                raise PermanentError(
                    message, hint="kukeond must run as root with cgroupfs writable"
                ) from exc
            raise TransientError(message) from exc

    # -- blocking helpers -----------------------------------------------------------
    def _dir(self, hierarchy: str, path: ResourcePath | None = None) -> str:
        rel = self.naming.cgroup(path) if path else self.naming.cgroup_root
        return hierarchy + rel

    def _counted(self) -> None:
        with self._count_lock:
            self.writes += 1

    def _write(self, file: str, value: str) -> None:
        fd = os.open(file, os.O_WRONLY)
        try:
            os.write(fd, value.encode())
        except OSError as exc:
            exc.filename = file
            raise
        finally:
            os.close(fd)
        self._counted()

    def _mkdir(self, directory: str) -> None:
        """Create ``directory`` and missing parents; an existing one costs one stat."""
        if os.path.isdir(directory):
            return
        self._mkdir(os.path.dirname(directory))
        try:
            os.mkdir(directory)
        except FileExistsError:
            return  # a concurrent ensure made it
        self._counted()

    def _observe(self) -> tuple[ObservedCgroup, ...]:
        found: set[tuple[str, ...]] = set()
        for hierarchy in self.managed:
            found.update(_walk(self._dir(hierarchy), Kind.CELL.depth))
        return tuple(self._observe_one(ResourcePath(segs)) for segs in sorted(found))

    def _delete(self, path: ResourcePath) -> None:
        # The managed hierarchies go last: observe() only looks there, so a delete that
        # fails half-way is still seen and retried.
        others = [h for h in self.mounts.hierarchies() if h not in self.managed]
        for hierarchy in others + self.managed:
            self._remove_tree(self._dir(hierarchy, path))
        if path.kind is Kind.REALM:
            # The last realm gone: drop our instance dir too, so nothing of ours remains.
            for hierarchy in others + self.managed:
                try:
                    os.rmdir(self._dir(hierarchy))
                    self._counted()
                except OSError as exc:
                    if exc.errno not in (errno.ENOENT, errno.EBUSY, errno.ENOTEMPTY):
                        raise

    def _remove_tree(self, top: str) -> None:
        if not os.path.isdir(top):
            return
        dirs = [root for root, _subdirs, _files in os.walk(top, topdown=False)]
        for directory in dirs:  # children before parents: container leaves first
            try:
                os.rmdir(directory)
            except FileNotFoundError:
                continue  # runc removed it meanwhile
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    exc.filename = directory
                    raise
                pids = (read(os.path.join(directory, "cgroup.procs")) or "").split()
                raise TransientError(
                    f"cgroup {directory} still has processes"
                    + (f" (pids {', '.join(pids[:5])})" if pids else ""),
                    hint="stop the containers of this cgroup first",
                ) from exc
            self._counted()


def _walk(top: str, depth: int) -> list[tuple[str, ...]]:
    """Segment tuples of the directories below ``top`` down to ``depth`` levels.

    Names that are not DNS-1123 labels cannot be a resource of ours and are skipped.
    """
    out: list[tuple[str, ...]] = []
    level: list[tuple[str, tuple[str, ...]]] = [(top, ())]
    for _ in range(depth):
        below: list[tuple[str, tuple[str, ...]]] = []
        for directory, segs in level:
            try:
                entries = list(os.scandir(directory))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.is_dir(follow_symlinks=False) and is_valid_name(entry.name):
                    below.append((entry.path, (*segs, entry.name)))
        out.extend(segs for _path, segs in below)
        level = below
    return out
