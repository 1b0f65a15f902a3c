"""The one place that turns identity into names on the host.

Readable names are used when they fit the host's rules; otherwise a readable prefix
plus ``.`` (or ``-`` where dots are not allowed) and a stable hash. Readable forms are
built from DNS-1123 labels joined by ``_``, which never contain ``.``, so a hashed name
can never collide with a readable one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from kukeon.model.identity import ResourcePath, is_valid_name

DEFAULT_INSTANCE = "kukeon"
CONTAINERD_ID_MAX = 76
BRIDGE_MAX = 15
CHAIN_MAX = 28
LABEL_PREFIX = "kukeon.io/"
# containerd's identifier rule (identifiers.Validate)
_CONTAINERD_ID = re.compile(r"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$")


def short_hash(*parts: str, length: int = 10) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()
    return digest[:length]


def _fit(readable: str, limit: int, *identity: str, sep: str = ".") -> str:
    if len(readable) <= limit and _CONTAINERD_ID.match(readable):
        return readable
    digest = short_hash(*identity, length=12)
    prefix = re.sub(r"[^A-Za-z0-9]+", "-", readable[: limit - len(digest) - 1]).strip("-")
    return f"{prefix}{sep}{digest}" if prefix else digest


@dataclass(frozen=True)
class Naming:
    """Host names for one kukeond instance."""

    instance: str = DEFAULT_INSTANCE

    def __post_init__(self) -> None:
        if not is_valid_name(self.instance) or len(self.instance) > 20:
            raise ValueError(
                f"instance {self.instance!r} must be a DNS-1123 label of at most 20 characters"
            )

    # -- labels ---------------------------------------------------------------------
    @property
    def instance_label(self) -> tuple[str, str]:
        return (LABEL_PREFIX + "instance", self.instance)

    def labels(self, path: ResourcePath) -> dict[str, str]:
        keys = ("realm", "space", "stack", "cell", "container")
        out = {LABEL_PREFIX + k: v for k, v in zip(keys, path.segments, strict=False)}
        out[LABEL_PREFIX + "instance"] = self.instance
        return out

    # -- containerd -----------------------------------------------------------------
    def namespace(self, realm: str) -> str:
        if self.instance == DEFAULT_INSTANCE:
            return f"{realm}.kukeon.io"
        return f"{realm}.{self.instance}.kukeon.io"

    def container_id(self, path: ResourcePath) -> str:
        """containerd container id (unique within the realm's namespace)."""
        assert len(path.segments) == 5
        readable = "_".join(path.segments[1:])
        return _fit(readable, CONTAINERD_ID_MAX, *path.segments)

    def snapshot_key(self, path: ResourcePath) -> str:
        return self.container_id(path)

    # -- network --------------------------------------------------------------------
    def cni_container_id(self, cell: ResourcePath) -> str:
        readable = "_".join((self.instance, *cell.segments))
        return _fit(readable, 64, self.instance, *cell.segments)

    def netns_pin(self, cell: ResourcePath) -> str:
        return self.cni_container_id(cell)

    def network_name(self, space: ResourcePath) -> str:
        readable = "_".join((self.instance, *space.segments))
        return _fit(readable, 64, self.instance, *space.segments)

    def bridge(self, space: ResourcePath) -> str:
        head = re.sub(r"[^a-z0-9]", "", space.name)[:4]
        return f"kk-{head}-{short_hash(self.instance, *space.segments, length=7)}"[:BRIDGE_MAX]

    def chain(self, purpose: str, space: ResourcePath | None = None) -> str:
        """iptables chain, e.g. ``KK-<inst>-ISO`` or ``KK-<space>-EG``; at most 28 chars."""
        ident = (self.instance, *(space.segments if space else ()))
        name = f"KK-{short_hash(*ident, length=8).upper()}-{purpose.upper()}"
        if len(name) > CHAIN_MAX or not re.fullmatch(r"[A-Z0-9-]+", name):
            raise ValueError(f"chain purpose {purpose!r} too long or invalid")
        return name

    # -- cgroups --------------------------------------------------------------------
    def cgroup(self, path: ResourcePath) -> str:
        """Cgroup path relative to the hierarchy root, e.g. ``/kukeon/default/web``."""
        return "/" + "/".join((self.instance, *path.segments))

    @property
    def cgroup_root(self) -> str:
        return "/" + self.instance

