"""A grpc.aio connection to containerd: stubs, namespace metadata, leases, error mapping."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import grpc
import grpc.aio

from kukeon._ctdapi.services.containers.v1 import containers_pb2_grpc
from kukeon._ctdapi.services.content.v1 import content_pb2_grpc
from kukeon._ctdapi.services.diff.v1 import diff_pb2_grpc
from kukeon._ctdapi.services.events.v1 import events_pb2_grpc
from kukeon._ctdapi.services.images.v1 import images_pb2_grpc
from kukeon._ctdapi.services.leases.v1 import leases_pb2, leases_pb2_grpc
from kukeon._ctdapi.services.namespaces.v1 import namespace_pb2_grpc
from kukeon._ctdapi.services.snapshots.v1 import snapshots_pb2_grpc
from kukeon._ctdapi.services.tasks.v1 import tasks_pb2_grpc
from kukeon._ctdapi.services.version.v1 import version_pb2_grpc
from kukeon.drivers.base import PermanentError, TransientError

SNAPSHOTTER = "overlayfs"
NS_HEADER = "containerd-namespace"
LEASE_HEADER = "containerd-lease"
LEASE_EXPIRE = "containerd.io/gc.expire"
LEASE_TTL_SECONDS = 3600  # a lease left by a crash expires; GC then collects its content

Code = grpc.StatusCode
_TRANSIENT = {
    Code.UNAVAILABLE,
    Code.DEADLINE_EXCEEDED,
    Code.RESOURCE_EXHAUSTED,
    Code.ABORTED,
    Code.CANCELLED,
    Code.FAILED_PRECONDITION,  # e.g. "task must be stopped": a state race, retry
    # runc and shim failures come back as UNKNOWN; many are the host's state (a file
    # missing after a crash, a busy mount) rather than the spec: retried with backoff
    Code.UNKNOWN,
    Code.INTERNAL,
}


class Client:
    """The stubs of one containerd socket; every call carries a timeout and a namespace."""

    def __init__(self, socket_path: str, call_timeout: float = 60.0) -> None:
        self.socket_path = socket_path
        self.timeout = call_timeout
        self.channel = grpc.aio.insecure_channel(
            f"unix://{socket_path}",
            options=[("grpc.max_receive_message_length", 64 << 20)],
        )
        ch = self.channel
        self.version = version_pb2_grpc.VersionStub(ch)
        self.namespaces = namespace_pb2_grpc.NamespacesStub(ch)
        self.containers = containers_pb2_grpc.ContainersStub(ch)
        self.content = content_pb2_grpc.ContentStub(ch)
        self.images = images_pb2_grpc.ImagesStub(ch)
        self.leases = leases_pb2_grpc.LeasesStub(ch)
        self.snapshots = snapshots_pb2_grpc.SnapshotsStub(ch)
        self.diff = diff_pb2_grpc.DiffStub(ch)
        self.tasks = tasks_pb2_grpc.TasksStub(ch)
        self.events = events_pb2_grpc.EventsStub(ch)

    def opts(
        self, namespace: str | None, lease: str | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Keyword arguments of a unary call: metadata (namespace, lease) and timeout."""
        md: list[tuple[str, str]] = []
        if namespace:
            md.append((NS_HEADER, namespace))
        if lease:
            md.append((LEASE_HEADER, lease))
        return {"metadata": tuple(md), "timeout": self.timeout if timeout is None else timeout}

    @asynccontextmanager
    async def lease(self, namespace: str, purpose: str) -> AsyncIterator[str]:
        """A lease for a multi-step operation: nothing it creates is collected before the
        objects referencing it exist; if we crash, it expires after LEASE_TTL_SECONDS."""
        lease_id = f"kukeon-{purpose}-{secrets.token_hex(6)}"
        expire = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + LEASE_TTL_SECONDS))
        with mapped(f"create lease in {namespace}"):
            await self.leases.Create(
                leases_pb2.CreateRequest(id=lease_id, labels={LEASE_EXPIRE: expire}),
                **self.opts(namespace),
            )
        try:
            yield lease_id
        finally:
            with mapped(f"delete lease {lease_id}", ignore=(Code.NOT_FOUND,)):
                await self.leases.Delete(
                    leases_pb2.DeleteRequest(id=lease_id), **self.opts(namespace)
                )

    async def close(self) -> None:
        await self.channel.close(None)


def status_code(exc: BaseException) -> grpc.StatusCode | None:
    return exc.code() if isinstance(exc, grpc.aio.AioRpcError) else None


@contextmanager
def mapped(what: str, ignore: tuple[grpc.StatusCode, ...] = ()) -> Iterator[None]:
    """The one place gRPC errors become driver errors; codes in ``ignore`` are swallowed
    (callers use NOT_FOUND / ALREADY_EXISTS for idempotency)."""
    try:
        yield
    except grpc.aio.AioRpcError as exc:
        code = exc.code()
        if code in ignore:
            return
        msg = f"containerd: {what} failed: {code.name} {exc.details()}"
        if code in _TRANSIENT:
            hint = None
            if code in (Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED):
                hint = "will retry; is containerd running and its socket reachable?"
            raise TransientError(msg, hint=hint) from exc
        raise PermanentError(msg) from exc
