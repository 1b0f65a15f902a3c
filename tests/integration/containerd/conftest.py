"""Cgroup directories runc leaves behind, removed at the end of the session.

On this VM a cgroup-v2 ("unified", hybrid mode) leaf whose task exited on its own stays
EBUSY for tens of seconds with no process and no child in it (it frees once PID 1, which
is not an init that reaps promptly, collects exited shims). Rather than stall each test,
such directories are retried once more at the end of the session.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def rmdir_later() -> Iterator[list[Path]]:
    """Append directories (children before parents) to remove at session end."""
    _LEFT: list[Path] = []
    yield _LEFT
    deadline = time.monotonic() + 90
    while _LEFT and time.monotonic() < deadline:
        for d in list(_LEFT):
            try:
                if d.is_dir():
                    d.rmdir()
                _LEFT.remove(d)
            except OSError:
                pass
        time.sleep(0.2)
    assert not _LEFT, f"cgroup directories could not be removed: {_LEFT}"
