"""Identity of a resource: its path ``realm/space/stack/cell[/container]``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DEFAULT = "default"


class Kind(StrEnum):
    REALM = "Realm"
    SPACE = "Space"
    STACK = "Stack"
    CELL = "Cell"
    CONTAINER = "Container"

    @property
    def depth(self) -> int:
        return _DEPTH[self]


_DEPTH = {Kind.REALM: 1, Kind.SPACE: 2, Kind.STACK: 3, Kind.CELL: 4, Kind.CONTAINER: 5}
_BY_DEPTH = {v: k for k, v in _DEPTH.items()}


def is_valid_name(name: str) -> bool:
    return bool(DNS1123_LABEL.match(name))


@dataclass(frozen=True, order=True)
class ResourcePath:
    """A resource's identity; each segment is a DNS-1123 label."""

    segments: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.segments) <= 5:
            raise ValueError(f"a resource path has 1 to 5 segments, not {len(self.segments)}")
        for seg in self.segments:
            if not is_valid_name(seg):
                raise ValueError(f"{seg!r} is not a DNS-1123 label")

    @classmethod
    def of(cls, *segments: str) -> ResourcePath:
        return cls(tuple(segments))

    @classmethod
    def parse(cls, text: str) -> ResourcePath:
        return cls(tuple(text.strip("/").split("/")))

    @property
    def kind(self) -> Kind:
        return _BY_DEPTH[len(self.segments)]

    @property
    def name(self) -> str:
        return self.segments[-1]

    @property
    def parent(self) -> ResourcePath | None:
        return ResourcePath(self.segments[:-1]) if len(self.segments) > 1 else None

    @property
    def realm(self) -> str:
        return self.segments[0]

    def child(self, name: str) -> ResourcePath:
        return ResourcePath((*self.segments, name))

    def ancestors(self) -> list[ResourcePath]:
        """Parents from the realm down, excluding self."""
        return [ResourcePath(self.segments[:i]) for i in range(1, len(self.segments))]

    def is_within(self, other: ResourcePath) -> bool:
        return self.segments[: len(other.segments)] == other.segments

    def __str__(self) -> str:
        return "/".join(self.segments)
