"""Smoke test of the benchmark runner: a --quick run with 2 repetitions finishes, prints
its table, says podman was not measured, and saves JSON with every section."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.integration
@pytest.mark.timeout(150)
def test_quick_run(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench/run.py"), "--quick", "--reps", "2", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=140, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "podman kube play NOT measured (--quick)" in done.stdout
    assert "cell start (Apply -> task running)" in done.stdout
    [saved] = list(tmp_path.glob("bench-*-quick.json"))
    data = json.loads(saved.read_text())
    for key in ("cell_start", "teardown", "file_events", "scale", "kill_to_restart",
                "idle_0_cells", "idle_5_cells", "kuke_get_cells", "noop_pass_100_fake"):
        assert key in data, key
    assert data["cell_start"]["kukeon"]["n"] == 2
    assert data["cell_start"]["by_hand"]["n"] == 2
    noop = data["noop_pass_5_real"]
    assert noop["containerd_events"] == [] and not noop["cni_state_changed"]
    assert set(noop["actions"]) == {0}
    left = [str(d) for d in Path("/sys/fs/cgroup").glob("*/bench")]
    assert not left and not Path("/sys/fs/cgroup/bench").exists(), left  # ctr run's parent
