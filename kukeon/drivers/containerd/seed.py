"""A tiny busybox OCI image built from the host's busybox-static, for offline hosts and tests.

The bytes are deterministic (fixed mtimes, owners and order), so the image digest is
the same on every machine with the same busybox binary.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

BUSYBOX = Path("/bin/busybox")
DEFAULT_NAME = "docker.io/library/busybox:latest"
APPLETS = (
    "sh", "echo", "sleep", "cat", "ls", "id", "hostname", "httpd", "wget", "nc", "true",
    "false", "env", "ps", "kill", "tail", "head", "mkdir", "printf", "rm", "cp", "mv",
    "grep", "sed", "touch", "date", "uname", "ip", "ping", "test", "[", "wc", "du", "df",
    "top", "vi", "tee", "seq", "pwd", "whoami", "dd", "yes", "mount", "chmod",
)  # fmt: skip
DIRS = ("bin", "dev", "etc", "proc", "root", "sys", "tmp", "var", "www")
ETC = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
}
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"


def _info(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.size, ti.linkname = kind, mode, size, link
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "root", "root"
    return ti


def _layer(busybox: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in DIRS:
            tar.addfile(_info(d, tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755))
        tar.addfile(_info("bin/busybox", tarfile.REGTYPE, 0o755, len(busybox)), io.BytesIO(busybox))
        for applet in APPLETS:
            tar.addfile(_info(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox"))
        for name, text in ETC.items():
            data = text.encode()
            tar.addfile(_info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    return buf.getvalue()


def _blob(data: bytes) -> tuple[str, bytes]:
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def _json(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def build_busybox_archive(dest: Path, name: str = DEFAULT_NAME) -> None:
    """Write an OCI image layout tar of busybox named ``name`` to ``dest``."""
    layer_digest, layer = _blob(_layer(BUSYBOX.read_bytes()))
    config_digest, config = _blob(
        _json(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": "/"},
                "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
                "created": "1970-01-01T00:00:00Z",
            }
        )
    )
    manifest_digest, manifest = _blob(
        _json(
            {
                "schemaVersion": 2,
                "mediaType": MT_MANIFEST,
                "config": {"mediaType": MT_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": [{"mediaType": MT_LAYER, "digest": layer_digest, "size": len(layer)}],
            }
        )
    )
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
    index = _json(
        {
            "schemaVersion": 2,
            "mediaType": MT_INDEX,
            "manifests": [
                {
                    "mediaType": MT_MANIFEST,
                    "digest": manifest_digest,
                    "size": len(manifest),
                    "platform": {"architecture": "amd64", "os": "linux"},
                    "annotations": {
                        "io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": tag,
                    },
                }
            ],
        }
    )
    files = [
        ("oci-layout", _json({"imageLayoutVersion": "1.0.0"})),
        ("index.json", index),
        *(
            (f"blobs/sha256/{d.split(':', 1)[1]}", data)
            for d, data in ((layer_digest, layer), (config_digest, config),
                            (manifest_digest, manifest))
        ),
    ]  # fmt: skip
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("blobs", "blobs/sha256"):
            tar.addfile(_info(d, tarfile.DIRTYPE, 0o755))
        for fname, data in files:
            tar.addfile(_info(fname, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    tmp.replace(dest)


if __name__ == "__main__":
    import sys

    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m kukeon.drivers.containerd.seed ARCHIVE.tar [IMAGE-NAME]")
    build_busybox_archive(Path(sys.argv[1]), *sys.argv[2:3])
