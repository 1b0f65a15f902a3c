"""kukeon resources -> Kubernetes objects (plain dicts), with a note per unfaithful field.

Realm -> Namespace; Space -> scope labels and a NetworkPolicy; Stack -> scope labels;
Cell -> Deployment or Job (+ Service). Pure: no I/O, same input, same output.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kukeon.export import names
from kukeon.export.cell import Obj, cell_objects
from kukeon.export.notes import Note, Notes
from kukeon.model.errors import KukeonError
from kukeon.model.identity import ResourcePath
from kukeon.model.resources import AnyResource, Cell, Realm, Space, Stack, implicit_parent

# Peers reach each other by name, which in Kubernetes is cluster DNS (kube-dns/CoreDNS).
DNS_PEER: Obj = {
    "namespaceSelector": {},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}


class ExportError(KukeonError):
    """The resources cannot be exported as they are (e.g. two cells with one name)."""


@dataclass(frozen=True)
class Exported:
    """One kukeon resource and the Kubernetes objects it became (none for a Stack)."""

    resource: AnyResource
    objects: tuple[dict[str, Any], ...]
    notes: tuple[Note, ...]


def to_kubernetes(resources: Iterable[AnyResource]) -> list[Exported]:
    """Every resource plus the parents it implies, parents first (the order to apply)."""
    by_path: dict[ResourcePath, AnyResource] = {r.path: r for r in resources}
    for res in list(by_path.values()):
        for parent in res.path.ancestors():
            by_path.setdefault(parent, implicit_parent(parent))
    ordered = sorted(by_path.values(), key=lambda r: (r.path.kind.depth, r.path))
    _check_names([r for r in ordered if isinstance(r, Cell)])
    out = []
    for res in ordered:
        notes = Notes(res)
        objects = _convert(res, notes)
        if objects or notes.items:
            out.append(Exported(res, tuple(objects), tuple(notes.items)))
    return out


def _convert(res: AnyResource, notes: Notes) -> list[Obj]:
    if isinstance(res, Realm):
        return [realm(res, notes)]
    if isinstance(res, Space):
        return [space(res, notes)]
    if isinstance(res, Stack):
        stack(res, notes)
        return []
    return cell_objects(res, notes)


def _check_names(cells: Sequence[Cell]) -> None:
    seen: dict[tuple[str, str], ResourcePath] = {}
    for c in cells:
        key = (c.path.realm, names.workload_name(c.path))
        other = seen.setdefault(key, c.path)
        if other != c.path:
            raise ExportError(
                f"cells {other} and {c.path} would both be named {key[1]} in namespace {key[0]}",
                hint="rename one of the cells",
            )


def realm(r: Realm, notes: Notes) -> Obj:
    if r.namespace is not None:
        notes.add(
            "spec.namespace",
            f"the containerd namespace {r.namespace!r} has no meaning in Kubernetes; dropped "
            f"(the realm becomes Namespace {r.name})",
        )
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": names.metadata(r.name, r.path, notes),
    }


def space(s: Space, notes: Notes) -> Obj:
    """Traffic within the space only, as kukeon's per-space bridge and firewall do."""
    members = {"matchLabels": names.scope_labels(s.path)}
    egress: list[Obj] = [{"to": [{"podSelector": members}]}]
    if s.egress.default == "deny":
        egress.append({"to": [DNS_PEER], "ports": _ports((53,))})
        notes.add(
            "spec.network.egress.default",
            "deny: cells still reach cluster DNS on port 53 (kukeon names peers in "
            "/etc/hosts, Kubernetes through DNS), which also resolves outside names",
        )
        for rule in s.egress.allow:
            allowed: Obj = {"to": [{"ipBlock": {"cidr": rule.cidr}}]}
            if rule.ports:
                allowed["ports"] = _ports(rule.ports)
            egress.append(allowed)
    else:
        egress.append({})  # kukeon's default: anything outside the space
    if s.subnet is not None:
        notes.add(
            "spec.network.subnet",
            f"pod addresses come from the cluster's network plugin, not {s.subnet}; dropped",
        )
    if not s.resources.is_empty():
        notes.add(
            "spec.resources",
            "Kubernetes has no cgroup shared by a group of pods (a ResourceQuota caps the "
            "sum of declared requests and limits, not what runs); dropped",
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": names.metadata(f"kukeon-space-{s.name}", s.path, notes, namespace=s.path.realm),
        "spec": {
            "podSelector": members,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": members}]}],
            "egress": egress,
        },
    }


def _ports(ports: Iterable[int]) -> list[Obj]:
    # kukeon's egress rules allow a port for tcp and udp alike
    return [{"protocol": proto, "port": p} for p in ports for proto in ("TCP", "UDP")]


def stack(s: Stack, notes: Notes) -> None:
    """A stack is only the ``kukeon.io/stack`` label of its cells' objects."""
    if s.labels or s.annotations:
        notes.add(
            "metadata",
            "a stack becomes the kukeon.io/stack label only; its own labels and "
            "annotations have no object to go on; dropped",
        )
