"""A deliberately small HTTP/1.1 server on asyncio streams, for a read-only UI: GET and
HEAD only, one request per connection, bounded request size and read time, strict
security headers on every answer, and server-sent event streams that end when the
client goes away. No framework: the UI needs a dozen routes and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import structlog

log = structlog.get_logger("kukeon.web")

MAX_HEAD = 16 * 1024  # request line + headers
READ_TIMEOUT = 10.0  # a client that does not finish its request in time is dropped
HEARTBEAT = 15.0  # an idle stream writes a comment this often, which also notices closed peers
ALLOWED = ("GET", "HEAD")

SECURITY_HEADERS = {
    # the page loads its own script and style only; nothing inline, nothing remote
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # a ?token= never leaks through a Referer
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Connection": "close",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, default)

    def int_arg(self, name: str, default: int, *, low: int = 0, high: int = 1 << 31) -> int:
        try:
            value = int(self.query.get(name, default))
        except ValueError as err:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"{name} must be a number") from err
        return min(max(value, low), high)


@dataclass
class Response:
    status: HTTPStatus = HTTPStatus.OK
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stream:
    """Server-sent events: each item is (event id or "", JSON-able data)."""

    events: AsyncIterator[tuple[str, Any]]


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


Handler = Callable[[Request], Awaitable[Response | Stream]]


def to_json(data: Any) -> bytes:
    # "<" escaped too, so no JSON answer can ever be read as markup
    return json.dumps(data, separators=(",", ":")).replace("<", "\\u003c").encode()


def json_response(data: Any) -> Response:
    return Response(body=to_json(data))


def error_response(err: HttpError) -> Response:
    return Response(err.status, to_json({"error": str(err)}), headers=err.headers)


class HttpServer:
    """Serves ``handler`` (which routes and authorises) on one address."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> list[tuple[str, int]]:
        self._server = await asyncio.start_server(self._connection, host, port, limit=MAX_HEAD)
        return [s.getsockname()[:2] for s in self._server.sockets]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._conns):  # live streams never end by themselves
            task.cancel()
        for task in list(self._conns):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            await self._serve_one(reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except Exception:  # one bad request must never take the daemon's loop down
            log.exception("web request failed")
        finally:
            self._conns.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                req = await _read_request(reader)
        except HttpError as err:
            await _write(writer, error_response(err), head=False)
            return
        try:
            if req.method not in ALLOWED:
                raise HttpError(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"{req.method} not allowed: this UI is read-only",
                    {"Allow": ", ".join(ALLOWED)},
                )
            answer = await self.handler(req)
        except HttpError as err:
            answer = error_response(err)
        head = req.method == "HEAD"
        if isinstance(answer, Response):
            await _write(writer, answer, head=head)
        else:
            await _stream(reader, writer, answer, head=head)


async def _read_request(reader: asyncio.StreamReader) -> Request:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")  # the reader's limit is MAX_HEAD
    except asyncio.LimitOverrunError as err:
        too_large = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        raise HttpError(too_large, "request head too large") from err
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(HTTPStatus.BAD_REQUEST, "malformed request line")
    method, target, _ = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpError(HTTPStatus.BAD_REQUEST, "malformed header")
        headers[name.strip().lower()] = value.strip()
    url = urlsplit(target)
    return Request(method, url.path, dict(parse_qsl(url.query)), headers)


def _head(
    status: HTTPStatus, content_type: str, extra: dict[str, str], length: int | None
) -> bytes:
    headers = {**SECURITY_HEADERS, "Content-Type": content_type, **extra}
    if length is not None:
        headers["Content-Length"] = str(length)
    lines = [f"HTTP/1.1 {status.value} {status.phrase}"]
    lines.extend(f"{k}: {v}" for k, v in headers.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _write(writer: asyncio.StreamWriter, resp: Response, *, head: bool) -> None:
    writer.write(_head(resp.status, resp.content_type, resp.headers, len(resp.body)))
    if not head:
        writer.write(resp.body)
    await writer.drain()


async def _stream(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stream: Stream, *, head: bool
) -> None:
    writer.write(_head(HTTPStatus.OK, "text/event-stream", {}, None))
    if head:
        await writer.drain()
        await _aclose(stream.events)
        return
    writer.write(b"retry: 2000\n\n")
    await writer.drain()
    # the client sends nothing after its request: a finished read means it went away
    gone: asyncio.Future[bytes] = asyncio.ensure_future(reader.read(1))
    it = stream.events
    pending: asyncio.Future[tuple[str, Any]] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(_next(it))
            waiting: set[asyncio.Future[Any]] = {pending, gone}
            done, _ = await asyncio.wait(
                waiting, timeout=HEARTBEAT, return_when=asyncio.FIRST_COMPLETED
            )
            if gone in done:
                return
            if pending in done:
                try:
                    event_id, data = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                if event_id:
                    writer.write(f"id: {event_id}\n".encode())
                writer.write(b"data: " + to_json(data) + b"\n\n")
            else:
                writer.write(b": keep-alive\n\n")
            await writer.drain()
    finally:
        for fut in (pending, gone):
            if fut is not None:
                fut.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fut
        await _aclose(it)


async def _next(it: AsyncIterator[tuple[str, Any]]) -> tuple[str, Any]:
    return await anext(it)


async def _aclose(it: AsyncIterator[Any]) -> None:
    close = getattr(it, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()
