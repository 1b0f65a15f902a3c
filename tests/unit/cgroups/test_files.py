"""Parsing cgroup files into kukeon's terms, and the walk of our subtree."""

from __future__ import annotations

from pathlib import Path

import pytest

from kukeon.drivers.cgroups.tree import _walk, read, read_int
from kukeon.drivers.cgroups.v1 import _memory
from kukeon.drivers.cgroups.v2 import _cpu_max, _keyed
from kukeon.model.limits import effective, shares_to_weight, weight_to_shares
from kukeon.model.resources import Resources


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("max 100000", (None, 100000)), ("50000 100000", (50000, 100000)), (None, (None, None))],
)
def test_cpu_max(text: str | None, parsed: tuple[int | None, int | None]) -> None:
    assert _cpu_max(text) == parsed


def test_flat_keyed_files() -> None:
    assert _keyed("populated 1\nfrozen 0") == {"populated": 1, "frozen": 0}
    assert _keyed("usage_usec 1234\nnr_periods 0\n")["usage_usec"] == 1234
    assert _keyed(None) == {}


def test_v1_unlimited_memory_reads_as_none() -> None:
    assert _memory(9223372036854771712) is None
    assert _memory(None) is None
    assert _memory(4096) == 4096


def test_read_missing_files(tmp_path: Path) -> None:
    assert read(str(tmp_path / "nope")) is None
    (tmp_path / "pids.max").write_text("max\n")
    (tmp_path / "pids.current").write_text("7\n")
    assert read_int(str(tmp_path / "pids.max")) is None
    assert read_int(str(tmp_path / "pids.current")) == 7


def test_walk_stops_at_cells_and_skips_foreign_names(tmp_path: Path) -> None:
    (tmp_path / "r" / "s" / "st" / "c" / "container").mkdir(parents=True)
    (tmp_path / "r" / "Not.Ours").mkdir()
    (tmp_path / "r" / "file").write_text("")
    assert sorted(_walk(str(tmp_path), 4)) == [
        ("r",),
        ("r", "s"),
        ("r", "s", "st"),
        ("r", "s", "st", "c"),
    ]
    assert _walk(str(tmp_path / "missing"), 4) == []


@pytest.mark.parametrize("shares", [2, 100, 512, 1024, 4096, 262144])
def test_v2_weight_round_trip_matches_effective(shares: int) -> None:
    # What the v2 backend reports for a weight it wrote is what the planner expects.
    expected = effective(Resources(cpu_shares=shares), "unified").cpu_shares
    assert weight_to_shares(shares_to_weight(shares)) == expected
