"""Images: content store writes, import of OCI/docker archives, unpack into snapshots.

GC labels are the ones ``ctr import`` sets, so containerd's garbage collector keeps
exactly what an image references: index -> manifests, manifest -> config + layers,
config -> the unpacked top snapshot. Every multi-step operation runs under a lease.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import secrets
import shutil
import tarfile
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from google.protobuf import field_mask_pb2

from kukeon._ctdapi.services.content.v1 import content_pb2
from kukeon._ctdapi.services.diff.v1 import diff_pb2
from kukeon._ctdapi.services.images.v1 import images_pb2
from kukeon._ctdapi.services.leases.v1 import leases_pb2
from kukeon._ctdapi.services.snapshots.v1 import snapshots_pb2
from kukeon._ctdapi.types import descriptor_pb2
from kukeon.drivers.base import ObservedImage, PermanentError
from kukeon.drivers.containerd.client import SNAPSHOTTER, Client, Code, mapped

CHUNK = 1 << 20
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (MT_OCI_INDEX, MT_DOCKER_LIST)
MANIFEST_TYPES = (MT_OCI_MANIFEST, MT_DOCKER_MANIFEST)
PLATFORM = {"os": "linux", "architecture": "amd64"}
NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"
GC_SNAPSHOT = f"containerd.io/gc.ref.snapshot.{SNAPSHOTTER}"


@dataclass(frozen=True)
class Desc:
    media_type: str
    digest: str
    size: int

    @classmethod
    def of(cls, d: dict[str, Any]) -> Desc:
        return cls(str(d.get("mediaType", "")), str(d["digest"]), int(d["size"]))

    def pb(self) -> Any:
        return descriptor_pb2.Descriptor(
            media_type=self.media_type, digest=self.digest, size=self.size
        )


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def chain_ids(diff_ids: list[str]) -> list[str]:
    """OCI ChainIDs: chain0 = diff0, chainN = sha256(chainN-1 + " " + diffN)."""
    out: list[str] = []
    for d in diff_ids:
        out.append(d if not out else sha256(f"{out[-1]} {d}".encode()))
    return out


def gc_labels(media_type: str, doc: dict[str, Any]) -> dict[str, str]:
    """The content-store labels that make a manifest/index reference its children."""
    if media_type in INDEX_TYPES:
        return {
            f"containerd.io/gc.ref.content.m.{i}": m["digest"]
            for i, m in enumerate(doc.get("manifests", []))
        }
    if media_type in MANIFEST_TYPES:
        labels = {"containerd.io/gc.ref.content.config": doc["config"]["digest"]}
        for i, layer in enumerate(doc.get("layers", [])):
            labels[f"containerd.io/gc.ref.content.l.{i}"] = layer["digest"]
        return labels
    return {}


def media_type_of(doc: dict[str, Any], fallback: str) -> str:
    mt = doc.get("mediaType")
    if isinstance(mt, str) and mt:
        return mt
    return MT_OCI_INDEX if "manifests" in doc else fallback


def select_platform(index: dict[str, Any]) -> dict[str, Any]:
    for m in index.get("manifests", []):
        plat = m.get("platform") or {}
        if all(plat.get(k) == v for k, v in PLATFORM.items()):
            return dict(m)
    raise PermanentError(f"the image has no {PLATFORM['os']}/{PLATFORM['architecture']} manifest")


# --------------------------------------------------------------------------- content
async def has_blob(c: Client, ns: str, digest: str) -> bool:
    found = False
    with mapped(f"stat blob {digest}", ignore=(Code.NOT_FOUND,)):
        await c.content.Info(content_pb2.InfoRequest(digest=digest), **c.opts(ns))
        found = True
    return found


async def write_blob(
    c: Client,
    ns: str,
    lease: str,
    desc: Desc,
    reader: IO[bytes],
    labels: dict[str, str] | None = None,
) -> None:
    """Stream ``reader`` into the content store (skipped when the blob is present)."""
    if await has_blob(c, ns, desc.digest):
        return
    ref = f"kukeon-{desc.digest}-{secrets.token_hex(4)}"

    async def requests() -> AsyncIterator[Any]:
        offset = 0
        while True:
            piece = await asyncio.to_thread(reader.read, CHUNK)
            if not piece:
                break
            yield content_pb2.WriteContentRequest(
                action=content_pb2.WRITE, ref=ref, total=desc.size,
                expected=desc.digest, offset=offset, data=piece,
            )  # fmt: skip
            offset += len(piece)
        yield content_pb2.WriteContentRequest(
            action=content_pb2.COMMIT, ref=ref, total=desc.size,
            expected=desc.digest, offset=offset, labels=labels or {},
        )  # fmt: skip

    with mapped(f"write blob {desc.digest}", ignore=(Code.ALREADY_EXISTS,)):
        call = c.content.Write(requests(), **c.opts(ns, lease))
        async for _ in call:
            pass


async def read_blob(c: Client, ns: str, digest: str) -> bytes:
    parts: list[bytes] = []
    with mapped(f"read blob {digest}"):
        async for resp in c.content.Read(
            content_pb2.ReadContentRequest(digest=digest), **c.opts(ns)
        ):
            parts.append(resp.data)
    return b"".join(parts)


async def read_json(c: Client, ns: str, digest: str) -> dict[str, Any]:
    doc = json.loads(await read_blob(c, ns, digest))
    if not isinstance(doc, dict):
        raise PermanentError(f"blob {digest} is not a JSON object")
    return doc


# --------------------------------------------------------------------------- images
async def set_image(c: Client, ns: str, name: str, target: Desc) -> None:
    image = images_pb2.Image(name=name, target=target.pb())
    created = False
    with mapped(f"create image {name}", ignore=(Code.ALREADY_EXISTS,)):
        await c.images.Create(images_pb2.CreateImageRequest(image=image), **c.opts(ns))
        created = True
    if not created:
        with mapped(f"update image {name}"):
            await c.images.Update(images_pb2.UpdateImageRequest(image=image), **c.opts(ns))


async def image_target(c: Client, ns: str, name: str) -> Desc | None:
    resp = None
    with mapped(f"get image {name}", ignore=(Code.NOT_FOUND,)):
        resp = await c.images.Get(images_pb2.GetImageRequest(name=name), **c.opts(ns))
    if resp is None:
        return None
    t = resp.image.target
    return Desc(t.media_type, t.digest, t.size)


async def platform_manifest(c: Client, ns: str, target: Desc) -> str:
    """The digest of the linux/amd64 manifest of an image target (index or manifest)."""
    if target.media_type in MANIFEST_TYPES:
        return target.digest
    doc = await read_json(c, ns, target.digest)
    if media_type_of(doc, target.media_type) in INDEX_TYPES:
        return str(select_platform(doc)["digest"])
    return target.digest


async def list_images(c: Client, ns: str) -> list[ObservedImage]:
    with mapped(f"list images in {ns}"):
        resp = await c.images.List(images_pb2.ListImagesRequest(), **c.opts(ns))
    out: list[ObservedImage] = []
    for img in resp.images:
        t = img.target
        try:
            digest = await platform_manifest(c, ns, Desc(t.media_type, t.digest, t.size))
        except PermanentError:
            continue  # index without our platform, or its blob is gone
        out.append(ObservedImage(name=img.name, digest=digest, size=t.size))
    return out


async def remove_image(c: Client, ns: str, name: str) -> None:
    with mapped(f"delete image {name}", ignore=(Code.NOT_FOUND,)):
        # sync: garbage-collect now, so the namespace can be deleted right after
        await c.images.Delete(images_pb2.DeleteImageRequest(name=name, sync=True), **c.opts(ns))


# --------------------------------------------------------------------------- unpack
async def unpack(c: Client, ns: str, lease: str, manifest_digest: str) -> str:
    """Apply the layers into overlayfs snapshots (skipping those present); return the top
    chain id, labelled on the config as the snapshot's GC root."""
    manifest = await read_json(c, ns, manifest_digest)
    config_digest = manifest["config"]["digest"]
    config = await read_json(c, ns, config_digest)
    diff_ids: list[str] = list(config.get("rootfs", {}).get("diff_ids", []))
    layers = [Desc.of(d) for d in manifest.get("layers", [])]
    if len(diff_ids) != len(layers):
        raise PermanentError(f"image {manifest_digest}: {len(layers)} layers but "
                             f"{len(diff_ids)} diff_ids in its config")  # fmt: skip
    parent = ""
    for layer, diff_id, chain in zip(layers, diff_ids, chain_ids(diff_ids), strict=True):
        if not await held_snapshot(c, ns, lease, chain):
            await _apply_layer(c, ns, lease, layer, diff_id, chain, parent)
        parent = chain
    info = content_pb2.Info(digest=config_digest, labels={GC_SNAPSHOT: parent})
    mask = field_mask_pb2.FieldMask(paths=[f"labels.{GC_SNAPSHOT}"])
    with mapped(f"label config {config_digest}"):
        await c.content.Update(content_pb2.UpdateRequest(info=info, update_mask=mask),
                               **c.opts(ns, lease))  # fmt: skip
    return parent


