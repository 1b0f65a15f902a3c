"""What a source's manifests may ask of the host.

kukeon runs as root: a manifest that asks for ``privileged``, added capabilities, a bind
mount of ``/`` or the host's network is asking for root on the host (or for its ports).
Each source gets a policy; the manifests dir and the API (root-owned) are open by
default, git sources are restricted unless their configuration allows more. A violation
stops that cell (nothing of it runs) with a message naming the rule and where to change it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from kukeon.model.resources import Cell


@dataclass(frozen=True)
class Policy:
    privileged: bool = True
    capabilities: bool = True  # may add capabilities
    bind_mounts: bool = True
    host_network: bool = True
    host_pid: bool = True
    host_cgroup: bool = True
    # host path prefixes bind mounts may come from; empty: any (when bind_mounts)
    allowed_host_paths: tuple[str, ...] = ()


OPEN = Policy()
RESTRICTED = Policy(
    privileged=False,
    capabilities=False,
    bind_mounts=False,
    host_network=False,
    host_pid=False,
    host_cgroup=False,
)


def _inside(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/") or "/"
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


def violations(
    cell: Cell,
    policy: Policy,
    resolve: Callable[[str], str] = os.path.realpath,
) -> list[str]:
    """Rules ``cell`` breaks under ``policy``; ``resolve`` follows symlinks of bind
    sources, so a link cannot escape an allowed prefix."""
    found: list[str] = []
    for c in cell.containers:
        where = f"container {c.name}"
        if c.privileged and not policy.privileged:
            found.append(f"{where}: privileged is not allowed")
        if c.host_network and not policy.host_network:
            found.append(f"{where}: hostNetwork is not allowed")
        if c.host_pid and not policy.host_pid:
            found.append(f"{where}: hostPID is not allowed")
        if c.host_cgroup and not policy.host_cgroup:
            found.append(f"{where}: hostCgroup is not allowed")
        if c.capabilities_add and not policy.capabilities:
            found.append(
                f"{where}: adding capabilities ({', '.join(c.capabilities_add)}) is not allowed"
            )
        for v in c.volumes:
            if v.kind != "bind":
                continue
            if not policy.bind_mounts:
                found.append(f"{where}: bind mount of {v.source} is not allowed")
                continue
            if policy.allowed_host_paths:
                real = resolve(v.source)
                if not any(_inside(real, p) for p in policy.allowed_host_paths):
                    allowed = ", ".join(policy.allowed_host_paths)
                    found.append(
                        f"{where}: bind mount of {v.source}"
                        + (f" (-> {real})" if real != v.source else "")
                        + f" is outside the allowed host paths ({allowed})"
                    )
    return found
