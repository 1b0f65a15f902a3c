"""The containerd Runtime driver: realms are namespaces, containers carry their identity
in labels, so ``observe()`` rebuilds everything from containerd alone."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, Any

import grpc
import grpc.aio
from google.protobuf import any_pb2, empty_pb2

from kukeon._ctdapi.events import task_pb2 as task_events
from kukeon._ctdapi.services.containers.v1 import containers_pb2
from kukeon._ctdapi.services.events.v1 import events_pb2
from kukeon._ctdapi.services.leases.v1 import leases_pb2
from kukeon._ctdapi.services.namespaces.v1 import namespace_pb2
from kukeon._ctdapi.services.snapshots.v1 import snapshots_pb2
from kukeon._ctdapi.services.tasks.v1 import tasks_pb2
from kukeon._ctdapi.types.task import task_pb2
from kukeon.drivers.base import (
    ContainerRequest,
    DriverError,
    ObservedContainer,
    ObservedImage,
    PermanentError,
    PullProgress,
    RuntimeObservation,
    TaskExit,
    TaskState,
    TransientError,
)
from kukeon.drivers.containerd import images, registry
from kukeon.drivers.containerd.client import SNAPSHOTTER, Client, Code, mapped
from kukeon.drivers.containerd.spec import build_spec
from kukeon.model.failpoints import failpoint
from kukeon.model.identity import ResourcePath
from kukeon.model.naming import LABEL_PREFIX, Naming
from kukeon.model.resources import PullPolicy

RUNC = "io.containerd.runc.v2"
SPEC_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/Spec"
PROCESS_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/Process"
EXEC_OUTPUT_MAX = 4096
LABEL_HASH = LABEL_PREFIX + "spec-hash"
LABEL_DIGEST = LABEL_PREFIX + "image-digest"
LABEL_SPEC = LABEL_PREFIX + "spec"
LABEL_DEPENDS = LABEL_PREFIX + "depends-on"  # comma-separated cell paths
LABEL_LOG = LABEL_PREFIX + "log"  # a task recreated after a stop writes to the same log
LABEL_MAX = 4096  # containerd's limit on len(key) + len(value)
LOGGER = Path(__file__).with_name("logger.sh")
LOG_MAX_BYTES = 10 << 20
_SEGMENTS = ("realm", "space", "stack", "cell", "container")
_STATES = {
    task_pb2.CREATED: TaskState.CREATED,
    task_pb2.RUNNING: TaskState.RUNNING,
    task_pb2.STOPPED: TaskState.STOPPED,
    task_pb2.PAUSED: TaskState.PAUSED,
    task_pb2.PAUSING: TaskState.PAUSED,
}


def _ts(ts: Any) -> float | None:
    return ts.seconds + ts.nanos / 1e9 if ts.seconds > 0 else None


def log_uri(log_path: str, max_bytes: int = LOG_MAX_BYTES) -> str:
    """The shim-driven logger: it lives as long as the shim, not as long as kukeond."""
    query = urllib.parse.urlencode({"path": log_path, "max": str(max_bytes)})
    return f"binary://{LOGGER}?{query}"


class _Drain:
    """Non-blocking readers of an exec's FIFOs; keeps the first EXEC_OUTPUT_MAX bytes of
    each stream and discards the rest, so a chatty process never blocks on a full pipe."""

    def __init__(self, fifos: list[Path]) -> None:
        self.fds = [os.open(f, os.O_RDONLY | os.O_NONBLOCK) for f in fifos]
        self.data = [b"" for _ in fifos]

    def read(self) -> None:
        for i, fd in enumerate(self.fds):
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                self.data[i] = (self.data[i] + chunk)[:EXEC_OUTPUT_MAX]

    def text(self) -> str:
        return b"".join(self.data).decode(errors="replace")[:EXEC_OUTPUT_MAX]

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []


class ContainerdRuntime:
    def __init__(self, socket_path: str, naming: Naming, *, call_timeout: float = 60.0) -> None:
        self.naming = naming
        self.client = Client(socket_path, call_timeout)
        self._paths: dict[tuple[str, str], ResourcePath] = {}  # (namespace, id) -> path
        self._ours: dict[str, bool] = {}  # namespace -> labelled with our instance
        self._configs: dict[tuple[str, str], dict[str, Any]] = {}
        self._closed = False
        self._born = time.time()
        self._swept: set[str] = set()  # namespaces cleared of leases left by a crash

    def _ns(self, path: ResourcePath) -> str:
        return self.naming.namespace(path.realm)

    # ------------------------------------------------------------------ general
    async def version(self) -> str:
        with mapped("version"):
            resp = await self.client.version.Version(empty_pb2.Empty(), **self.client.opts(None))
        return str(resp.version)

    async def close(self) -> None:
        self._closed = True
        await self.client.close()

    # ------------------------------------------------------------------ namespaces
    async def ensure_namespace(self, realm: str, namespace: str) -> None:
        key, value = self.naming.instance_label
        labels = {key: value, LABEL_PREFIX + "realm": realm}
        c = self.client
        ns = namespace_pb2.Namespace(name=namespace, labels=labels)
        with mapped(f"create namespace {namespace}", ignore=(Code.ALREADY_EXISTS,)):
            await c.namespaces.Create(
                namespace_pb2.CreateNamespaceRequest(namespace=ns), **c.opts(namespace)
            )
        # A namespace created implicitly (any namespaced write creates one) has no labels.
        with mapped(f"label namespace {namespace}"):
            await c.namespaces.Update(
                namespace_pb2.UpdateNamespaceRequest(namespace=ns), **c.opts(namespace)
            )
        self._ours[namespace] = True

    async def delete_namespace(self, realm: str, namespace: str) -> None:
        """Removes the images (their content then goes to GC); fails while containers exist."""
        c = self.client
        for img in await images.list_images(c, namespace):
            await images.remove_image(c, namespace, img.name)
        with mapped(f"delete namespace {namespace}", ignore=(Code.NOT_FOUND,)):
            await c.namespaces.Delete(
                namespace_pb2.DeleteNamespaceRequest(name=namespace), **c.opts(namespace)
            )
        self._ours.pop(namespace, None)

    async def _our_namespaces(self) -> dict[str, dict[str, str]]:
        with mapped("list namespaces"):
            resp = await self.client.namespaces.List(
                namespace_pb2.ListNamespacesRequest(), **self.client.opts(None)
            )
        key, value = self.naming.instance_label
        out = {n.name: dict(n.labels) for n in resp.namespaces if n.labels.get(key) == value}
        for name in out:
            self._ours[name] = True
        return out

    async def _is_ours(self, namespace: str) -> bool:
        if namespace not in self._ours:
            await self._our_namespaces()
            self._ours.setdefault(namespace, False)
        return self._ours[namespace]

    # ------------------------------------------------------------------ images
    async def import_archive(
        self, realm_namespace: str, source: Path | IO[bytes], default_name: str | None = None
    ) -> list[ObservedImage]:
        return await images.import_archive(self.client, realm_namespace, source, default_name)

    async def pull(
        self,
        realm_namespace: str,
        ref: str,
        *,
        credentials: tuple[str, str] | None = None,
        insecure: tuple[str, ...] = (),
        progress: Callable[[PullProgress], None] | None = None,
    ) -> ObservedImage:
        return await registry.pull(
            self.client,
            realm_namespace,
            ref,
            credentials=credentials,
            insecure=insecure,
            progress=progress,
        )

    async def list_images(self, realm_namespace: str) -> list[ObservedImage]:
        return await images.list_images(self.client, realm_namespace)

    async def remove_image(self, realm_namespace: str, name: str) -> None:
        await images.remove_image(self.client, realm_namespace, images.normalize_name(name))

    async def image_digest(self, realm: str, ref: str) -> str | None:
        ns = self.naming.namespace(realm)
        target = await images.image_target(self.client, ns, images.normalize_name(ref))
        return None if target is None else await images.platform_manifest(self.client, ns, target)

    async def ensure_image(self, realm: str, ref: str, policy: PullPolicy) -> str:
        if policy is not PullPolicy.ALWAYS:
            digest = await self.image_digest(realm, ref)
            if digest is not None:
                return digest
            if policy is PullPolicy.NEVER:
                raise PermanentError(
                    f"image {ref} is not present and imagePullPolicy is Never",
                    hint="import it with `kuke image import`",
                )
        return (await self.pull(self.naming.namespace(realm), ref)).digest

    # ------------------------------------------------------------------ observe
    async def observe(self) -> RuntimeObservation:
        c = self.client
        key, value = self.naming.instance_label
        realms: set[str] = set()
        containers: list[ObservedContainer] = []
        orphans: list[str] = []
        for ns, labels in (await self._our_namespaces()).items():
            realm = labels.get(LABEL_PREFIX + "realm")
            if realm is None:
                orphans.append(f"namespace {ns}: no {LABEL_PREFIX}realm label")
            else:
                realms.add(realm)
            if ns not in self._swept:
                await self._sweep_leases(ns)
            with mapped(f"list containers in {ns}"):
                listed = await c.containers.List(
                    containers_pb2.ListContainersRequest(filters=[f'labels."{key}"=={value}']),
                    **c.opts(ns),
                )
            with mapped(f"list tasks in {ns}"):
                tasks = {
                    t.id: t
                    for t in (await c.tasks.List(tasks_pb2.ListTasksRequest(), **c.opts(ns))).tasks
                }
            for ctr in listed.containers:
                try:
                    containers.append(self._observed(ns, ctr, tasks.get(ctr.id)))
                except ValueError as exc:
                    orphans.append(f"container {ns}/{ctr.id}: {exc}")
        return RuntimeObservation(frozenset(realms), tuple(containers), tuple(orphans))

    async def _sweep_leases(self, ns: str) -> None:
        """Delete our leases made before this process started: their maker crashed mid-way
        (one kukeond per instance), and they would pin snapshots and content for an hour."""
        c = self.client
        with mapped(f"list leases in {ns}"):
            leases = (await c.leases.List(leases_pb2.ListRequest(), **c.opts(ns))).leases
        for lease in leases:
            if lease.id.startswith("kukeon-") and (_ts(lease.created_at) or 0) < self._born:
                with mapped(f"delete stale lease {lease.id}", ignore=(Code.NOT_FOUND,)):
                    await c.leases.Delete(leases_pb2.DeleteRequest(id=lease.id), **c.opts(ns))
        self._swept.add(ns)

    def _observed(self, ns: str, ctr: Any, task: Any) -> ObservedContainer:
        labels = dict(ctr.labels)
        path = self._path_of(ns, ctr.id, labels)
        spec_fields = None
        if LABEL_SPEC in labels:
            spec_fields = json.loads(labels[LABEL_SPEC])
        state, pid, code, exited = TaskState.NONE, 0, None, None
        if task is not None:
            state = _STATES.get(task.status, TaskState.UNKNOWN)
            pid = task.pid
            if state is TaskState.STOPPED:
                code, exited = task.exit_status, _ts(task.exited_at)
        return ObservedContainer(
            path=path,
            container_id=ctr.id,
            spec_hash=labels.get(LABEL_HASH, ""),
            image_digest=labels.get(LABEL_DIGEST, ""),
            task=state,
            pid=pid,
            exit_code=code,
            exited_at=exited,
            spec_fields=spec_fields,
            depends_on=tuple(
                ResourcePath.parse(p) for p in labels.get(LABEL_DEPENDS, "").split(",") if p
            ),
        )

    def _path_of(self, ns: str, cid: str, labels: dict[str, str]) -> ResourcePath:
        """The path in the labels, checked against the id and namespace it must map to."""
        try:
            path = ResourcePath(tuple(labels[LABEL_PREFIX + k] for k in _SEGMENTS))
        except KeyError as exc:
            raise ValueError(f"missing label {exc.args[0]}") from exc
        if self.naming.container_id(path) != cid or self._ns(path) != ns:
            raise ValueError(f"labels say {path}, which is not id {cid} in {ns}")
        self._paths[(ns, cid)] = path
        return path

    # ------------------------------------------------------------------ containers
    async def create_container(self, req: ContainerRequest) -> None:
        c, ns, cid = self.client, self._ns(req.path), self.naming.container_id(req.path)
        existing = await self._get_container(ns, cid)
        if existing is not None:
            labels = dict(existing.labels)
            if (labels.get(LABEL_HASH), labels.get(LABEL_DIGEST)) != (
                req.spec_hash,
                req.image_digest,
            ):
                raise PermanentError(
                    f"container {req.path} exists with another spec or image",
                    hint="delete it first",
                )
            await self.start_container(req.path)
            return
        async with c.lease(ns, "create") as lease:
            manifest = req.image_digest or await self._resolve(ns, req.container.image)
            top = await images.unpack(c, ns, lease, manifest)
            spec = build_spec(req, await self._image_config(ns, manifest))
            labels = {
                **self.naming.labels(req.path),
                LABEL_HASH: req.spec_hash,
                LABEL_DIGEST: manifest,
                LABEL_LOG: req.log_path,
            }
            if req.cell.depends_on:
                labels[LABEL_DEPENDS] = ",".join(str(d.cell) for d in req.cell.depends_on)
            fields = json.dumps(req.spec_fields, sort_keys=True, separators=(",", ":"))
            if len(LABEL_SPEC) + len(fields) <= LABEL_MAX:
                labels[LABEL_SPEC] = fields
            # A snapshot without its container is left by a crash (before the create, or
            # in a delete): an old rootfs or one the GC may take. A new container starts
            # from a fresh one, made under our lease.
            key = self.naming.snapshot_key(req.path)
            await self._remove_snapshot(req.path)
            with mapped(f"prepare snapshot for {req.path}"):
                await c.snapshots.Prepare(
                    snapshots_pb2.PrepareSnapshotRequest(
                        snapshotter=SNAPSHOTTER, key=key, parent=top
                    ),
                    **c.opts(ns, lease),
                )
            failpoint("runtime.after-snapshot-prepare", TransientError)
            ctr = containers_pb2.Container(
                id=cid,
                labels=labels,
                image=images.normalize_name(req.container.image),
                runtime=containers_pb2.Container.Runtime(name=RUNC),
                spec=any_pb2.Any(type_url=SPEC_TYPE, value=json.dumps(spec).encode()),
                snapshotter=SNAPSHOTTER,
                snapshot_key=key,
            )
            with mapped(f"create container {req.path}", ignore=(Code.ALREADY_EXISTS,)):
                await c.containers.Create(
                    containers_pb2.CreateContainerRequest(container=ctr), **c.opts(ns, lease)
                )
        self._paths[(ns, cid)] = req.path
        failpoint("runtime.after-container-create", TransientError)
        await self._start(ns, cid, req.path, req.log_path)

    async def _image_config(self, ns: str, manifest: str) -> dict[str, Any]:
        """The image's runtime config; content-addressed, so cached by manifest digest."""
        key = (ns, manifest)
        if key not in self._configs:
            doc = await images.read_json(self.client, ns, manifest)
            config = await images.read_json(self.client, ns, doc["config"]["digest"])
            self._configs[key] = config.get("config") or {}
        return self._configs[key]

    async def _resolve(self, ns: str, ref: str) -> str:
        target = await images.image_target(self.client, ns, images.normalize_name(ref))
        if target is None:
            raise PermanentError(f"image {ref} is not present in {ns}", hint="pull it first")
        return await images.platform_manifest(self.client, ns, target)

    async def _get_container(self, ns: str, cid: str) -> Any:
        resp = None
        with mapped(f"get container {cid}", ignore=(Code.NOT_FOUND,)):
            resp = await self.client.containers.Get(
                containers_pb2.GetContainerRequest(id=cid), **self.client.opts(ns)
            )
        return None if resp is None else resp.container

    async def _get_task(self, ns: str, cid: str) -> Any:
        resp = None
        with mapped(f"get task {cid}", ignore=(Code.NOT_FOUND,)):
            resp = await self.client.tasks.Get(
                tasks_pb2.GetRequest(container_id=cid), **self.client.opts(ns)
            )
        return None if resp is None else resp.process

    async def start_container(self, path: ResourcePath) -> None:
        ns, cid = self._ns(path), self.naming.container_id(path)
        ctr = await self._get_container(ns, cid)
        if ctr is None:
            raise PermanentError(f"container {path} does not exist", hint="create it first")
        await self._start(ns, cid, path, dict(ctr.labels).get(LABEL_LOG))

    async def _start(self, ns: str, cid: str, path: ResourcePath, log_path: str | None) -> None:
        """Make the task run: delete a stopped one, create one if missing, start it."""
        c = self.client
        task = await self._get_task(ns, cid)
        if task is not None and task.status == task_pb2.RUNNING:
            return
        if task is not None and task.status == task_pb2.STOPPED:
            log_path = log_path or self._log_of(task)
            await self._delete_task(ns, cid)
            task = None
        if task is None:
            if log_path is None:
                raise PermanentError(f"no log path known to restart {path}")
            mounts = None
            with mapped(f"mounts of snapshot {cid}", ignore=(Code.NOT_FOUND,)):
                mounts = await c.snapshots.Mounts(
                    snapshots_pb2.MountsRequest(
                        snapshotter=SNAPSHOTTER, key=self.naming.snapshot_key(path)
                    ),
                    **c.opts(ns),
                )
            if mounts is None:
                # Without its rootfs the container can never start; dropping it lets the
                # next pass create it whole.
                with mapped(f"delete container {path}", ignore=(Code.NOT_FOUND,)):
                    await c.containers.Delete(
                        containers_pb2.DeleteContainerRequest(id=cid), **c.opts(ns)
                    )
                raise TransientError(f"snapshot of {path} is gone; container dropped to recreate")
            uri = log_uri(log_path)
            with mapped(f"create task of {path}", ignore=(Code.ALREADY_EXISTS,)):
                await c.tasks.Create(
                    tasks_pb2.CreateTaskRequest(
                        container_id=cid,
                        rootfs=mounts.mounts,
                        stdout=uri,
                        stderr=uri,
                        terminal=False,
                    ),
                    **c.opts(ns),
                )
            failpoint("runtime.after-task-create", TransientError)
        with mapped(f"start task of {path}", ignore=(Code.NOT_FOUND,)):
            await c.tasks.Start(tasks_pb2.StartRequest(container_id=cid), **c.opts(ns))
            return
        # NOT_FOUND "container not created": containerd has the task but its shim does not
        # (a create cut short by a crash). It can never start: drop it, so the retry makes it.
        with contextlib.suppress(DriverError):
            await self._kill(ns, cid, signal.SIGKILL)
        await self._delete_task(ns, cid)
        raise TransientError(f"the task of {path} was half created; it is created again")

    @staticmethod
    def _log_of(task: Any) -> str | None:
        query = urllib.parse.urlparse(task.stdout).query
        paths = urllib.parse.parse_qs(query).get("path")
        return str(paths[0]) if paths else None

    async def _delete_task(self, ns: str, cid: str) -> None:
        with mapped(f"delete task {cid}", ignore=(Code.NOT_FOUND,)):
            await self.client.tasks.Delete(
                tasks_pb2.DeleteTaskRequest(container_id=cid), **self.client.opts(ns)
            )

    async def _kill(self, ns: str, cid: str, sig: int) -> None:
        with mapped(f"signal {sig} to {cid}", ignore=(Code.NOT_FOUND,)):
            await self.client.tasks.Kill(
                tasks_pb2.KillRequest(container_id=cid, signal=sig, all=True),
                **self.client.opts(ns),
            )

    async def _wait(self, ns: str, cid: str, timeout: float) -> bool:
        """True once the task has exited; False if still running after ``timeout``."""
        # A gRPC deadline would reach containerd and come back as UNKNOWN; time out here.
        call = self.client.tasks.Wait(
            tasks_pb2.WaitRequest(container_id=cid), **self.client.opts(ns, timeout=timeout + 30)
        )
        try:
            await asyncio.wait_for(call, max(timeout, 0.001))
        except TimeoutError:
            return False
        except grpc.aio.AioRpcError as exc:
            if exc.code() != Code.NOT_FOUND:
                with mapped(f"wait for {cid}"):
                    raise
        return True

    async def stop_container(self, path: ResourcePath, grace_seconds: float) -> None:
        ns, cid = self._ns(path), self.naming.container_id(path)
        task = await self._get_task(ns, cid)
        if task is None:
            return
        if task.status in (task_pb2.RUNNING, task_pb2.PAUSED, task_pb2.PAUSING):
            exited = False
            if grace_seconds > 0:
                await self._kill(ns, cid, signal.SIGTERM)
                exited = await self._wait(ns, cid, grace_seconds)
            if not exited:
                await self._kill(ns, cid, signal.SIGKILL)
                if not await self._wait(ns, cid, self.client.timeout):
                    raise TransientError(f"task of {path} survived SIGKILL")
        await self._delete_task(ns, cid)

    async def exec(self, path: ResourcePath, argv: list[str], timeout: float) -> tuple[int, str]:
        """Run ``argv`` in the running container (containerd's exec API, like
        ``ctr task exec``); returns its exit code (-1 on timeout) and the start of its
        output. The process gets the container's own env, cwd and user."""
        c, ns, cid = self.client, self._ns(path), self.naming.container_id(path)
        ctr = await self._get_container(ns, cid)
        if ctr is None:
            raise TransientError(f"container {path} does not exist")
        process = json.loads(ctr.spec.value)["process"]
        process.update(args=argv, terminal=False)
        exec_id = "kk-" + os.urandom(6).hex()
        with tempfile.TemporaryDirectory(prefix="kukeon-exec-") as tmp:
            # FIFOs we drain while it runs: with file:// the shim sends both streams to
            # the stdout file, each from offset 0, so one overwrites the other
            streams = [Path(tmp, "stdout"), Path(tmp, "stderr")]
            for fifo in streams:
                os.mkfifo(fifo, 0o600)
            output = _Drain(streams)
            request = tasks_pb2.ExecProcessRequest(
                container_id=cid,
                exec_id=exec_id,
                terminal=False,
                stdout=str(streams[0]),
                stderr=str(streams[1]),
                spec=any_pb2.Any(type_url=PROCESS_TYPE, value=json.dumps(process).encode()),
            )
            try:
                with mapped(f"exec in {path}"):
                    await c.tasks.Exec(request, **c.opts(ns))
                code = await self._run_exec(path, ns, cid, exec_id, timeout, output)
            finally:
                output.close()
                with mapped(f"delete exec in {path}", ignore=(Code.NOT_FOUND,)):
                    await c.tasks.DeleteProcess(
                        tasks_pb2.DeleteProcessRequest(container_id=cid, exec_id=exec_id),
                        **c.opts(ns),
                    )
            return code, output.text()

    async def _run_exec(
        self, path: ResourcePath, ns: str, cid: str, exec_id: str, timeout: float, output: _Drain
    ) -> int:
        """Start the exec'd process and wait for it, draining its output; -1 on timeout."""
        c = self.client
        wait = asyncio.ensure_future(
            c.tasks.Wait(
                tasks_pb2.WaitRequest(container_id=cid, exec_id=exec_id),
                **c.opts(ns, timeout=timeout + 30),
            )
        )
        try:
            with mapped(f"start exec in {path}"):
                await c.tasks.Start(
                    tasks_pb2.StartRequest(container_id=cid, exec_id=exec_id), **c.opts(ns)
                )
            deadline = asyncio.get_running_loop().time() + timeout
            while not wait.done() and asyncio.get_running_loop().time() < deadline:
                output.read()
                await asyncio.wait([wait], timeout=0.02)
            output.read()
            if wait.done():
                with mapped(f"wait for exec in {path}"):
                    return int(wait.result().exit_status)
            with mapped(f"kill exec in {path}", ignore=(Code.NOT_FOUND,)):
                await c.tasks.Kill(
                    tasks_pb2.KillRequest(container_id=cid, exec_id=exec_id, signal=signal.SIGKILL),
                    **c.opts(ns),
                )
            # a process still running cannot be deleted: let the SIGKILL land first
            await asyncio.wait([wait], timeout=5.0)
            return -1
        finally:
            wait.cancel()

    async def delete_container(self, path: ResourcePath) -> None:
        ns, cid = self._ns(path), self.naming.container_id(path)
        await self.stop_container(path, 0)
        failpoint("runtime.after-task-delete", TransientError)
        with mapped(f"delete container {path}", ignore=(Code.NOT_FOUND,)):
            await self.client.containers.Delete(
                containers_pb2.DeleteContainerRequest(id=cid), **self.client.opts(ns)
            )
        failpoint("runtime.after-container-delete", TransientError)
        await self._remove_snapshot(path)
        self._paths.pop((ns, cid), None)

    async def _remove_snapshot(self, path: ResourcePath) -> None:
        with mapped(f"remove snapshot of {path}", ignore=(Code.NOT_FOUND,)):
            await self.client.snapshots.Remove(
                snapshots_pb2.RemoveSnapshotRequest(
                    snapshotter=SNAPSHOTTER, key=self.naming.snapshot_key(path)
                ),
                **self.client.opts(self._ns(path)),
            )

    # ------------------------------------------------------------------ events
    async def exits(self) -> AsyncIterator[TaskExit]:
        """Exits of our containers' init processes; resubscribes when the stream breaks
        (exits missed meanwhile show up in observe() as stopped tasks)."""
        delay = 0.2
        while not self._closed:
            call = self.client.events.Subscribe(
                events_pb2.SubscribeRequest(filters=['topic=="/tasks/exit"'])
            )
            try:
                async for env in call:
                    delay = 0.2
                    exit_ = await self._task_exit(env)
                    if exit_ is not None:
                        yield exit_
            except (grpc.aio.AioRpcError, DriverError):
                if self._closed:
                    return  # the stream broke because we closed the channel
            finally:
                call.cancel()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)  # the gap where exits are missed stays short

    async def _task_exit(self, env: Any) -> TaskExit | None:
        ev = task_events.TaskExit.FromString(env.event.value)
        if ev.id and ev.id != ev.container_id:
            return None  # an exec'd process, not the task itself
        if not await self._is_ours(env.namespace):
            return None
        path = self._paths.get((env.namespace, ev.container_id))
        if path is None:
            ctr = await self._get_container(env.namespace, ev.container_id)
            if ctr is None:
                return None
            try:
                path = self._path_of(env.namespace, ctr.id, dict(ctr.labels))
            except ValueError:
                return None
        return TaskExit(path=path, exit_code=ev.exit_status, exited_at=_ts(ev.exited_at) or 0.0)
