"""The systemd unit is accepted by systemd-analyze verify."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: apt-get install systemd"
    unit = tmp_path / "kukeond.service"
    # verify resolves ExecStart: point it at a binary that exists here
    text = (ROOT / "systemd/kukeond.service").read_text()
    unit.write_text(text.replace("/usr/local/bin/kukeond", str(ROOT / ".venv/bin/kukeond")))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    problems = [line for line in done.stderr.splitlines() if "kukeond.service" in line]
    assert done.returncode == 0 and not problems, done.stderr


def test_unit_keeps_containers_across_restarts() -> None:
    text = (ROOT / "systemd/kukeond.service").read_text()
    for line in ("Type=notify", "KillMode=process", "Delegate=yes", "Restart=on-failure"):
        assert line in text, line