async def held_snapshot(c: Client, ns: str, lease: str, key: str) -> bool:
    """Whether snapshot ``key`` exists, added to ``lease`` first: a snapshot left by a crash
    is held only by the dead run's lease, and the GC that follows that lease's deletion
    could remove it between our check and the use that would reference it."""
    resource = leases_pb2.Resource(id=key, type=f"snapshots/{SNAPSHOTTER}")
    with mapped(f"hold snapshot {key}"):
        await c.leases.AddResource(
            leases_pb2.AddResourceRequest(id=lease, resource=resource), **c.opts(ns)
        )
    found = False
    with mapped(f"stat snapshot {key}", ignore=(Code.NOT_FOUND,)):
        await c.snapshots.Stat(
            snapshots_pb2.StatSnapshotRequest(snapshotter=SNAPSHOTTER, key=key), **c.opts(ns)
        )
        found = True
    return found


async def _apply_layer(
    c: Client, ns: str, lease: str, layer: Desc, diff_id: str, chain: str, parent: str
) -> None:
    key = f"extract-{secrets.token_hex(6)} {chain}"
    with mapped(f"prepare snapshot for layer {layer.digest}"):
        prep = await c.snapshots.Prepare(
            snapshots_pb2.PrepareSnapshotRequest(snapshotter=SNAPSHOTTER, key=key, parent=parent),
            **c.opts(ns, lease),
        )
    try:
        with mapped(f"apply layer {layer.digest}"):
            applied = await c.diff.Apply(
                diff_pb2.ApplyRequest(diff=layer.pb(), mounts=prep.mounts), **c.opts(ns, lease)
            )
        if applied.applied.digest != diff_id:
            raise PermanentError(
                f"layer {layer.digest} unpacked to {applied.applied.digest}, expected {diff_id}"
            )
        committed = False
        with mapped(f"commit snapshot {chain}", ignore=(Code.ALREADY_EXISTS,)):
            await c.snapshots.Commit(
                snapshots_pb2.CommitSnapshotRequest(snapshotter=SNAPSHOTTER, name=chain, key=key),
                **c.opts(ns, lease),
            )
            committed = True
        if committed:
            return
    except BaseException:
        await _remove_snapshot(c, ns, key)
        raise
    await _remove_snapshot(c, ns, key)  # someone else committed the same chain first


