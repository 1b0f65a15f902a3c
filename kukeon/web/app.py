"""The Web UI: one static page (plain JS, text nodes only) and read-only JSON endpoints
under /api/, all over the same Service as the gRPC API. Served by kukeond in its own
event loop, on loopback unless a token is configured."""

from __future__ import annotations

import codecs
import contextlib
import hmac
import ipaddress
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from http import HTTPStatus
from importlib import resources
from typing import Any

import structlog

from kukeon.daemon.service import NotFound, Service
from kukeon.model.errors import KukeonError
from kukeon.reconcile.plan import Action
from kukeon.web import views
from kukeon.web.http import HttpError, HttpServer, Request, Response, Stream, json_response

log = structlog.get_logger("kukeon.web")

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
}

RECENT_ACTIONS = 100
Route = Callable[[Request], Awaitable[Response | Stream]]


def parse_listen(text: str) -> tuple[str, int]:
    """``127.0.0.1:8787``, ``[::1]:8787`` or ``localhost:8787``."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not host or int(port) > 65535:
        raise KukeonError(
            f"web listen address {text!r} is not HOST:PORT", hint="write e.g. 127.0.0.1:8787"
        )
    return host.removeprefix("[").removesuffix("]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


class WebUI:
    def __init__(self, service: Service, *, token: str = "") -> None:
        self.s = service
        self.token = token.encode()
        self.recent: deque[tuple[float, Action]] = deque(maxlen=RECENT_ACTIONS)
        pkg = resources.files("kukeon.web") / "static"
        self.static = {
            route: (pkg.joinpath(name).read_bytes(), ctype)
            for route, (name, ctype) in STATIC.items()
        }
        self.routes: dict[str, Route] = {
            "/api/status": self.status,
            "/api/hierarchy": self.hierarchy,
            "/api/resources": self.resources,
            "/api/resource": self.resource,
            "/api/events": self.events,
            "/api/events/stream": self.events_stream,
            "/api/logs": self.logs,
            "/api/logs/stream": self.logs_stream,
            "/api/sources": self.sources,
            "/api/plan": self.plan,
        }

    def on_action(self, action: Action) -> None:
        self.recent.append((time.time(), action))

    # -- the edge: host check, auth, routing, error mapping -------------------------------
    async def handle(self, req: Request) -> Response | Stream:
        if not self.token:
            self._check_host(req)
        if req.path in self.static:
            body, ctype = self.static[req.path]
            return Response(body=body, content_type=ctype)
        route = self.routes.get(req.path)
        if route is None:
            raise HttpError(HTTPStatus.NOT_FOUND, f"no such page: {req.path}")
        if self.token:
            self._authorise(req)
        try:
            return await route(req)
        except NotFound as err:
            raise HttpError(HTTPStatus.NOT_FOUND, str(err)) from err
        except KukeonError as err:
            raise HttpError(HTTPStatus.BAD_REQUEST, str(err)) from err

    def _check_host(self, req: Request) -> None:
        """Without a token, only loopback names may be asked for: a page elsewhere that
        rebinds its own DNS name to 127.0.0.1 must not be able to read the UI."""
        host = req.headers.get("host", "")
        name = host.rpartition(":")[0] if host.count(":") == 1 or "]" in host else host
        if not is_loopback(name.removeprefix("[").removesuffix("]")):
            raise HttpError(HTTPStatus.FORBIDDEN, f"host {host!r} not allowed")

    def _authorise(self, req: Request) -> None:
        given = req.arg("token")
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not hmac.compare_digest(given.encode(), self.token):
            raise HttpError(
                HTTPStatus.UNAUTHORIZED,
                "a token is required (Authorization: Bearer TOKEN, or ?token=TOKEN)",
                {"WWW-Authenticate": "Bearer"},
            )

    # -- routes -------------------------------------------------------------------------
    async def status(self, req: Request) -> Response:
        return json_response(views.status(self.s))

    async def hierarchy(self, req: Request) -> Response:
        return json_response(views.hierarchy(self.s))

    async def resources(self, req: Request) -> Response:
        found = self.s.resources(req.arg("kind"), req.arg("prefix"))
        return json_response([views.resource(v) for v in found])

    async def resource(self, req: Request) -> Response:
        return json_response(views.resource(self.s.get(req.arg("path")), manifest=True))

    async def events(self, req: Request) -> Response:
        stream = self.s.event_stream(
            after_id=req.int_arg("after", 0),
            prefix=req.arg("prefix"),
            limit=req.int_arg("limit", 100, low=1, high=1000),
            follow=False,
        )
        return json_response([views.event(e) async for e in stream])

    async def events_stream(self, req: Request) -> Stream:
        # EventSource resends the last id it saw when it reconnects
        after = req.headers.get("last-event-id", "") or req.arg("after", "0")
        stream = self.s.event_stream(
            after_id=int(after) if after.isdigit() else 0,
            prefix=req.arg("prefix"),
            limit=req.int_arg("limit", 100, low=1, high=1000),
            follow=True,
        )

        async def events() -> AsyncIterator[tuple[str, Any]]:
            async for e in stream:
                yield str(e.id), views.event(e)

        return Stream(events())

    def _log_args(self, req: Request) -> tuple[str, str, int]:
        cell, container = req.arg("cell"), req.arg("container")
        self.s.log_path(cell, container)  # refuse a bad cell before any byte is sent
        return cell, container, req.int_arg("tail", 200, high=5000)

    async def logs(self, req: Request) -> Response:
        cell, container, tail = self._log_args(req)
        chunks = [c async for c in self.s.logs(cell, container, follow=False, tail=tail)]
        return json_response({"text": b"".join(chunks).decode("utf-8", "replace")})

    async def logs_stream(self, req: Request) -> Stream:
        cell, container, tail = self._log_args(req)
        source = self.s.logs(cell, container, follow=True, tail=tail)

        async def chunks() -> AsyncIterator[tuple[str, Any]]:
            decode = codecs.getincrementaldecoder("utf-8")("replace")  # chunks split characters
            try:
                async for data in source:
                    text = decode.decode(data)
                    if text:
                        yield "", {"text": text}
            finally:
                await source.aclose()  # type: ignore[attr-defined]

        return Stream(chunks())

    async def sources(self, req: Request) -> Response:
        return json_response(await views.sources(self.s))

    async def plan(self, req: Request) -> Response:
        return json_response(await views.plans(self.s, self.recent))


def check_listen(listen: str, token: str) -> tuple[str, int]:
    """The address to serve on; a non-loopback one without a token is refused: the UI
    shows every manifest, log line and event."""
    host, port = parse_listen(listen)
    if not is_loopback(host) and not token:
        raise KukeonError(
            f"refusing to serve the web UI on non-loopback {listen} without a token",
            hint="set web.token in kukeond.yaml, or listen on 127.0.0.1",
        )
    return host, port


@contextlib.asynccontextmanager
async def serve_web(
    service: Service, listen: str, token: str = ""
) -> AsyncIterator[list[tuple[str, int]]]:
    """Serve the UI on ``listen``; yields the bound addresses."""
    host, port = check_listen(listen, token)
    ui = WebUI(service, token=token)
    server = HttpServer(ui.handle)
    try:
        addresses = await server.start(host, port)
    except OSError as err:
        raise KukeonError(
            f"web UI cannot listen on {listen}: {err.strerror or err}",
            hint="choose another port with --web HOST:PORT",
        ) from err
    log.info("web UI listening", addresses=[f"{h}:{p}" for h, p in addresses])
    service.controller.action_listeners.append(ui.on_action)
    try:
        yield addresses
    finally:
        service.controller.action_listeners.remove(ui.on_action)
        await server.close()
