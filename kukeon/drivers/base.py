"""Driver protocols and the errors they raise.

Each driver has a read-only ``observe()`` that reports everything labelled with this
instance (including what no source wants), and idempotent mutators: creating what exists
is success, deleting what is gone is success. Library errors (``grpc.RpcError``,
``OSError``, a plugin's exit status) never cross this edge: they are mapped to
:class:`TransientError` (retry with backoff) or :class:`PermanentError` (reported,
not retried until the spec changes).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from kukeon.model.errors import KukeonError
from kukeon.model.identity import ResourcePath
from kukeon.model.resources import Cell, Container, Egress, PullPolicy, Resources


class DriverError(KukeonError):
    """An operation on the host failed."""


class TransientError(DriverError):
    """Worth retrying: a dependency is down, busy or slow."""


class PermanentError(DriverError):
    """Retrying the same spec will fail the same way (bad image name, invalid mount...)."""


# ---------------------------------------------------------------------------- runtime
class TaskState(StrEnum):
    NONE = "none"  # container exists, no task
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"  # exited, task not deleted yet
    PAUSED = "paused"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ObservedContainer:
    path: ResourcePath  # realm/space/stack/cell/container, rebuilt from labels
    container_id: str
    spec_hash: str
    image_digest: str
    task: TaskState
    pid: int = 0
    exit_code: int | None = None
    exited_at: float | None = None  # unix time
    started_at: float | None = None
    # The canonical spec fields the container was created from (for "which field changed").
    spec_fields: dict[str, object] | None = field(default=None, compare=False)
    # Cells its cell depends on (dependsOn), remembered so deletion can go in reverse order
    # after the manifest is gone.
    depends_on: tuple[ResourcePath, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class ObservedImage:
    name: str
    digest: str  # platform manifest digest
    size: int = 0


@dataclass(frozen=True)
class RuntimeObservation:
    namespaces: frozenset[str]  # realm names whose namespace exists (and is labelled ours)
    containers: tuple[ObservedContainer, ...]
    # Things labelled with this instance that do not parse (reported, never silently dropped)
    orphans: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainerRequest:
    """Everything the runtime needs to create one container of a cell."""

    path: ResourcePath
    cell: Cell
    container: Container
    spec_hash: str
    image_digest: str
    netns_path: str  # the cell's pinned netns; "" for the host's (hostNetwork)
    cgroup_parent: str  # the cell's cgroup path (runc gets <parent>/<container>)
    etc_files: dict[str, str]  # container path -> host file (hosts, hostname, resolv.conf)
    log_path: str  # host file for stdout/stderr
    spec_fields: dict[str, object]


def host_etc_files() -> dict[str, str]:
    """What a hostNetwork cell sees at /etc/hosts, resolv.conf and hostname: the host's own
    files (bound read-only), as Docker and Kubernetes give a host-network container."""
    names = ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname")
    return {name: name for name in names if os.path.isfile(name)}


@dataclass(frozen=True)
class TaskExit:
    path: ResourcePath
    exit_code: int
    exited_at: float


@dataclass(frozen=True)
class PullProgress:
    ref: str
    done_bytes: int
    total_bytes: int
    status: str = ""


class Runtime(Protocol):
    """containerd: namespaces (realms), images, containers and their tasks."""

    async def observe(self) -> RuntimeObservation: ...

    async def ensure_namespace(self, realm: str, namespace: str) -> None: ...

    async def delete_namespace(self, realm: str, namespace: str) -> None: ...

    async def ensure_image(self, realm: str, ref: str, policy: PullPolicy) -> str:
        """Make the image present (pull per policy) and return its platform manifest digest."""
        ...

    async def image_digest(self, realm: str, ref: str) -> str | None:
        """Digest of an image already present, or None. Never pulls."""
        ...

    async def create_container(self, req: ContainerRequest) -> None:
        """Create the container and its task, and start it. Idempotent."""
        ...

    async def start_container(self, path: ResourcePath) -> None:
        """(Re)start the task of an existing container: delete a stopped task, create, start."""
        ...

    async def stop_container(self, path: ResourcePath, grace_seconds: float) -> None:
        """SIGTERM, then SIGKILL after the grace period; delete the task. Idempotent."""
        ...

    async def delete_container(self, path: ResourcePath) -> None:
        """Task, container and snapshot. Idempotent."""
        ...

    async def exec(self, path: ResourcePath, argv: list[str], timeout: float) -> tuple[int, str]:
        """Run a process in the running container; (exit code or -1 on timeout, output)."""
        ...

    def exits(self) -> AsyncIterator[TaskExit]:
        """Task exits of this instance's containers, as they happen."""
        ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------------------- network
@dataclass(frozen=True)
class SpaceNetwork:
    path: ResourcePath
    subnet: str | None
    egress: Egress


@dataclass(frozen=True)
class ObservedSpaceNetwork:
    path: ResourcePath
    bridge: str
    subnet: str


@dataclass(frozen=True)
class ObservedCellNetwork:
    path: ResourcePath
    netns_path: str
    ip: str | None  # None: pinned but not attached (CNI ADD missing)
    etc_files: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class NetworkObservation:
    spaces: tuple[ObservedSpaceNetwork, ...]
    cells: tuple[ObservedCellNetwork, ...]


class Network(Protocol):
    """Pinned netns per cell, one CNI network per space, isolation between spaces."""

    async def observe(self) -> NetworkObservation: ...

    async def ensure_space(self, space: SpaceNetwork) -> ObservedSpaceNetwork: ...

    async def delete_space(self, path: ResourcePath) -> None: ...

    async def ensure_cell(self, cell: Cell) -> ObservedCellNetwork:
        """Pin the netns, CNI ADD in the cell's space, write /etc files. Idempotent."""
        ...

    async def delete_cell(self, path: ResourcePath) -> None: ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------------------- cgroups
@dataclass(frozen=True)
class ObservedCgroup:
    path: ResourcePath
    limits: Resources
    populated: bool
    memory_current: int | None = None
    pids_current: int | None = None
    cpu_usage_usec: int | None = None


class Cgroups(Protocol):
    """The cgroup subtree ``/<instance>/<realm>/<space>/<stack>/<cell>``."""

    @property
    def mode(self) -> str:
        """"unified", "hybrid" or "legacy"."""
        ...

    async def observe(self) -> tuple[ObservedCgroup, ...]: ...

    async def ensure(self, path: ResourcePath, limits: Resources) -> None:
        """Create the cgroup (and its parents) and write limits that differ."""
        ...

    async def delete(self, path: ResourcePath) -> None:
        """Remove the cgroup bottom-up; TransientError while processes remain."""
        ...

    async def close(self) -> None: ...