async def _remove_snapshot(c: Client, ns: str, key: str) -> None:
    with mapped(f"remove snapshot {key}", ignore=(Code.NOT_FOUND,)):
        await c.snapshots.Remove(
            snapshots_pb2.RemoveSnapshotRequest(snapshotter=SNAPSHOTTER, key=key), **c.opts(ns)
        )


async def ensure_unpacked(c: Client, ns: str, manifest_digest: str) -> str:
    async with c.lease(ns, "unpack") as lease:
        return await unpack(c, ns, lease, manifest_digest)


# --------------------------------------------------------------------------- import
def normalize_name(ref: str) -> str:
    """Docker's short forms: ``busybox`` -> ``docker.io/library/busybox:latest``."""
    first, _, rest = ref.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        ref = f"docker.io/{ref}"
    domain, _, path = ref.partition("/")
    if domain == "docker.io" and "/" not in path:
        path = f"library/{path}"
    if "@" not in path and ":" not in path.rsplit("/", 1)[-1]:
        path += ":latest"
    return f"{domain}/{path}"


class _Archive:
    """A tar read by member name (leading ``./`` ignored)."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.members = {m.name.removeprefix("./"): m for m in tar.getmembers() if m.isfile()}

    def open(self, name: str) -> IO[bytes]:
        member = self.members.get(name.removeprefix("./"))
        f = self.tar.extractfile(member) if member else None
        if f is None:
            raise PermanentError(f"archive has no file {name!r}")
        return f

    def read(self, name: str) -> bytes:
        return self.open(name).read()

    def blob_name(self, digest: str) -> str:
        alg, _, hexd = digest.partition(":")
        return f"blobs/{alg}/{hexd}"


async def import_archive(
    c: Client, ns: str, source: Path | IO[bytes], default_name: str | None = None
) -> list[ObservedImage]:
    """Import an OCI image layout tar or a ``docker save`` tar; unpack; name the images."""
    with tempfile.TemporaryDirectory(prefix="kukeon-import-") as tmp:
        if isinstance(source, Path):
            path = source
        else:  # an upload stream: tarfile needs to seek
            path = Path(tmp, "archive.tar")
            await asyncio.to_thread(_spool, source, path)
        try:
            tar = await asyncio.to_thread(tarfile.open, path, "r:*")
        except (OSError, tarfile.TarError) as exc:
            raise PermanentError(f"cannot read image archive {path}: {exc}") from exc
        with tar:
            arc = _Archive(tar)
            async with c.lease(ns, "import") as lease:
                if "index.json" in arc.members:
                    named = await _import_oci(c, ns, lease, arc, default_name)
                elif "manifest.json" in arc.members:
                    named = await _import_docker(c, ns, lease, arc)
                else:
                    raise PermanentError("not an OCI layout or docker archive (no index.json "
                                         "or manifest.json)")  # fmt: skip
                out = []
                for name, target in named:
                    digest = await platform_manifest(c, ns, target)
                    await unpack(c, ns, lease, digest)
                    await set_image(c, ns, name, target)
                    out.append(ObservedImage(name=name, digest=digest, size=target.size))
                return out


def _spool(src: IO[bytes], dest: Path) -> None:
    with dest.open("wb") as f:
        shutil.copyfileobj(src, f, CHUNK)


async def _import_oci(
    c: Client, ns: str, lease: str, arc: _Archive, default_name: str | None
) -> list[tuple[str, Desc]]:
    index = json.loads(arc.read("index.json"))
    named: list[tuple[str, Desc]] = []
    for entry in index.get("manifests", []):
        desc = Desc.of(entry)
        await _ingest_tree(c, ns, lease, arc, desc)
        annotations = entry.get("annotations") or {}
        name = annotations.get(NAME_ANNOTATION)
        ref = annotations.get(REF_ANNOTATION, "")
        if not name and ("/" in ref or (ref and default_name is None)):
            name = ref
        if not name and default_name:
            name = default_name if not ref else f"{default_name.rsplit(':', 1)[0]}:{ref}"
        if not name:
            raise PermanentError(
                f"archive entry {desc.digest} has no image name annotation",
                hint="give the image a name when importing",
            )
        named.append((normalize_name(name), desc))
    return named


async def _ingest_tree(c: Client, ns: str, lease: str, arc: _Archive, desc: Desc) -> None:
    """Write a manifest or index and everything it references that the archive holds,
    children first so the parent's GC labels never point at nothing for long."""
    raw = arc.read(arc.blob_name(desc.digest))
    doc = json.loads(raw)
    mt = media_type_of(doc, desc.media_type)
    if mt in INDEX_TYPES:
        for m in doc.get("manifests", []):
            if arc.blob_name(m["digest"]) in arc.members:
                await _ingest_tree(c, ns, lease, arc, Desc.of(m))
    else:
        config = Desc.of(doc["config"])
        diff_ids = json.loads(arc.read(arc.blob_name(config.digest)))["rootfs"]["diff_ids"]
        for layer, diff_id in zip(doc.get("layers", []), diff_ids, strict=False):
            d = Desc.of(layer)
            await write_blob(c, ns, lease, d, arc.open(arc.blob_name(d.digest)),
                             {"containerd.io/uncompressed": diff_id})  # fmt: skip
        await write_blob(c, ns, lease, config, arc.open(arc.blob_name(config.digest)))
    await write_blob(c, ns, lease, desc, arc.open(arc.blob_name(desc.digest)), gc_labels(mt, doc))


