"""Every file in examples/ is applied through the manifests dir and reaches Ready; then
removing it leaves nothing of it on the host."""

from __future__ import annotations

from pathlib import Path

import pytest

from kukeon.api import kukeon_pb2 as pb
from kukeon.daemon.sources import SUSPICIOUS_MIN
from kukeon.manifests import load_file
from kukeon.model.resources import Cell
from tests.fixtures.kukeond import Kukeond, host_leaks, wait_for

pytestmark = pytest.mark.integration
EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_example_reaches_ready_and_goes_away_cleanly(kukeond: Kukeond, example: Path) -> None:
    resources = load_file(example).resources
    cells = [str(r.path) for r in resources if isinstance(r, Cell)]
    assert cells, f"{example.name} declares no cell"
    (kukeond.manifests / example.name).write_text(example.read_text())
    for path in cells:
        kukeond.wait_phase(path, "Ready", 60)
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
