"""The Web UI's HTTP edge without a daemon: address policy, methods, request limits, and
event streams that end when their client goes away or the server closes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kukeon.model.errors import KukeonError
from kukeon.web.app import check_listen, parse_listen
from kukeon.web.http import HttpServer, Request, Response, Stream, json_response


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:8787") == ("127.0.0.1", 8787)
    assert parse_listen("[::1]:8787") == ("::1", 8787)
    assert check_listen("localhost:1", "") == ("localhost", 1)
    assert check_listen("127.0.0.5:1", "") == ("127.0.0.5", 1)
    for public in ("0.0.0.0:80", "[::]:80", "192.0.2.1:80", "example.com:80"):
        with pytest.raises(KukeonError, match="without a token"):
            check_listen(public, "")
        assert check_listen(public, "tok")[1] == 80
    for bad in ("8787", "127.0.0.1:", "127.0.0.1:x", ":80", "127.0.0.1:70000"):
        with pytest.raises(KukeonError, match="HOST:PORT"):
            parse_listen(bad)


async def _exchange(port: int, raw: bytes, *, read: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5) if read else b""
    writer.close()
    return data


def test_methods_limits_and_stream_lifetimes() -> None:
    closed: list[str] = []
    started = asyncio.Event()

    async def forever(name: str) -> AsyncIterator[tuple[str, Any]]:
        try:
            yield "1", {"n": 1}
            started.set()
            await asyncio.sleep(3600)
            yield "", {}
        finally:
            closed.append(name)

    async def handler(req: Request) -> Response | Stream:
        if req.path == "/stream":
            return Stream(forever(req.arg("name")))
        return json_response({"path": req.path, "q": req.query})

    async def main() -> None:
        server = HttpServer(handler)
        (_, port), *_ = await server.start("127.0.0.1", 0)
        try:
            ok = await _exchange(port, b"GET /x?a=%3Cb%3E HTTP/1.1\r\nHost: l\r\n\r\n")
            assert ok.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b'"q":{"a":"\\u003cb>"}' in ok  # "<" never leaves as markup
            assert b"Content-Security-Policy: default-src 'none'" in ok
            for method in (b"POST", b"PUT", b"DELETE", b"OPTIONS"):
                no = await _exchange(port, method + b" /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nx")
                assert no.startswith(b"HTTP/1.1 405 "), no
                assert b"Allow: GET, HEAD\r\n" in no
            head = await _exchange(port, b"HEAD /x HTTP/1.1\r\n\r\n")
            assert head.endswith(b"\r\n\r\n") and b"Content-Length: " in head
            big = await _exchange(port, b"GET /x HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
            assert big.startswith(b"HTTP/1.1 431 "), big[:40]
            assert (await _exchange(port, b"nonsense\r\n\r\n")).startswith(b"HTTP/1.1 400 ")

            # a client that leaves ends its stream (and whatever it was tailing)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /stream?name=left HTTP/1.1\r\n\r\n")
            first = await asyncio.wait_for(reader.readuntil(b'data: {"n":1}\n\n'), 5)
            assert b"Content-Type: text/event-stream" in first and b"id: 1\n" in first
            await started.wait()
            writer.close()
            async with asyncio.timeout(5):
                while "left" not in closed:
                    await asyncio.sleep(0.01)
            # a stream still open when the server closes is ended too
            started.clear()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /stream?name=open HTTP/1.1\r\n\r\n")
            await started.wait()
        finally:
            async with asyncio.timeout(5):
                await server.close()
        assert closed == ["left", "open"]
        await asyncio.wait_for(reader.read(), 5)  # the connection was closed: EOF
        writer.close()

    asyncio.run(main())
