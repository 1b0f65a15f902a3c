"""Pull from an OCI/Docker registry over the distribution API (stdlib urllib in a thread).

Bearer tokens come from the realm in ``WWW-Authenticate`` (with basic credentials when
given); plain http is used only for loopback hosts or hosts listed as insecure.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import ipaddress
import json
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kukeon.drivers.base import ObservedImage, PermanentError, PullProgress, TransientError
from kukeon.drivers.containerd import images
from kukeon.drivers.containerd.client import Client
from kukeon.drivers.containerd.images import Desc

ACCEPT = ", ".join((images.MT_OCI_INDEX, images.MT_DOCKER_LIST, images.MT_OCI_MANIFEST,
                    images.MT_DOCKER_MANIFEST))  # fmt: skip
HTTP_TIMEOUT = 30.0
CHUNK = 1 << 20
Progress = Callable[[PullProgress], None]


def split_ref(ref: str) -> tuple[str, str, str, str]:
    """(full name, registry host, repository, tag or digest)."""
    name = images.normalize_name(ref)
    domain, _, path = name.partition("/")
    if "@" in path:
        repo, _, reference = path.partition("@")
    else:
        repo, _, reference = path.rpartition(":")
    host = "registry-1.docker.io" if domain == "docker.io" else domain
    return name, host, repo, reference


def is_loopback(host: str) -> bool:
    hostname = urllib.parse.urlsplit(f"//{host}").hostname or ""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


class _NoAuthOnRedirect(urllib.request.HTTPRedirectHandler):
    """Blob redirects go to storage on another host: do not send it our token."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Any:  # fmt: skip
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != req.host:
            new.remove_header("Authorization")
        return new


class Registry:
    """Blocking client of one registry repository; used from a worker thread."""

    def __init__(self, host: str, repo: str, credentials: tuple[str, str] | None,
                 insecure: tuple[str, ...]) -> None:  # fmt: skip
        self.host, self.repo, self.credentials = host, repo, credentials
        self.plain_http_ok = is_loopback(host) or host in insecure
        self.scheme = "https"
        self.auth: str | None = None
        self.opener = urllib.request.build_opener(_NoAuthOnRedirect())

    def _request(self, path: str, accept: str = "") -> Any:
        for attempt in range(2):
            url = f"{self.scheme}://{self.host}/v2/{self.repo}/{path}"
            req = urllib.request.Request(url)  # noqa: S310 (scheme is http(s) by construction)
            if accept:
                req.add_header("Accept", accept)
            if self.auth:
                req.add_header("Authorization", self.auth)
            try:
                return self.opener.open(req, timeout=HTTP_TIMEOUT)
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and attempt == 0:
                    self._authenticate(exc.headers.get("WWW-Authenticate", ""))
                    continue
                if exc.code in (404, 401, 403):
                    raise PermanentError(f"registry {self.host}: {url}: {exc.code} {exc.reason}",
                                         hint="check the image name and credentials") from exc
                raise TransientError(f"registry {self.host}: {url}: {exc.code}") from exc
            except urllib.error.URLError as exc:
                if self.scheme == "https" and self.plain_http_ok:
                    self.scheme = "http"  # loopback / insecure registry without TLS
                    return self._request(path, accept)
                raise TransientError(f"registry {self.host} unreachable: {exc.reason}") from exc
            except OSError as exc:
                raise TransientError(f"registry {self.host}: {exc}") from exc
        raise PermanentError(f"registry {self.host}: authentication refused",
                             hint="check the credentials")  # fmt: skip

    def _authenticate(self, challenge: str) -> None:
        scheme, _, params = challenge.partition(" ")
        basic = None
        if self.credentials:
            user, password = self.credentials
            basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if scheme.lower() == "basic":
            if basic is None:
                raise PermanentError(f"registry {self.host} needs credentials")
            self.auth = basic
            return
        if scheme.lower() != "bearer":
            raise PermanentError(f"registry {self.host}: unsupported auth {challenge!r}")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', params))
        realm = fields.pop("realm", "")
        fields.setdefault("scope", f"repository:{self.repo}:pull")
        if urllib.parse.urlsplit(realm).scheme not in ("https", "http"):
            raise PermanentError(f"registry {self.host}: token realm {realm!r} is not http(s)")
        req = urllib.request.Request(f"{realm}?{urllib.parse.urlencode(fields)}")  # noqa: S310
        if basic:
            req.add_header("Authorization", basic)
        try:
            with self.opener.open(req, timeout=HTTP_TIMEOUT) as resp:
                body = json.load(resp)
        except (OSError, ValueError) as exc:
            raise TransientError(f"registry {self.host}: token from {realm} failed: {exc}") from exc
        token = body.get("token") or body.get("access_token")
        if not token:
            raise PermanentError(f"registry {self.host}: no token from {realm}")
        self.auth = f"Bearer {token}"

    def manifest(self, reference: str) -> tuple[Desc, bytes]:
        with self._request(f"manifests/{reference}", ACCEPT) as resp:
            data = resp.read()
            mt = resp.headers.get("Content-Type", "").split(";")[0]
        digest = images.sha256(data)
        if reference.startswith("sha256:") and reference != digest:
            raise PermanentError(f"manifest {reference} has digest {digest}")
        return Desc(images.media_type_of(json.loads(data), mt), digest, len(data)), data

    def blob(self, desc: Desc, dest: Path, progress: Callable[[int], None]) -> None:
        h, done = hashlib.sha256(), 0
        with self._request(f"blobs/{desc.digest}") as resp, dest.open("wb") as out:
            while piece := resp.read(CHUNK):
                h.update(piece)
                out.write(piece)
                done += len(piece)
                progress(done)
        if "sha256:" + h.hexdigest() != desc.digest:
            raise TransientError(f"blob {desc.digest} arrived corrupted")


