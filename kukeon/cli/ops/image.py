"""image pull, import, ls and rm: images in a realm's containerd namespace."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from kukeon.cli.output import Out, human_bytes, table
from kukeon.cli.refs import BadArgument

if TYPE_CHECKING:
    from kukeon.api.client import Client

CHUNK_SIZE = 1 << 20  # matches kukeon.api.client.CHUNK_SIZE, without importing grpc here
BAR_WIDTH = 30


@dataclass(frozen=True)
class PullOptions:
    ref: str
    realm: str


@dataclass(frozen=True)
class ImportOptions:
    file: str  # a path, or "-" for stdin
    realm: str


@dataclass(frozen=True)
class ImageOptions:
    realm: str
    ref: str = ""


def run_pull(client: Client, opts: PullOptions, out: Out) -> int:
    digest, last_status = "", ""
    for p in client.image_pull(opts.ref, opts.realm):
        digest = p.digest or digest
        if p.total_bytes > 0:
            filled = BAR_WIDTH * min(p.done_bytes, p.total_bytes) // p.total_bytes
            bar = "#" * filled + " " * (BAR_WIDTH - filled)
            sizes = f"{human_bytes(p.done_bytes)}/{human_bytes(p.total_bytes)}"
            out.progress(f"{p.status} [{bar}] {sizes}")
        else:
            out.progress(p.status)
        if not out.tty and p.status and p.status != last_status:
            out.warn(p.status)  # without a terminal: each new stage once
        last_status = p.status
    out.done()
    out.echo(f"{opts.ref} pulled" + (f" ({digest})" if digest else ""))
    return 0


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    with stream:
        while block := stream.read(CHUNK_SIZE):
            yield block


def run_import(client: Client, opts: ImportOptions, out: Out) -> int:
    if opts.file == "-":
        stream: IO[bytes] = getattr(out.stdin, "buffer", sys.stdin.buffer)
    else:
        try:
            stream = open(opts.file, "rb")  # noqa: SIM115 - closed by _chunks
        except OSError as exc:
            raise BadArgument(f"cannot read {opts.file}: {exc.strerror or exc}") from None
    reply = client.image_import(_chunks(stream), opts.realm)
    for image in reply.images:
        out.echo(f"{image.name} imported ({image.digest}, {human_bytes(image.size)})")
    return 0


def run_ls(client: Client, opts: ImageOptions, out: Out) -> int:
    images = sorted(client.image_list(opts.realm).images, key=lambda i: i.name)
    rows = [[i.name, i.digest, human_bytes(i.size)] for i in images]
    if not rows:
        out.warn(f"No images in realm {opts.realm}.")
        return 0
    for line in table(["NAME", "DIGEST", "SIZE"], rows):
        out.echo(line)
    return 0


def run_rm(client: Client, opts: ImageOptions, out: Out) -> int:
    client.image_remove(opts.ref, opts.realm)
    out.echo(f"{opts.ref} removed")
    return 0
