"""Desired state: the union of every source's resources, with implicit parents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kukeon.model.identity import ResourcePath
from kukeon.model.resources import ALWAYS_PRESENT, AnyResource, Cell, implicit_parent


@dataclass(frozen=True)
class Conflict:
    path: ResourcePath
    owner: str  # the source that keeps it
    other: str  # the source whose definition is refused

    def __str__(self) -> str:
        return (
            f"{self.path} is declared by both {self.owner} and {self.other}; {self.owner} keeps it"
        )


@dataclass(frozen=True)
class DesiredState:
    resources: Mapping[ResourcePath, AnyResource]
    owners: Mapping[ResourcePath, str]  # path -> source; implicit parents have none
    conflicts: tuple[Conflict, ...] = ()
    implicit: frozenset[ResourcePath] = field(default_factory=frozenset)

    def cells(self) -> list[Cell]:
        return [r for r in self.resources.values() if isinstance(r, Cell)]


def merge(
    sources: Iterable[tuple[str, Iterable[AnyResource]]],
    claims: Mapping[ResourcePath, str] | None = None,
) -> DesiredState:
    """Merge sources in order. ``claims`` (path -> source, from the store) says who owned a
    path first: on a conflict the earlier owner keeps it, whatever the order here."""
    claims = claims or {}
    resources: dict[ResourcePath, AnyResource] = {}
    owners: dict[ResourcePath, str] = {}
    conflicts: list[Conflict] = []
    pending = [(name, list(items)) for name, items in sources]
    # Sources that claimed a path first go first, so they keep it.
    for name, items in pending:
        for res in items:
            prior = owners.get(res.path)
            if prior is None:
                claimant = claims.get(res.path)
                if claimant is not None and claimant != name and _declares(pending, claimant, res):
                    conflicts.append(Conflict(res.path, claimant, name))
                    continue
                resources[res.path] = res
                owners[res.path] = name
            elif prior != name:
                conflicts.append(Conflict(res.path, prior, name))
    implicit: set[ResourcePath] = set()
    for path in list(resources):
        for parent in path.ancestors():
            if parent not in resources:
                resources[parent] = implicit_parent(parent)
                implicit.add(parent)
    for path in ALWAYS_PRESENT:
        if path not in resources:
            resources[path] = implicit_parent(path)
            implicit.add(path)
    return DesiredState(resources, owners, tuple(conflicts), frozenset(implicit))


def _declares(sources: list[tuple[str, list[AnyResource]]], name: str, res: AnyResource) -> bool:
    return any(n == name and any(r.path == res.path for r in items) for n, items in sources)
