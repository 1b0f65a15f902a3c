"""A synchronous client of kukeond's API over its unix socket.

One method per RPC, returning the generated messages (server streams as iterators). Every
grpc error is mapped here, at the edge, to a KukeonError that says what to do; nothing
grpc-specific escapes. The channel is dialled on the first call, so building a Client costs
nothing and a missing socket is reported without touching grpc.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import grpc

from kukeon.api import kukeon_pb2 as pb
from kukeon.model.errors import KukeonError

if TYPE_CHECKING:
    from kukeon.api.kukeon_pb2_grpc import KukeonStub

DEFAULT_SOCKET = "/run/kukeon/kukeond.sock"
SOCKET_ENV = "KUKEON_SOCKET"
UNARY_TIMEOUT = 60.0  # seconds; streams (logs -f, events -w, pulls) have none
CHUNK_SIZE = 1 << 20  # image import upload chunk

R = TypeVar("R")


def default_socket() -> str:
    return os.environ.get(SOCKET_ENV) or DEFAULT_SOCKET


class ClientError(KukeonError):
    """An error talking to kukeond; ``exit_code`` is what kuke exits with."""

    exit_code = 1


class DaemonUnavailable(ClientError):
    def __init__(self, socket: str, detail: str = "") -> None:
        super().__init__(
            f"cannot reach kukeond at {socket}: is it running?"
            + (f" ({detail})" if detail else ""),
            hint="systemctl status kukeond / kukeond --help",
        )
        self.socket = socket


class SocketPermissionDenied(ClientError):
    def __init__(self, socket: str) -> None:
        super().__init__(
            f"permission denied on kukeond's socket {socket}",
            hint="run as root, or join the socket's group: sudo usermod -aG kukeon $USER, "
            "then log in again",
        )
        self.socket = socket


class InvalidInput(ClientError):
    """The daemon rejected the documents; ``problems`` are "file:line: field: message" lines."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems) or "invalid input")
        self.problems = problems


