#!/usr/bin/env python3
"""Generate kukeon/_ctdapi (protobuf, gRPC and .pyi stubs) from containerd's own protos.

The protos come from Debian's golang-github-containerd-containerd-dev. They are copied
into a staging tree that mirrors the dotted package ``kukeon._ctdapi``, with their
imports rewritten to that path and the gogoproto / fieldpath options removed: those
options only steer Go code generation, so the wire format, the package names (hence the
gRPC method paths) and the Any type URLs stay exactly containerd's.
``google/rpc/status.proto`` is not generated: googleapis-common-protos ships it.

Usage: scripts/gen_ctdapi.py [--out DIR]   (DIR defaults to the repository root)
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

API = Path("/usr/share/gocode/src/github.com/containerd/containerd/api")
GO_PREFIX = "github.com/containerd/containerd/api/"
PACKAGE = "kukeon/_ctdapi"
SERVICES = (
    "version",
    "namespaces",
    "containers",
    "content",
    "images",
    "leases",
    "snapshots",
    "diff",
    "tasks",
    "events",
    "introspection",
)
MISSING_HINT = "install golang-github-containerd-containerd-dev (apt-get install -y ...)"

_WEAK_IMPORT = re.compile(r'^\s*import weak "[^"]*";\s*\n', re.M)
_OPTION_LINE = re.compile(r"^\s*option \((?:gogoproto|containerd\.plugin)\.[^;]*;\s*\n", re.M)
_OPTION_BRACKET = re.compile(r"\s*\[\((?:gogoproto|containerd\.plugin)\.[^\]]*\]")


def sources() -> list[Path]:
    """Every proto we generate, relative to API."""
    dirs = ["types", "types/task", "events"] + [f"services/{s}/v1" for s in SERVICES]
    out: list[Path] = []
    for d in dirs:
        found = sorted((API / d).glob("*.proto"))
        if not found:
            raise SystemExit(f"no protos under {API / d}: {MISSING_HINT}")
        out += [p.relative_to(API) for p in found]
    return out


def clean(text: str) -> str:
    text = text.replace(f'import "{GO_PREFIX}', f'import "{PACKAGE}/')
    text = _WEAK_IMPORT.sub("", text)
    text = _OPTION_LINE.sub("", text)
    text = _OPTION_BRACKET.sub("", text)
    if "gogoproto" in text or "containerd.plugin" in text:
        raise SystemExit("a gogoproto/fieldpath option was left behind; extend clean()")
    return text


def generate(out_root: Path) -> None:
    from grpc_tools import protoc  # dev dependency only

    site = Path(protoc.__file__).parent.parent
    bundled = Path(protoc.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        stage, gen = Path(tmp, "stage"), Path(tmp, "gen")
        gen.mkdir()
        rels = sources()
        for rel in rels:
            dest = stage / PACKAGE / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(clean((API / rel).read_text()))
        args = [
            "protoc",
            f"-I{stage}",
            f"-I{bundled}",
            f"-I{site}",  # google/rpc/status.proto from googleapis-common-protos
            f"--python_out={gen}",
            f"--pyi_out={gen}",
            f"--grpc_python_out={gen}",
            *(f"{PACKAGE}/{rel}" for rel in rels),
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed (see above)")
        target = out_root / PACKAGE
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(gen / PACKAGE, target)
    for d in [target, *(p for p in target.rglob("*") if p.is_dir())]:
        (d / "__init__.py").write_text("")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent)
    ns = parser.parse_args(argv)
    if not API.is_dir():
        print(f"{API} is missing: {MISSING_HINT}", file=sys.stderr)
        return 1
    generate(ns.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