async def _import_docker(c: Client, ns: str, lease: str, arc: _Archive) -> list[tuple[str, Desc]]:
    """``docker save`` format: re-expressed as an OCI manifest over the same blobs."""
    named: list[tuple[str, Desc]] = []
    for entry in json.loads(arc.read("manifest.json")):
        config_raw = arc.read(entry["Config"])
        config = Desc(MT_OCI_CONFIG, sha256(config_raw), len(config_raw))
        diff_ids = json.loads(config_raw)["rootfs"]["diff_ids"]
        layers = []
        for layer_name, diff_id in zip(entry["Layers"], diff_ids, strict=True):
            digest, size, gz = await asyncio.to_thread(_digest_member, arc, layer_name)
            mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else "")
            d = Desc(mt, digest, size)
            await write_blob(c, ns, lease, d, arc.open(layer_name),
                             {"containerd.io/uncompressed": diff_id})  # fmt: skip
            layers.append({"mediaType": d.media_type, "digest": d.digest, "size": d.size})
        await write_blob(c, ns, lease, config, arc.open(entry["Config"]))
        manifest = {
            "schemaVersion": 2,
            "mediaType": MT_OCI_MANIFEST,
            "config": {"mediaType": config.media_type, "digest": config.digest,
                       "size": config.size},
            "layers": layers,
        }  # fmt: skip
        raw = json.dumps(manifest, separators=(",", ":")).encode()
        desc = Desc(MT_OCI_MANIFEST, sha256(raw), len(raw))
        await _write_bytes(c, ns, lease, desc, raw, gc_labels(MT_OCI_MANIFEST, manifest))
        named += [(normalize_name(tag), desc) for tag in entry.get("RepoTags") or []]
    return named


def _digest_member(arc: _Archive, name: str) -> tuple[str, int, bool]:
    h, size, head = hashlib.sha256(), 0, b""
    with arc.open(name) as f:
        while piece := f.read(CHUNK):
            head = head or piece[:2]
            h.update(piece)
            size += len(piece)
    return "sha256:" + h.hexdigest(), size, head == b"\x1f\x8b"


async def _write_bytes(
    c: Client, ns: str, lease: str, desc: Desc, data: bytes, labels: dict[str, str]
) -> None:
    await write_blob(c, ns, lease, desc, io.BytesIO(data), labels)