async def pull(
    c: Client,
    ns: str,
    ref: str,
    *,
    credentials: tuple[str, str] | None = None,
    insecure: tuple[str, ...] = (),
    progress: Progress | None = None,
) -> ObservedImage:
    """Pull the linux/amd64 image ``ref`` into namespace ``ns``, unpack it, name it."""
    name, host, repo, reference = split_ref(ref)
    reg = Registry(host, repo, credentials, insecure)
    loop = asyncio.get_running_loop()

    def report(done: int, total: int, status: str) -> None:
        if progress is not None:
            loop.call_soon_threadsafe(progress, PullProgress(name, done, total, status))

    top, top_raw = await asyncio.to_thread(reg.manifest, reference)
    async with c.lease(ns, "pull") as lease:
        manifest, manifest_raw = top, top_raw
        top_doc = json.loads(top_raw)
        if top.media_type in images.INDEX_TYPES:
            entry = images.select_platform(top_doc)
            manifest, manifest_raw = await asyncio.to_thread(reg.manifest, entry["digest"])
        doc = json.loads(manifest_raw)
        config = Desc.of(doc["config"])
        layers = [Desc.of(d) for d in doc.get("layers", [])]
        with tempfile.TemporaryDirectory(prefix="kukeon-pull-") as tmp:
            config_path = Path(tmp, "config")
            await _fetch(c, ns, lease, reg, config, config_path, {}, report)
            diff_ids = json.loads(await images.read_blob(c, ns, config.digest))["rootfs"][
                "diff_ids"
            ]
            for layer, diff_id in zip(layers, diff_ids, strict=True):
                await _fetch(c, ns, lease, reg, layer, Path(tmp, "layer"),
                             {"containerd.io/uncompressed": diff_id}, report)  # fmt: skip
        blobs = {manifest: manifest_raw, top: top_raw}  # children before the index
        for desc, raw in blobs.items():
            labels = images.gc_labels(desc.media_type, json.loads(raw))
            await images.write_blob(c, ns, lease, desc, io.BytesIO(raw), labels)
        await images.unpack(c, ns, lease, manifest.digest)
        await images.set_image(c, ns, name, top)
    report(1, 1, "done")
    return ObservedImage(name=name, digest=manifest.digest, size=top.size)


async def _fetch(
    c: Client,
    ns: str,
    lease: str,
    reg: Registry,
    desc: Desc,
    tmp: Path,
    labels: dict[str, str],
    report: Callable[[int, int, str], None],
) -> None:
    """Download one blob unless the content store has it, then write it in."""
    if await images.has_blob(c, ns, desc.digest):
        report(desc.size, desc.size, f"exists {desc.digest[:19]}")
        return
    await asyncio.to_thread(
        reg.blob, desc, tmp, lambda done: report(done, desc.size, f"fetch {desc.digest[:19]}")
    )
    with tmp.open("rb") as f:
        await images.write_blob(c, ns, lease, desc, f, labels)
