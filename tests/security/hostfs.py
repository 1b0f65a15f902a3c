"""What a process wrote on the host: a snapshot of the mtimes under the places a path
built from hostile input would reach (system dirs, and the directories around a daemon's
own), compared before and after."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

SYSTEM = (Path("/etc"), Path("/var/lib"), Path("/run"), Path("/root"))
# Written by other services or tests on a shared host, never by a kukeond under test here.
BUSY = tuple(
    Path(p)
    for p in (
        "/run/containerd", "/var/lib/containerd", "/run/runc", "/run/systemd", "/run/user",
        "/run/lock", "/run/postgresql", "/var/lib/postgresql", "/var/lib/systemd",
        "/var/lib/apt", "/var/lib/dpkg", "/var/lib/PackageKit", "/run/netns",
    )
)  # fmt: skip
HOME = "/root"  # its dot-entries are toolchains, caches and histories of other tools


def snapshot(tops: Iterable[Path], exclude: Iterable[Path] = ()) -> dict[str, int]:
    """path -> mtime (ns) of every entry under ``tops``, except under ``exclude``."""
    skip = {str(p) for p in (*BUSY, *exclude)}
    out: dict[str, int] = {}
    for top in tops:
        for root, dirs, files in os.walk(top):
            dirs[:] = [
                d
                for d in dirs
                if os.path.join(root, d) not in skip and not (root == HOME and d[0] == ".")
            ]
            for name in (*dirs, *files):
                if root == HOME and name[0] == ".":
                    continue
                path = os.path.join(root, name)
                with contextlib.suppress(OSError):
                    out[path] = os.lstat(path).st_mtime_ns
            if root != HOME:  # a dot-file written there would change it: new files show
                with contextlib.suppress(OSError):
                    out[root] = os.lstat(root).st_mtime_ns
    return out


def changes(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """Entries created, changed or removed between two snapshots."""
    out = [f"new {p}" for p in after.keys() - before.keys()]
    out += [f"removed {p}" for p in before.keys() - after.keys()]
    out += [f"changed {p}" for p in before.keys() & after.keys() if before[p] != after[p]]
    return sorted(out)
