"""The gRPC transport: maps requests to the Service and domain errors to status codes.
No logic lives here."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import io
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
import structlog
import yaml

from kukeon.api import kukeon_pb2 as pb
from kukeon.api import kukeon_pb2_grpc as pbg
from kukeon.daemon.gitsync import GitSpec, GitView
from kukeon.daemon.gitsync.spec import DEFAULT_INTERVAL
from kukeon.daemon.service import NotFound, Refused, ResourceView, Service
from kukeon.drivers.base import PullProgress, TransientError
from kukeon.model.encode import to_manifest
from kukeon.model.errors import KukeonError, ManifestError, ManifestErrors
from kukeon.reconcile.plan import Plan

log = structlog.get_logger("kukeon.api")
T = TypeVar("T")
MAX_IMPORT_BYTES = 2 << 30
# A status message travels percent-encoded in a header; past ~8 KiB of headers the client
# sees RESOURCE_EXHAUSTED instead of the error (e.g. one echoing a 64 KiB name).
MAX_DETAILS_BYTES = 4096
MAX_DETAILS_LINE = 300


def _encoded_len(text: str) -> int:
    """Length of ``text`` as gRPC percent-encodes it (bytes outside printable ASCII, %)."""
    return sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in text.encode())


def _fit(text: str) -> str:
    """``text`` cut to a status message the client will receive: whole lines while they
    fit (each cut at MAX_DETAILS_LINE characters), then how many were left out."""
    text = text.encode("utf-8", "backslashreplace").decode()  # a lone surrogate from JSON
    lines = [
        line if len(line) <= MAX_DETAILS_LINE else line[:MAX_DETAILS_LINE] + "..."
        for line in text.split("\n")
    ]
    out: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        used += _encoded_len(line) + 3
        if used > MAX_DETAILS_BYTES - 100:
            out.append(f"... and {len(lines) - i} more line(s)")
            break
        out.append(line)
    return "\n".join(out)


def _problem(e: ManifestError) -> pb.Problem:
    loc = e.location
    return pb.Problem(
        file=loc.file,
        line=loc.line or 0,
        field=loc.field or "",
        message=e.message,
        hint=e.hint or "",
    )


def plan_pb(plan: Plan) -> pb.Plan:
    return pb.Plan(
        actions=[
            pb.PlanAction(op=a.op.value, path=str(a.path), cause=a.cause) for a in plan.actions
        ],
        unowned=[str(p) for p in plan.unowned],
        waiting=[f"{p}: {why}" for p, why in plan.waiting],
    )


def resource_pb(view: ResourceView) -> pb.Resource:
    s = view.status
    res = view.resource
    images = {c.name: c.image for c in getattr(res, "containers", ())}
    return pb.Resource(
        kind=s.kind.value,
        path=str(s.path),
        name=s.path.name,
        phase=s.phase,
        reason=s.reason,
        message=s.message,
        owner=s.owner,
        origin=res.origin if res else "",
        ip=s.ip,
        containers=[
            pb.ContainerStatus(
                name=c.name,
                state=c.state,
                pid=c.pid,
                has_exit_code=c.exit_code is not None,
                exit_code=c.exit_code or 0,
                restart_count=c.restart_count,
                image=images.get(c.name, ""),
                image_digest=c.image_digest,
            )
            for c in s.containers
        ],
        labels=dict(s.labels),
        manifest=yaml.safe_dump(to_manifest(res), sort_keys=False) if res else "",
        observed_pass=s.observed_pass,
        memory_bytes=-1 if s.memory_bytes is None else s.memory_bytes,
        pids=-1 if s.pids is None else s.pids,
        stopped=view.stopped,
        since=s.since,
    )


def git_source_pb(v: GitView) -> pb.GitSource:
    s, st = v.spec, v.state
    return pb.GitSource(
        spec=pb.GitSourceSpec(
            name=s.name,
            url=s.url,
            branch=s.branch,
            tag=s.tag,
            path=s.path,
            interval_seconds=s.interval,
            suspend=s.suspend,
            credentials_file=s.credentials_file,
        ),
        origin=s.origin,
        fetched_revision=st.fetched,
        fetched_at=st.fetched_at,
        applied_revision=st.applied,
        applied_at=st.applied_at,
        attempted_revision=st.attempted,
        attempted_at=st.attempted_at,
        last_error=st.error,
        error_at=st.error_at,
        resources=v.resources,
        conflicts=v.conflicts,
        history=[pb.GitHistoryEntry(time=t, revision=r, result=res) for t, r, res in v.history],
        syncing=v.syncing,
        last_sync_seconds=st.sync_seconds,
    )


async def _guard(
    context: grpc.aio.ServicerContext[Any, Any], call: Callable[[], Awaitable[T]]
) -> T:
    """Map domain errors to status codes at the edge; never leak a traceback."""
    try:
        return await call()
    except ManifestErrors as err:
        await context.abort(
            grpc.StatusCode.INVALID_ARGUMENT, _fit("\n".join(str(e) for e in err.errors))
        )
    except NotFound as err:
        await context.abort(grpc.StatusCode.NOT_FOUND, _fit(str(err)))
    except Refused as err:
        await context.abort(grpc.StatusCode.FAILED_PRECONDITION, _fit(str(err)))
    except TransientError as err:
        await context.abort(grpc.StatusCode.UNAVAILABLE, _fit(str(err)))
    except KukeonError as err:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _fit(str(err)))


def _docs(documents: Any) -> list[tuple[str, str]]:
    return [(d.name, d.content) for d in documents]


class KukeonServicer(pbg.KukeonServicer):  # type: ignore[misc]
    def __init__(self, service: Service) -> None:
        self.s = service

    async def Version(self, request: Any, context: Any) -> pb.VersionReply:
        async def go() -> pb.VersionReply:
            try:
                ctd = await self.s.runtime.version()
            except KukeonError:
                ctd = "unreachable"
            return pb.VersionReply(
                version=self.s.version(),
                containerd_version=ctd,
                cgroup_mode=self.s.controller.d.cgroups.mode,
                instance=self.s.cfg.instance,
            )

        return await _guard(context, go)

    async def Apply(self, request: Any, context: Any) -> pb.ApplyReply:
        async def go() -> pb.ApplyReply:
            r = await self.s.apply(
                _docs(request.documents),
                dry_run=request.dry_run,
                prune_set=request.prune_set if request.prune else "",
            )
            return pb.ApplyReply(
                applied=r.applied,
                unchanged=r.unchanged,
                pruned=r.pruned,
                warnings=[_problem(w) for w in r.warnings],
                plan=plan_pb(r.plan),
                pass_number=r.pass_number,
            )

        return await _guard(context, go)

    async def Diff(self, request: Any, context: Any) -> pb.DiffReply:
        async def go() -> pb.DiffReply:
            plan, warnings = await self.s.diff(_docs(request.documents))
            return pb.DiffReply(plan=plan_pb(plan), warnings=[_problem(w) for w in warnings])

        return await _guard(context, go)

    async def Delete(self, request: Any, context: Any) -> pb.DeleteReply:
        async def go() -> pb.DeleteReply:
            deleted, number = await self.s.delete(list(request.paths), _docs(request.documents))
            return pb.DeleteReply(deleted=deleted, pass_number=number)

        return await _guard(context, go)

    async def List(self, request: Any, context: Any) -> pb.ListReply:
        async def go() -> pb.ListReply:
            views = self.s.resources(request.kind, request.prefix)
            return pb.ListReply(
                resources=[resource_pb(v) for v in views], pass_number=self.s.controller.last.number
            )

        return await _guard(context, go)

    async def Get(self, request: Any, context: Any) -> pb.Resource:
        async def go() -> pb.Resource:
            return resource_pb(self.s.get(request.path))

        return await _guard(context, go)

    async def Status(self, request: Any, context: Any) -> pb.StatusReply:
        async def go() -> pb.StatusReply:
            c = self.s.controller
            phases: dict[str, int] = {}
            for st in c.status.values():
                if st.kind.value == "Cell":
                    phases[st.phase] = phases.get(st.phase, 0) + 1
            sources = [
                pb.SourceStatus(
                    name=src.name,
                    error=src.error,
                    resources=len(src.resources),
                    revision=src.revision,
                )
                for src in self.s.sources.statuses()
            ]
            if self.s.sources.held_empty:
                sources.append(pb.SourceStatus(name="dir", error=self.s.sources.held_empty))
            try:
                ctd = await self.s.runtime.version()
            except KukeonError as err:
                ctd = f"unreachable: {err}"
            return pb.StatusReply(
                instance=self.s.cfg.instance,
                pass_number=c.last.number,
                last_pass_seconds=c.last.seconds,
                last_pass_at=c.last.started,
                last_pass_actions=c.last.actions,
                last_pass_errors=c.last.errors,
                sources=sources,
                conflicts=[str(x) for x in self.s.sources.desired().conflicts],
                pending=plan_pb(c.last.plan),
                phases=phases,
                cgroup_mode=c.d.cgroups.mode,
                containerd=ctd,
            )

        return await _guard(context, go)

    async def Events(self, request: Any, context: Any) -> AsyncIterator[pb.Event]:
        try:
            stream = self.s.event_stream(
                after_id=request.after_id,
                prefix=request.prefix,
                limit=request.limit if request.limit > 0 else 200,
                follow=request.follow,
            )
        except KukeonError as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _fit(str(err)))
        async for e in stream:
            yield pb.Event(
                id=e.id, time=e.ts, type=e.type, path=e.path, reason=e.reason, message=e.message
            )

    async def Logs(self, request: Any, context: Any) -> AsyncIterator[pb.LogChunk]:
        try:
            stream = self.s.logs(
                request.cell, request.container, follow=request.follow, tail=request.tail
            )
            async for data in stream:
                yield pb.LogChunk(data=data)
        except NotFound as err:
            await context.abort(grpc.StatusCode.NOT_FOUND, _fit(str(err)))
        except KukeonError as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _fit(str(err)))

    async def Start(self, request: Any, context: Any) -> pb.TargetReply:
        async def go() -> pb.TargetReply:
            affected, number = await self.s.set_stopped(request.path, False)
            return pb.TargetReply(affected=affected, pass_number=number)

        return await _guard(context, go)

    async def Stop(self, request: Any, context: Any) -> pb.TargetReply:
        async def go() -> pb.TargetReply:
            affected, number = await self.s.set_stopped(request.path, True)
            return pb.TargetReply(affected=affected, pass_number=number)

        return await _guard(context, go)

    async def Restart(self, request: Any, context: Any) -> pb.TargetReply:
        async def go() -> pb.TargetReply:
            affected, number = await self.s.restart(request.path)
            return pb.TargetReply(affected=affected, pass_number=number)

        return await _guard(context, go)

    async def ImagePull(self, request: Any, context: Any) -> AsyncIterator[pb.ImagePullProgress]:
        queue: asyncio.Queue[pb.ImagePullProgress | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def progress(p: PullProgress) -> None:
            msg = pb.ImagePullProgress(
                status=p.status, done_bytes=p.done_bytes, total_bytes=p.total_bytes
            )
            loop.call_soon_threadsafe(queue.put_nowait, msg)

        async def go() -> str:
            try:
                return await self.s.pull(request.ref, request.realm, progress)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        task = asyncio.create_task(_guard(context, go))
        while (msg := await queue.get()) is not None:
            yield msg
        digest = await task
        yield pb.ImagePullProgress(status="done", digest=digest or "")

    async def ImageImport(self, request_iterator: Any, context: Any) -> pb.ImageImportReply:
        buf = io.BytesIO()
        realm = ""
        async for chunk in request_iterator:
            realm = realm or chunk.realm
            buf.write(chunk.data)
            if buf.tell() > MAX_IMPORT_BYTES:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "archive larger than 2 GiB")
        buf.seek(0)

        async def go() -> pb.ImageImportReply:
            images = await self.s.import_archive(realm, buf)
            return pb.ImageImportReply(
                images=[pb.Image(name=n, digest=d, size=s) for n, d, s in images]
            )

        return await _guard(context, go)

    async def ImageList(self, request: Any, context: Any) -> pb.ImageListReply:
        async def go() -> pb.ImageListReply:
            images = await self.s.images(request.realm)
            return pb.ImageListReply(
                images=[pb.Image(name=n, digest=d, size=s) for n, d, s in images]
            )

        return await _guard(context, go)

    async def ImageRemove(self, request: Any, context: Any) -> pb.ImageRemoveReply:
        async def go() -> pb.ImageRemoveReply:
            await self.s.remove_image(request.ref, request.realm)
            return pb.ImageRemoveReply()

        return await _guard(context, go)

    async def Doctor(self, request: Any, context: Any) -> pb.DoctorReply:
        async def go() -> pb.DoctorReply:
            checks = await self.s.doctor()
            return pb.DoctorReply(
                checks=[pb.Check(name=c.name, ok=c.ok, detail=c.detail, fix=c.fix) for c in checks]
            )

        return await _guard(context, go)

    async def Prune(self, request: Any, context: Any) -> pb.PruneReply:
        async def go() -> pb.PruneReply:
            paths = await self.s.prune(
                unowned=request.unowned,
                dry_run=request.dry_run,
                confirm_empty=request.confirm_empty,
            )
            return pb.PruneReply(paths=paths)

        return await _guard(context, go)

    async def GitAdd(self, request: Any, context: Any) -> pb.GitSource:
        async def go() -> pb.GitSource:
            r = request.spec
            spec = GitSpec(
                name=r.name,
                url=r.url,
                branch=r.branch,
                tag=r.tag,
                path=r.path,
                interval=r.interval_seconds or DEFAULT_INTERVAL,
                suspend=r.suspend,
                credentials_file=r.credentials_file,
            )
            view = await self.s.git_add(
                spec, wait=request.wait, timeout=request.timeout_seconds or 60.0
            )
            return git_source_pb(view)

        return await _guard(context, go)

    async def GitList(self, request: Any, context: Any) -> pb.GitListReply:
        async def go() -> pb.GitListReply:
            return pb.GitListReply(sources=[git_source_pb(v) for v in await self.s.git_list()])

        return await _guard(context, go)

    async def GitRemove(self, request: Any, context: Any) -> pb.GitRemoveReply:
        async def go() -> pb.GitRemoveReply:
            return pb.GitRemoveReply(pass_number=await self.s.git_remove(request.name))

        return await _guard(context, go)

    async def GitSync(self, request: Any, context: Any) -> pb.GitSource:
        async def go() -> pb.GitSource:
            view = await self.s.git_sync(request.name, request.timeout_seconds or 60.0)
            return git_source_pb(view)

        return await _guard(context, go)

    async def GitStatus(self, request: Any, context: Any) -> pb.GitSource:
        async def go() -> pb.GitSource:
            return git_source_pb(await self.s.git_status(request.name))

        return await _guard(context, go)


@contextlib.asynccontextmanager
async def serve(service: Service, socket: Path, group: str) -> AsyncIterator[grpc.aio.Server]:
    """Serve on a unix socket that is not world-accessible (0660, root:<group>)."""
    socket.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        socket.unlink()  # a stale socket from a killed daemon
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 8 << 20)])
    pbg.add_KukeonServicer_to_server(KukeonServicer(service), server)
    old = os.umask(0o117)
    try:
        server.add_insecure_port(f"unix://{socket}")
        await server.start()
    finally:
        os.umask(old)
    os.chmod(socket, 0o660)
    with contextlib.suppress(KeyError):
        os.chown(socket, 0, grp.getgrnam(group).gr_gid)
    try:
        yield server
    finally:
        await server.stop(grace=1.0)
        with contextlib.suppress(FileNotFoundError):
            socket.unlink()
