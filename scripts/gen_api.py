"""Regenerates kukeon/api/kukeon_pb2*.py(i) from kukeon/api/kukeon.proto.

Usage: .venv/bin/python scripts/gen_api.py [OUT_DIR]   (default: kukeon/api)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent


def generate(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        (stage / "kukeon" / "api").mkdir(parents=True)
        shutil.copy(ROOT / "kukeon/api/kukeon.proto", stage / "kukeon/api/kukeon.proto")
        proto_include = Path(protoc.__file__).parent / "_proto"
        code = protoc.main([
            "grpc_tools.protoc",
            f"-I{stage}",
            f"-I{proto_include}",
            f"--python_out={stage}",
            f"--pyi_out={stage}",
            f"--grpc_python_out={stage}",
            "kukeon/api/kukeon.proto",
        ])
        if code != 0:
            raise SystemExit(f"protoc failed with {code}")
        out.mkdir(parents=True, exist_ok=True)
        for f in (stage / "kukeon/api").iterdir():
            if f.name.startswith("kukeon_pb2"):
                shutil.copy(f, out / f.name)


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "kukeon/api")
