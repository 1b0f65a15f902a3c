"""Control for the write check of the API suite: a snapshot sees a write."""

from __future__ import annotations

from pathlib import Path

from tests.security.hostfs import changes, snapshot


def test_a_snapshot_sees_new_changed_and_excluded_files(tmp_path: Path) -> None:
    (tmp_path / "old").write_text("1")
    (tmp_path / "own").mkdir()
    before = snapshot([tmp_path], exclude=[tmp_path / "own"])
    (tmp_path / "new.log").write_text("x")
    (tmp_path / "own" / "fine").write_text("x")
    found = changes(before, snapshot([tmp_path], exclude=[tmp_path / "own"]))
    assert f"new {tmp_path / 'new.log'}" in found
    assert f"changed {tmp_path}" in found
    assert not [f for f in found if "own" in f]
