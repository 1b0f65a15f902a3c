"""An in-memory containerd."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from kukeon.drivers.base import (
    ContainerRequest,
    ObservedContainer,
    PermanentError,
    RuntimeObservation,
    TaskExit,
    TaskState,
    TransientError,
)
from kukeon.model.identity import ResourcePath
from kukeon.model.resources import PullPolicy


@dataclass
class _Calls:
    reads: int = 0
    writes: int = 0


class FakeRuntime:
    def __init__(self) -> None:
        self.namespaces: set[str] = set()
        self.containers: dict[ResourcePath, ObservedContainer] = {}
        self.images: dict[tuple[str, str], str] = {}
        self.missing_images: set[str] = set()
        self.remote: dict[str, str] = {}  # ref -> digest the "registry" serves now
        self.fail_next: dict[str, Exception] = {}
        self.exec_results: dict[ResourcePath, tuple[int, str]] = {}
        self.calls = _Calls()
        self._exits: asyncio.Queue[TaskExit] = asyncio.Queue()
        self._clock = 0.0

    def _write(self, op: str) -> None:
        self.calls.writes += 1
        err = self.fail_next.pop(op, None)
        if err is not None:
            raise err

    async def observe(self) -> RuntimeObservation:
        self.calls.reads += 1
        return RuntimeObservation(frozenset(self.namespaces), tuple(self.containers.values()))

    async def ensure_namespace(self, realm: str, namespace: str) -> None:
        self._write("ensure_namespace")
        self.namespaces.add(realm)

    async def delete_namespace(self, realm: str, namespace: str) -> None:
        self._write("delete_namespace")
        if any(p.realm == realm for p in self.containers):
            raise TransientError(f"namespace {namespace} still has containers")
        self.namespaces.discard(realm)
        self.images = {k: v for k, v in self.images.items() if k[0] != realm}

    async def ensure_image(self, realm: str, ref: str, policy: PullPolicy) -> str:
        present = self.images.get((realm, ref))
        if present and policy is not PullPolicy.ALWAYS:
            return present
        if policy is PullPolicy.NEVER:
            raise PermanentError(f"image {ref} is not present and imagePullPolicy is Never")
        self._write("ensure_image")
        if ref in self.missing_images:
            raise PermanentError(f"image {ref} not found in its registry")
        digest = self.remote.get(ref) or "sha256:" + hashlib.sha256(ref.encode()).hexdigest()
        self.images[(realm, ref)] = digest
        return digest

    async def image_digest(self, realm: str, ref: str) -> str | None:
        return self.images.get((realm, ref))

    async def create_container(self, req: ContainerRequest) -> None:
        self._write("create_container")
        if req.path in self.containers:
            return
        self.containers[req.path] = ObservedContainer(
            path=req.path,
            container_id=str(req.path),
            spec_hash=req.spec_hash,
            image_digest=req.image_digest,
            task=TaskState.RUNNING,
            pid=1000 + len(self.containers),
            started_at=self._clock,
            spec_fields=dict(req.spec_fields),
            depends_on=tuple(d.cell for d in req.cell.depends_on),
        )

    async def start_container(self, path: ResourcePath) -> None:
        self._write("start_container")
        oc = self.containers.get(path)
        if oc is None:
            raise TransientError(f"container {path} does not exist")
        self.containers[path] = replace(oc, task=TaskState.RUNNING, exit_code=None)

    async def stop_container(self, path: ResourcePath, grace_seconds: float) -> None:
        self._write("stop_container")
        oc = self.containers.get(path)
        if oc is not None:
            self.containers[path] = replace(oc, task=TaskState.NONE, pid=0)

    async def delete_container(self, path: ResourcePath) -> None:
        self._write("delete_container")
        self.containers.pop(path, None)

    async def exec(self, path: ResourcePath, argv: list[str], timeout: float) -> tuple[int, str]:
        """Answers from ``exec_results`` (path -> (code, output)); (0, "") by default."""
        self.calls.reads += 1
        oc = self.containers.get(path)
        if oc is None or oc.task is not TaskState.RUNNING:
            raise TransientError(f"container {path} is not running")
        return self.exec_results.get(path, (0, ""))

    def exit_task(self, path: ResourcePath, code: int) -> None:
        """Test hook: the task's process exits."""
        oc = self.containers[path]
        self.containers[path] = replace(oc, task=TaskState.STOPPED, exit_code=code, pid=0)
        self._exits.put_nowait(TaskExit(path, code, self._clock))

    async def exits(self) -> AsyncIterator[TaskExit]:
        while True:
            yield await self._exits.get()

    async def close(self) -> None:
        return None
