"""Every file in examples/ is applied through the manifests dir and reaches Ready; then
removing it leaves nothing of it on the host."""

from __future__ import annotations

import re
import subprocess
import urllib.request
from pathlib import Path

import pytest

from kukeon.api import kukeon_pb2 as pb
from kukeon.daemon.sources import SUSPICIOUS_MIN
from kukeon.manifests import load_file
from kukeon.model.resources import Cell
from tests.fixtures.kukeond import Kukeond, host_leaks, wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_example_reaches_ready_and_goes_away_cleanly(kukeond: Kukeond, example: Path) -> None:
    resources = load_file(example).resources
    cells = [str(r.path) for r in resources if isinstance(r, Cell)]
    assert cells, f"{example.name} declares no cell"
    (kukeond.manifests / example.name).write_text(example.read_text())
    for path in cells:
        kukeond.wait_phase(path, "Ready", 60)
    if example.name == "hello-world.yaml":
        assert "Hello from kukeon" in http_get("http://127.0.0.1:8080/")
    (kukeond.manifests / example.name).unlink()
    if len(resources) >= SUSPICIOUS_MIN:
        # the whole directory suddenly declares nothing: held, not pruned, until confirmed
        held = wait_for("held", lambda: [s for s in kukeond.api.Status(pb.StatusRequest()).sources if "suddenly declares nothing" in s.error], 10)
        assert "kuke prune --confirm-empty" in held[0].error
        assert set(cells) <= set(kukeond.cells())
        kukeond.api.Prune(pb.PruneRequest(confirm_empty=True))
    wait_for("cells pruned", lambda: not set(cells) & set(kukeond.cells()), 60)
    wait_for("no leaks", lambda: not host_leaks(kukeond.instance, kukeond.run_dir), 30)


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_example_through_kuke_apply(kukeond: Kukeond, example: Path) -> None:
    kuke = [str(ROOT / ".venv/bin/kuke"), "--socket", str(kukeond.socket)]
    done = subprocess.run([*kuke, "apply", "-f", str(example), "--wait", "--timeout", "60s"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    cells = [str(r.path) for r in load_file(example).resources if isinstance(r, Cell)]
    assert all(kukeond.cell(p).phase == "Ready" for p in cells)
    table = subprocess.run([*kuke, "get", "cells", "-A"], capture_output=True, text=True,
                           timeout=60).stdout.splitlines()  # fmt: skip
    assert table[0].split()[-1] == "AGE" and len(table) == 1 + len(cells), table
    assert all(re.fullmatch(r"\d+s", row.split()[-1]) for row in table[1:]), table
    if example.name == "hello-world.yaml":
        ip = kukeond.cell(cells[0]).ip
        assert "Hello from kukeon" in http_get(f"http://{ip}:8080/")  # the host side of the space
    done = subprocess.run([*kuke, "delete", "-f", str(example), "--wait"], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not set(cells) & set(kukeond.cells())
    wait_for("no leaks", lambda: not host_leaks(kukeond.instance, kukeond.run_dir), 30)


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:  # loopback or a cell we made
        return str(resp.read().decode())
