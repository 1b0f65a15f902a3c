"""What the driver keeps on disk: conflists, per-cell CNI records, IPAM leases.

A cell record (``results/<cni id>.json``) is written before the netns is pinned, gets
the exact config before CNI ADD runs and the result after, so DEL always runs with the
config ADD used, even after a crash or a restart with another space config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kukeon.drivers.network.conflist import PATH_KEY
from kukeon.model.identity import ResourcePath

JsonDict = dict[str, Any]


@dataclass
class CellRecord:
    path: ResourcePath
    container_id: str
    netns: str
    config: JsonDict | None = None  # the conflist given to ADD
    runtime_config: JsonDict = field(default_factory=dict)
    result: JsonDict | None = None  # what ADD returned

    @property
    def space(self) -> ResourcePath:
        return ResourcePath(self.path.segments[:2])

    @property
    def ip(self) -> str | None:
        if not self.result:
            return None
        for entry in self.result.get("ips", []):
            address = str(entry.get("address", ""))
            if address:
                return address.split("/", 1)[0]
        return None

    def to_json(self) -> JsonDict:
        return {
            "path": str(self.path),
            "containerId": self.container_id,
            "netns": self.netns,
            "config": self.config,
            "runtimeConfig": self.runtime_config,
            "result": self.result,
        }

    @classmethod
    def from_json(cls, data: JsonDict) -> CellRecord:
        return cls(
            path=ResourcePath.parse(data["path"]),
            container_id=data["containerId"],
            netns=data["netns"],
            config=data.get("config"),
            runtime_config=data.get("runtimeConfig") or {},
            result=data.get("result"),
        )


class Layout:
    """Where everything lives under the run and state dirs."""

    def __init__(self, run_dir: Path, state_dir: Path) -> None:
        self.netns_dir = run_dir / "netns"
        self.cells_dir = run_dir / "cells"
        self.conf_dir = state_dir / "cni" / "net.d"
        self.ipam_dir = state_dir / "cni" / "ipam"
        self.results_dir = state_dir / "cni" / "results"

    def pin(self, pin_name: str) -> Path:
        return self.netns_dir / pin_name

    def etc_dir(self, pin_name: str) -> Path:
        return self.cells_dir / pin_name

    def conflist(self, network: str) -> Path:
        return self.conf_dir / f"{network}.conflist"

    def leases(self, network: str) -> Path:
        return self.ipam_dir / network  # host-local keeps <dataDir>/<network name>/

    def record(self, container_id: str) -> Path:
        return self.results_dir / f"{container_id}.json"


def write_json(path: Path, data: JsonDict) -> None:
    """Atomic and durable: a record must never be half written after a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> JsonDict | None:
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    return data if isinstance(data, dict) else None


def iter_json(directory: Path, suffix: str) -> Iterator[JsonDict]:
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith(suffix) and not name.startswith("."):
            data = read_json(directory / name)
            if data is not None:
                yield data


def read_records(layout: Layout) -> list[CellRecord]:
    return [CellRecord.from_json(d) for d in iter_json(layout.results_dir, ".json")]


def read_conflists(layout: Layout) -> dict[ResourcePath, JsonDict]:
    return {
        ResourcePath.parse(d[PATH_KEY]): d
        for d in iter_json(layout.conf_dir, ".conflist")
        if PATH_KEY in d
    }


def drop_leases(leases_dir: Path, container_id: str) -> int:
    """Remove host-local lease files (named by IP, first line = container id)."""
    dropped = 0
    try:
        names = os.listdir(leases_dir)
    except FileNotFoundError:
        return 0
    for name in names:
        lease = leases_dir / name
        try:
            owner = lease.read_text().splitlines()[:1]
        except (OSError, UnicodeDecodeError):
            continue
        if owner == [container_id]:
            lease.unlink(missing_ok=True)
            dropped += 1
    return dropped
