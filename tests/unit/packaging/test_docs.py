"""Generated docs match the schemas and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_generated_docs_are_current(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts/gen_docs.py"), str(tmp_path)], check=True)
    for name in ("manifests.md", "cli.md"):
        assert (tmp_path / name).read_text() == (ROOT / "docs" / name).read_text(), (
            f"docs/{name} is stale: run .venv/bin/python scripts/gen_docs.py"
        )
