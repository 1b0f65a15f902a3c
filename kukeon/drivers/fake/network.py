"""An in-memory CNI network: spaces get /24s, cells get the next free address."""

from __future__ import annotations

import ipaddress

from kukeon.drivers.base import (
    NetworkObservation,
    ObservedCellNetwork,
    ObservedSpaceNetwork,
    SpaceNetwork,
    TransientError,
)
from kukeon.model.identity import ResourcePath
from kukeon.model.resources import Cell


class FakeNetwork:
    def __init__(self) -> None:
        self.spaces: dict[ResourcePath, ObservedSpaceNetwork] = {}
        self.cells: dict[ResourcePath, ObservedCellNetwork] = {}
        self.writes = 0

    async def observe(self) -> NetworkObservation:
        return NetworkObservation(tuple(self.spaces.values()), tuple(self.cells.values()))

    async def ensure_space(self, space: SpaceNetwork) -> ObservedSpaceNetwork:
        have = self.spaces.get(space.path)
        if have and (space.subnet is None or have.subnet == space.subnet):
            return have
        self.writes += 1
        subnet = space.subnet or f"10.{100 + len(self.spaces)}.0.0/16"
        obs = ObservedSpaceNetwork(space.path, f"kk-{space.path.name[:4]}", subnet)
        self.spaces[space.path] = obs
        return obs

    async def delete_space(self, path: ResourcePath) -> None:
        if path in self.spaces:
            self.writes += 1
            if any(c.is_within(path) for c in self.cells):
                raise TransientError(f"space {path} still has cells attached")
            del self.spaces[path]

    async def ensure_cell(self, cell: Cell) -> ObservedCellNetwork:
        have = self.cells.get(cell.path)
        if have and have.ip:
            return have
        space_path = cell.path.parent.parent if cell.path.parent else None
        space = self.spaces.get(space_path) if space_path else None
        if space is None:
            raise TransientError(f"space of {cell.path} has no network yet")
        self.writes += 1
        taken = {c.ip for c in self.cells.values()}
        hosts = ipaddress.ip_network(space.subnet).hosts()
        next(hosts)  # the gateway
        ip = next((str(h) for h in hosts if str(h) not in taken), None)
        if ip is None:
            raise TransientError(f"space {space.path} has no free address")
        obs = ObservedCellNetwork(cell.path, f"/run/fake/netns/{cell.path}", ip)
        self.cells[cell.path] = obs
        return obs

    async def delete_cell(self, path: ResourcePath) -> None:
        if self.cells.pop(path, None) is not None:
            self.writes += 1

    async def close(self) -> None:
        return None
