"""Typed resources after loading and defaulting.

Everything here is frozen: the planner compares desired with observed state and must
be able to trust that nothing moved underneath it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kukeon.model.identity import DEFAULT, Kind, ResourcePath

PRUNE_ANNOTATION = "kukeon.io/prune"


class RestartPolicy(StrEnum):
    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    NEVER = "never"


class PullPolicy(StrEnum):
    IF_NOT_PRESENT = "IfNotPresent"
    ALWAYS = "Always"
    NEVER = "Never"


@dataclass(frozen=True)
class Resources:
    """Limits; ``None`` means unlimited / the kernel default."""

    memory_limit_bytes: int | None = None
    cpu_shares: int | None = None
    cpu_millis: int | None = None
    pids_limit: int | None = None

    def is_empty(self) -> bool:
        return self == Resources()


@dataclass(frozen=True)
class Volume:
    target: str
    kind: str = "bind"  # bind | tmpfs
    source: str = ""
    read_only: bool = False
    size_bytes: int | None = None


@dataclass(frozen=True)
class Port:
    container_port: int
    host_port: int | None = None
    protocol: str = "tcp"
    host_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class HealthCheck:
    """How to tell a running container is healthy (an extension to upstream v1beta1)."""

    kind: str  # exec | http | tcp
    command: tuple[str, ...] = ()  # exec
    port: int = 0  # http, tcp
    path: str = "/"  # http
    expect_status: int = 0  # http; 0: any 2xx or 3xx
    interval_seconds: float = 10.0
    timeout_seconds: float = 2.0
    failure_threshold: int = 3
    start_period_seconds: float = 0.0

    def describe(self) -> str:
        if self.kind == "exec":
            return "exec " + " ".join(self.command)
        if self.kind == "http":
            return f"http :{self.port}{self.path}"
        return f"tcp :{self.port}"


@dataclass(frozen=True)
class Dependency:
    """Start a cell only once ``cell`` is started (all containers running) or healthy."""

    cell: ResourcePath
    condition: str = "started"  # started | healthy

    def describe(self) -> str:
        return f"{self.cell.name} ({self.condition})"


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    working_dir: str = "/"
    user: str = ""
    root: bool = False
    restart_policy: RestartPolicy = RestartPolicy.ALWAYS
    restart_backoff_seconds: float | None = None
    restart_max_retries: int | None = None
    image_pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT
    resources: Resources = Resources()
    volumes: tuple[Volume, ...] = ()
    ports: tuple[Port, ...] = ()
    read_only_root_filesystem: bool = False
    privileged: bool = False
    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ()
    health_check: HealthCheck | None = None
    host_network: bool = False
    host_pid: bool = False
    host_cgroup: bool = False


@dataclass(frozen=True)
class EgressRule:
    cidr: str
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class Egress:
    default: str = "allow"  # allow | deny
    allow: tuple[EgressRule, ...] = ()


@dataclass(frozen=True)
class Resource:
    """Fields every kind has."""

    path: ResourcePath
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    # Where it was declared ("file:line"); never part of equality.
    origin: str = field(default="", compare=False)

    @property
    def kind(self) -> Kind:
        return self.path.kind

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def prunable(self) -> bool:
        return dict(self.annotations).get(PRUNE_ANNOTATION, "true").lower() != "false"


@dataclass(frozen=True)
class Realm(Resource):
    namespace: str | None = None  # containerd namespace; None: derived from the instance


@dataclass(frozen=True)
class Space(Resource):
    subnet: str | None = None  # None: allocated from the pool
    egress: Egress = Egress()
    resources: Resources = Resources()


@dataclass(frozen=True)
class Stack(Resource):
    pass


@dataclass(frozen=True)
class Cell(Resource):
    containers: tuple[Container, ...] = ()
    resources: Resources = Resources()
    depends_on: tuple[Dependency, ...] = ()

    @property
    def root_container(self) -> Container:
        for c in self.containers:
            if c.root:
                return c
        return self.containers[0]

    @property
    def host_network(self) -> bool:
        """The cell's containers share one network namespace: the host's if any asks."""
        return any(c.host_network for c in self.containers)

    def container(self, name: str) -> Container | None:
        for c in self.containers:
            if c.name == name:
                return c
        return None

    def start_order(self) -> list[Container]:
        """Root first, the rest in declaration order."""
        root = self.root_container
        return [root, *(c for c in self.containers if c is not root)]


AnyResource = Realm | Space | Stack | Cell


def implicit_parent(path: ResourcePath) -> AnyResource:
    """A parent that is referenced but not declared: created with defaults."""
    kind = path.kind
    if kind is Kind.REALM:
        return Realm(path=path)
    if kind is Kind.SPACE:
        return Space(path=path)
    if kind is Kind.STACK:
        return Stack(path=path)
    raise ValueError(f"{path} cannot be an implicit parent")


ALWAYS_PRESENT = (
    ResourcePath.of(DEFAULT),
    ResourcePath.of(DEFAULT, DEFAULT),
    ResourcePath.of(DEFAULT, DEFAULT, DEFAULT),
)
