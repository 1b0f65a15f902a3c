"""A fake kukeond for CLI tests: the real generated servicer, canned replies, a real socket.

The CLI is the unit under test, so the daemon side is a stand-in: it records requests,
answers with what a test put in it, and fails an RPC with a chosen status on demand.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc

from kukeon.api import kukeon_pb2 as pb
from kukeon.api import kukeon_pb2_grpc as pb_grpc

CELL_MANIFEST = """\
apiVersion: v1beta1
kind: Cell
metadata:
  name: web
spec:
  containers:
  - id: app
    image: docker.io/library/busybox:latest
"""


def cell(
    name: str = "web", phase: str = "Ready", observed_pass: int = 1, since: float = 0.0
) -> pb.Resource:
    return pb.Resource(
        kind="Cell",
        path=f"default/default/default/{name}",
        name=name,
        phase=phase,
        owner="api",
        origin="web.yaml:2",
        ip="10.88.0.2",
        containers=[
            pb.ContainerStatus(
                name="app", state="running", pid=42, restart_count=1, image="busybox"
            )
        ],
        manifest=CELL_MANIFEST.replace("name: web", f"name: {name}"),
        observed_pass=observed_pass,
        memory_bytes=-1,
        pids=-1,
        since=since,
    )


@dataclass
class FakeKukeon(pb_grpc.KukeonServicer):  # type: ignore[misc]
    resources: list[pb.Resource] = field(default_factory=list)
    apply_reply: pb.ApplyReply = field(
        default_factory=lambda: pb.ApplyReply(
            applied=["cell/default/default/default/web"], pass_number=7
        )
    )
    plan: pb.Plan = field(default_factory=pb.Plan)
    events: list[pb.Event] = field(default_factory=list)
    log_chunks: list[bytes] = field(default_factory=list)
    # RPC name -> (status, details): that RPC fails so.
    fail: dict[str, tuple[grpc.StatusCode, str]] = field(default_factory=dict)
    # Called on every List, so a test can move resources through their phases.
    on_list: Callable[[FakeKukeon], None] | None = None
    requests: list[tuple[str, Any]] = field(default_factory=list)
    list_calls: int = 0

    def _enter(self, name: str, request: Any, context: grpc.ServicerContext) -> None:
        self.requests.append((name, request))
        if name in self.fail:
            code, details = self.fail[name]
            context.abort(code, details)

    def Version(self, request: Any, context: grpc.ServicerContext) -> pb.VersionReply:
        self._enter("Version", request, context)
        return pb.VersionReply(
            version="0.1.0", containerd_version="1.6.20", cgroup_mode="hybrid", instance="kt"
        )

    def Apply(self, request: Any, context: grpc.ServicerContext) -> pb.ApplyReply:
        self._enter("Apply", request, context)
        return self.apply_reply

    def Diff(self, request: Any, context: grpc.ServicerContext) -> pb.DiffReply:
        self._enter("Diff", request, context)
        return pb.DiffReply(plan=self.plan)

    def Delete(self, request: Any, context: grpc.ServicerContext) -> pb.DeleteReply:
        self._enter("Delete", request, context)
        gone = set(request.paths)
        self.resources = [r for r in self.resources if r.path not in gone]
        return pb.DeleteReply(deleted=[f"cell/{p}" for p in request.paths], pass_number=8)

    def List(self, request: Any, context: grpc.ServicerContext) -> pb.ListReply:
        self._enter("List", request, context)
        self.list_calls += 1
        if self.on_list:
            self.on_list(self)
        found = [
            r
            for r in self.resources
            if (not request.kind or r.kind == request.kind) and r.path.startswith(request.prefix)
        ]
        return pb.ListReply(resources=found, pass_number=8)

    def Get(self, request: Any, context: grpc.ServicerContext) -> pb.Resource:
        self._enter("Get", request, context)
        for r in self.resources:
            if r.path == request.path:
                return r
        context.abort(grpc.StatusCode.NOT_FOUND, f"{request.kind} {request.path} not found")
        raise AssertionError("abort raises")

    def Status(self, request: Any, context: grpc.ServicerContext) -> pb.StatusReply:
        self._enter("Status", request, context)
        return pb.StatusReply(
            instance="kt",
            pass_number=9,
            last_pass_seconds=0.01,
            phases={"Ready": len(self.resources)},
            cgroup_mode="hybrid",
            containerd="1.6.20",
            sources=[pb.SourceStatus(name="api", resources=len(self.resources))],
        )

    def Events(self, request: Any, context: grpc.ServicerContext) -> Iterator[pb.Event]:
        self._enter("Events", request, context)
        yield from (e for e in self.events if e.path.startswith(request.prefix))

    def Logs(self, request: Any, context: grpc.ServicerContext) -> Iterator[pb.LogChunk]:
        self._enter("Logs", request, context)
        for data in self.log_chunks:
            yield pb.LogChunk(data=data)

    def Stop(self, request: Any, context: grpc.ServicerContext) -> pb.TargetReply:
        self._enter("Stop", request, context)
        return pb.TargetReply(affected=[request.path], pass_number=9)

    def ImagePull(
        self, request: Any, context: grpc.ServicerContext
    ) -> Iterator[pb.ImagePullProgress]:
        self._enter("ImagePull", request, context)
        yield pb.ImagePullProgress(status="resolving")
        yield pb.ImagePullProgress(status="downloading", done_bytes=10, total_bytes=20)
        yield pb.ImagePullProgress(status="downloading", done_bytes=20, total_bytes=20)
        yield pb.ImagePullProgress(status="unpacking", digest="sha256:cafe")

    def Prune(self, request: Any, context: grpc.ServicerContext) -> pb.PruneReply:
        self._enter("Prune", request, context)
        return pb.PruneReply(paths=["default/default/default/stray"])

    def Doctor(self, request: Any, context: grpc.ServicerContext) -> pb.DoctorReply:
        self._enter("Doctor", request, context)
        return pb.DoctorReply(
            checks=[
                pb.Check(name="containerd", ok=True, detail="1.6.20"),
                pb.Check(name="cni plugins", ok=False, detail="no bridge", fix="apt install"),
            ]
        )

    def ImageImport(self, request_iterator: Any, context: grpc.ServicerContext) -> Any:
        chunks = list(request_iterator)
        self._enter("ImageImport", chunks, context)
        size = sum(len(c.data) for c in chunks)
        return pb.ImageImportReply(
            images=[pb.Image(name="busybox:seed", digest="sha256:ab", size=size)]
        )


@dataclass
class Daemon:
    fake: FakeKukeon
    socket: str


def serve(fake: FakeKukeon) -> Iterator[Daemon]:
    """Run ``fake`` on a fresh unix socket until the generator is closed."""
    # A short directory: unix socket paths are limited to 108 bytes.
    directory = tempfile.mkdtemp(prefix="kuke-", dir="/tmp")
    socket = os.path.join(directory, "kukeond.sock")
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_KukeonServicer_to_server(fake, server)
    server.add_insecure_port("unix://" + socket)
    server.start()
    try:
        yield Daemon(fake, socket)
    finally:
        server.stop(0).wait()
        shutil.rmtree(directory, ignore_errors=True)
