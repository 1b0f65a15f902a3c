"""Versioned hash of what, when it changes, needs a new container.

Limits are not hashed: they are updated in place. Defaults are applied before hashing so
equal specs written differently hash the same. The image digest is kept apart (as its own
label) so a plan can say "image moved" rather than just "spec changed".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from kukeon.model.resources import Cell, Container

SPEC_HASH_VERSION = "1"


def container_fields(container: Container, cell: Cell) -> dict[str, Any]:
    """The canonical, recreate-relevant fields of a container."""
    fields: dict[str, Any] = {
        "image": container.image,
        "command": list(container.command),
        "args": list(container.args),
        "env": sorted(container.env),
        "workingDir": container.working_dir,
        "user": container.user,
        "root": container.root,
        "volumes": [asdict(v) for v in container.volumes],
        "ports": [asdict(p) for p in container.ports],
        "readOnlyRootFilesystem": container.read_only_root_filesystem,
        "privileged": container.privileged,
        "capAdd": sorted(container.capabilities_add),
        "capDrop": sorted(container.capabilities_drop),
        "hostname": cell.name,
    }
    # only when set, so containers made before these fields existed keep their hash
    if cell.host_network:
        fields["hostNetwork"] = True
    if container.host_pid:
        fields["hostPID"] = True
    if container.host_cgroup:
        fields["hostCgroup"] = True
    return fields


def spec_hash(container: Container, cell: Cell) -> str:
    canon = json.dumps(container_fields(container, cell), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canon.encode()).hexdigest()[:16]
    return f"v{SPEC_HASH_VERSION}-{digest}"


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
