"""An in-memory cgroup tree that reports limits the way the kernel rounds them."""

from __future__ import annotations

from dataclasses import replace

from kukeon.drivers.base import ObservedCgroup, TransientError
from kukeon.model.identity import ResourcePath
from kukeon.model.limits import effective
from kukeon.model.resources import Resources


class FakeCgroups:
    def __init__(self, mode: str = "unified") -> None:
        self._mode = mode
        self.groups: dict[ResourcePath, ObservedCgroup] = {}
        self.writes = 0

    @property
    def mode(self) -> str:
        return self._mode

    async def observe(self) -> tuple[ObservedCgroup, ...]:
        return tuple(self.groups.values())

    async def ensure(self, path: ResourcePath, limits: Resources) -> None:
        for parent in path.ancestors():
            if parent not in self.groups:
                self.writes += 1
                self.groups[parent] = ObservedCgroup(parent, Resources(), populated=False)
        want = effective(limits, self._mode)
        have = self.groups.get(path)
        if have is None or have.limits != want:
            self.writes += 1
            self.groups[path] = ObservedCgroup(path, want, populated=False)

    async def delete(self, path: ResourcePath) -> None:
        inside = (p for p in self.groups if p.is_within(path))
        doomed = sorted(inside, key=lambda p: -len(p.segments))
        for p in doomed:
            if self.groups[p].populated:
                raise TransientError(f"cgroup {p} still has processes")
            self.writes += 1
            del self.groups[p]

    def populate(self, path: ResourcePath, populated: bool = True) -> None:
        """Test hook: processes appear in (or leave) a cgroup."""
        self.groups[path] = replace(self.groups[path], populated=populated)

    async def close(self) -> None:
        return None
