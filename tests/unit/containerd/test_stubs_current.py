"""The committed containerd stubs are exactly what scripts/gen_ctdapi.py generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
API = Path("/usr/share/gocode/src/github.com/containerd/containerd/api")


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_stubs_match_the_protos(tmp_path: Path) -> None:
    assert API.is_dir(), (
        f"{API} is missing: install golang-github-containerd-containerd-dev to check the stubs"
    )
    subprocess.run(
        [sys.executable, str(REPO / "scripts/gen_ctdapi.py"), "--out", str(tmp_path)], check=True
    )
    fresh = _files(tmp_path / "kukeon/_ctdapi")
    committed = _files(REPO / "kukeon/_ctdapi")
    assert sorted(fresh) == sorted(committed), "run scripts/gen_ctdapi.py and commit the result"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale stubs {stale}: run scripts/gen_ctdapi.py and commit the result"
