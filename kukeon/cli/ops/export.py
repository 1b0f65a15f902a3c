"""export: manifests -> another engine's objects, on this machine, without a daemon."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kukeon.cli.ops.validate import load_local
from kukeon.cli.output import Out


@dataclass(frozen=True)
class ExportOptions:
    files: tuple[str, ...]
    recursive: bool = False
    format: str = "kubernetes"
    output: str = "-"  # "-": stdout; otherwise a directory, one file per resource


def run_export(opts: ExportOptions, out: Out) -> int:
    from kukeon.export import to_kubernetes, to_yaml, write_dir

    results = load_local(opts.files, opts.recursive, out)
    if results is None:
        out.warn("nothing exported")
        return 2
    exported = to_kubernetes(r for result in results for r in result.resources)
    for note in (n for e in exported for n in e.notes):
        out.warn(f"warning: {note}")
    if opts.output == "-":
        out.stdout.write(to_yaml(exported))
        out.stdout.flush()
        return 0
    written = write_dir(Path(opts.output), exported)
    count = sum(len(e.objects) for e in exported)
    out.warn(f"{count} object(s) in {len(written)} file(s) under {opts.output}")
    return 0
