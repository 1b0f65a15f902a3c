"""The committed API stubs must match kukeon/api/kukeon.proto."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_generated_api_stubs_match_the_proto(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts/gen_api.py"), str(tmp_path)], check=True)
    for name in ("kukeon_pb2.py", "kukeon_pb2.pyi", "kukeon_pb2_grpc.py"):
        assert filecmp.cmp(tmp_path / name, ROOT / "kukeon/api" / name, shallow=False), (
            f"kukeon/api/{name} is stale: run .venv/bin/python scripts/gen_api.py"
        )
