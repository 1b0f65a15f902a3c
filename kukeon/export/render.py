"""Exported objects as YAML: one stream, or one file per kukeon resource.

Each resource's objects are preceded by comments naming the kukeon resource and every
note, so what was not carried over stays next to the object in the output.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from kukeon.export.kubernetes import Exported

# libyaml's emitter when PyYAML has it: five times faster on a thousand cells.
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[valid-type,misc]  # chosen at import time
    """Plain YAML for kubectl and for reading: no &anchors for shared label maps."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def header(exp: Exported) -> list[str]:
    res = exp.resource
    where = f"from {res.origin}" if res.origin else "implied by the resources in it"
    lines = [f"# kukeon {res.kind.value} {res.path} ({where})"]
    lines += [f"# WARNING: {n.field}: {n.message}" for n in exp.notes]
    return lines


def document(exp: Exported) -> str:
    """The resource's objects as YAML documents, each starting with ``---``."""
    parts = ["---\n" + "\n".join(header(exp)) + "\n"]
    for i, obj in enumerate(exp.objects):
        text = yaml.dump(obj, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)
        parts.append(text if i == 0 else "---\n" + text)
    return "".join(parts)


def to_yaml(exported: Iterable[Exported]) -> str:
    return "".join(document(e) for e in exported)


def file_name(exp: Exported) -> str:
    """``<depth>-<kind>-<path>.yaml``: a directory applies in order, parents first."""
    path = exp.resource.path
    return f"{path.kind.depth}-{path.kind.value.lower()}-{'.'.join(path.segments)}.yaml"


def write_dir(directory: Path, exported: Iterable[Exported]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for exp in exported:
        target = directory / file_name(exp)
        target.write_text(document(exp), encoding="utf-8")
        written.append(target)
    return written