class ApiError(ClientError):
    """NOT_FOUND, FAILED_PRECONDITION and the rest, with the daemon's message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _map_error(err: grpc.RpcError, socket: str) -> ClientError:
    code: grpc.StatusCode | None = err.code() if isinstance(err, grpc.Call) else None
    details = (err.details() if isinstance(err, grpc.Call) else None) or ""
    if code == grpc.StatusCode.UNAVAILABLE and _transport_failure(details):
        if "Permission denied" in details:
            return SocketPermissionDenied(socket)
        return DaemonUnavailable(socket, "connection refused" if "refused" in details else "")
    if code == grpc.StatusCode.UNAVAILABLE:  # kukeond answered: something it needs is down
        return ApiError(code.name, f"{details} (temporary: try again shortly)")
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return SocketPermissionDenied(socket) if not details else ApiError(code.name, details)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidInput([line for line in details.splitlines() if line.strip()])
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ApiError(code.name, f"kukeond did not answer in time ({details})")
    name = code.name if code else "UNKNOWN"
    return ApiError(name, details or f"kukeond failed the call ({name})")


def _transport_failure(details: str) -> bool:
    """Whether UNAVAILABLE came from grpc's own connection (not from kukeond's answer)."""
    return not details or details.startswith(
        ("failed to connect", "Socket closed", "Connection reset", "Broken pipe")
    )


class Client:
    def __init__(self, socket: str | None = None, *, timeout: float = UNARY_TIMEOUT) -> None:
        self.socket = socket or default_socket()
        self.timeout = timeout
        self._channel: grpc.Channel | None = None
        self._stub_: KukeonStub | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = self._stub_ = None

    def _stub(self) -> KukeonStub:
        if self._stub_ is None:
            try:
                os.stat(self.socket)
            except PermissionError:
                raise SocketPermissionDenied(self.socket) from None
            except OSError:
                raise DaemonUnavailable(self.socket, "no such socket") from None
            from kukeon.api.kukeon_pb2_grpc import KukeonStub

            self._channel = grpc.insecure_channel("unix://" + os.path.abspath(self.socket))
            self._stub_ = KukeonStub(self._channel)
        return self._stub_

    def _call(self, method: str, request: Any, reply_type: type[R], *, deadline: bool = True) -> R:
        timeout = self.timeout if deadline else None
        try:
            reply = getattr(self._stub(), method)(request, timeout=timeout)
        except grpc.RpcError as err:
            raise _map_error(err, self.socket) from None
        if not isinstance(reply, reply_type):
            raise ApiError("INTERNAL", f"kukeond answered {method} with {type(reply).__name__}")
        return reply

    def _stream(self, method: str, request: Any) -> Iterator[Any]:
        call = getattr(self._stub(), method)(request)
        try:
            yield from call
        except grpc.RpcError as err:
            raise _map_error(err, self.socket) from None
        finally:
            call.cancel()  # a consumer that stops early (Ctrl-C, head) ends the stream

    # -- RPCs ---------------------------------------------------------------------------

    def version(self) -> pb.VersionReply:
        return self._call("Version", pb.VersionRequest(), pb.VersionReply)

    def apply(
        self,
        documents: Sequence[tuple[str, str]],
        *,
        dry_run: bool = False,
        prune: bool = False,
        prune_set: str = "",
    ) -> pb.ApplyReply:
        request = pb.ApplyRequest(
            documents=_documents(documents), dry_run=dry_run, prune=prune, prune_set=prune_set
        )
        return self._call("Apply", request, pb.ApplyReply)

    def diff(self, documents: Sequence[tuple[str, str]] = ()) -> pb.DiffReply:
        return self._call("Diff", pb.DiffRequest(documents=_documents(documents)), pb.DiffReply)

    def delete(
        self, paths: Sequence[str] = (), documents: Sequence[tuple[str, str]] = ()
    ) -> pb.DeleteReply:
        request = pb.DeleteRequest(paths=list(paths), documents=_documents(documents))
        return self._call("Delete", request, pb.DeleteReply)

    def list(self, kind: str = "", prefix: str = "") -> pb.ListReply:
        return self._call("List", pb.ListRequest(kind=kind, prefix=prefix), pb.ListReply)

    def get(self, path: str, kind: str = "") -> pb.Resource:
        return self._call("Get", pb.GetRequest(path=path, kind=kind), pb.Resource)

    def status(self) -> pb.StatusReply:
        return self._call("Status", pb.StatusRequest(), pb.StatusReply)

    def events(
        self, *, follow: bool = False, after_id: int = 0, prefix: str = "", limit: int = 0
    ) -> Iterator[pb.Event]:
        request = pb.EventsRequest(follow=follow, after_id=after_id, prefix=prefix, limit=limit)
        return self._stream("Events", request)

    def logs(
        self, cell: str, *, container: str = "", follow: bool = False, tail: int = 0
    ) -> Iterator[pb.LogChunk]:
        request = pb.LogsRequest(cell=cell, container=container, follow=follow, tail=tail)
        return self._stream("Logs", request)

    def start(self, path: str) -> pb.TargetReply:
        return self._call("Start", pb.TargetRequest(path=path), pb.TargetReply)

    def stop(self, path: str) -> pb.TargetReply:
        return self._call("Stop", pb.TargetRequest(path=path), pb.TargetReply)

    def restart(self, path: str) -> pb.TargetReply:
        return self._call("Restart", pb.TargetRequest(path=path), pb.TargetReply)

    def image_pull(self, ref: str, realm: str) -> Iterator[pb.ImagePullProgress]:
        return self._stream("ImagePull", pb.ImagePullRequest(ref=ref, realm=realm))

    def image_import(self, data: Iterable[bytes], realm: str) -> pb.ImageImportReply:
        """Upload an archive given as byte chunks (of at most CHUNK_SIZE each)."""

        def chunks() -> Iterator[pb.ImageImportChunk]:
            first = True
            for block in data:
                yield pb.ImageImportChunk(realm=realm if first else "", data=block)
                first = False
            if first:  # an empty archive still names its realm; the daemon rejects it
                yield pb.ImageImportChunk(realm=realm)

        # No deadline: a large archive over a slow disk may take longer than any RPC should.
        return self._call("ImageImport", chunks(), pb.ImageImportReply, deadline=False)

    def image_list(self, realm: str) -> pb.ImageListReply:
        return self._call("ImageList", pb.ImageListRequest(realm=realm), pb.ImageListReply)

    def image_remove(self, ref: str, realm: str) -> pb.ImageRemoveReply:
        request = pb.ImageRemoveRequest(ref=ref, realm=realm)
        return self._call("ImageRemove", request, pb.ImageRemoveReply)

    def doctor(self) -> pb.DoctorReply:
        return self._call("Doctor", pb.DoctorRequest(), pb.DoctorReply)

    def prune(
        self, *, unowned: bool, dry_run: bool = False, confirm_empty: bool = False
    ) -> pb.PruneReply:
        request = pb.PruneRequest(unowned=unowned, dry_run=dry_run, confirm_empty=confirm_empty)
        return self._call("Prune", request, pb.PruneReply)

    # -- git sources --------------------------------------------------------------------
    def git_add(
        self, spec: pb.GitSourceSpec, *, wait: bool = True, timeout: float = 60.0
    ) -> pb.GitSource:
        request = pb.GitAddRequest(spec=spec, wait=wait, timeout_seconds=timeout)
        return self._with_deadline(timeout, "GitAdd", request, pb.GitSource)

    def git_list(self) -> pb.GitListReply:
        return self._call("GitList", pb.GitListRequest(), pb.GitListReply)

    def git_remove(self, name: str) -> pb.GitRemoveReply:
        return self._call("GitRemove", pb.GitRemoveRequest(name=name), pb.GitRemoveReply)

    def git_sync(self, name: str, *, timeout: float = 60.0) -> pb.GitSource:
        request = pb.GitSyncRequest(name=name, timeout_seconds=timeout)
        return self._with_deadline(timeout, "GitSync", request, pb.GitSource)

    def git_status(self, name: str) -> pb.GitSource:
        return self._call("GitStatus", pb.GitStatusRequest(name=name), pb.GitSource)

    def _with_deadline(self, wait: float, method: str, request: Any, reply_type: type[R]) -> R:
        """A call that waits up to ``wait`` seconds daemon-side gets that much more time."""
        saved = self.timeout
        self.timeout = saved + wait
        try:
            return self._call(method, request, reply_type)
        finally:
            self.timeout = saved


def _documents(documents: Sequence[tuple[str, str]]) -> list[pb.Document]:
    return [pb.Document(name=name, content=content) for name, content in documents]
