"""Kubernetes names, labels and quantities for kukeon resources.

These are names of Kubernetes objects, not host names (those come from model.naming).
"""

from __future__ import annotations

import hashlib
import re

from kukeon.export.notes import Notes
from kukeon.model.identity import DEFAULT, ResourcePath

LABEL_KEYS = ("kukeon.io/realm", "kukeon.io/space", "kukeon.io/stack", "kukeon.io/cell")
MAX_NAME = 63  # a DNS-1123 label: Services, Jobs and pod names derive from it

_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def scope_labels(path: ResourcePath) -> dict[str, str]:
    """``kukeon.io/realm`` .. ``kukeon.io/cell``, as deep as ``path`` goes.

    Every exported object carries them, so the set can be selected (and pruned) as a
    group: ``kubectl get all -l kukeon.io/space=front``.
    """
    return dict(zip(LABEL_KEYS, path.segments[:4], strict=False))


def workload_name(path: ResourcePath) -> str:
    """The name of a cell's Deployment/Job/Service within its realm's namespace.

    A realm is one namespace, so the space and stack are folded into the name, except
    where they are ``default``: ``default/default/default/web`` -> ``web``,
    ``shop/front/api/web`` -> ``front-api-web``.
    """
    _, space, stack, cell = path.segments[:4]
    name = "-".join([*(s for s in (space, stack) if s != DEFAULT), cell])
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9].rstrip('-')}-{digest}"


def service_name(name: str) -> str:
    """A Service name must also start with a letter (DNS-1035)."""
    return name if name[0].isalpha() else f"c-{name}"[:MAX_NAME].rstrip("-")


def is_label(key: str, value: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _LABEL_PREFIX.match(prefix)):
        return False
    if len(name) > 63 or not _LABEL_NAME.match(name):
        return False
    return value == "" or (len(value) <= 63 and bool(_LABEL_NAME.match(value)))


def metadata(
    name: str, path: ResourcePath, notes: Notes, *, namespace: str | None = None
) -> dict[str, object]:
    """Object metadata: the resource's labels and annotations plus the scope labels.

    A kukeon label that is not a valid Kubernetes label is kept as an annotation.
    """
    res = notes.resource
    labels: dict[str, str] = {}
    annotations: dict[str, str] = dict(res.annotations)
    for key, value in res.labels:
        if is_label(key, value):
            labels[key] = value
        else:
            annotations[key] = value
            notes.add(
                f"metadata.labels[{key}]",
                "not a valid Kubernetes label (at most 63 characters of [A-Za-z0-9-_.]); "
                "kept as an annotation, so it cannot select objects",
            )
    labels.update(scope_labels(path))
    meta: dict[str, object] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return meta


_BINARY = (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10))


def memory(n: int) -> str:
    """Bytes as a Kubernetes quantity, exact: 67108864 -> ``64Mi``."""
    for suffix, unit in _BINARY:
        if n and n % unit == 0:
            return f"{n // unit}{suffix}"
    return str(n)


def cpu(millis: int) -> str:
    return f"{millis}m"
