"""export: manifests -> another engine's objects, on this machine, without a daemon."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kukeon.cli.output import Out


@dataclass(frozen=True)
class ExportOptions:
    files: tuple[str, ...]
    recursive: bool = False
    format: str = "kubernetes"
    output: str = "-"  # "-": stdout; otherwise a directory, one file per resource


def run_export(opts: ExportOptions, out: Out) -> int:
    from kukeon.export import to_kubernetes, to_yaml, write_dir
    from kukeon.manifests import LoadResult, load_paths, load_text

    results: list[LoadResult] = []
    paths = [Path(f) for f in opts.files if f != "-"]
    if paths:
        results.append(load_paths(paths, recursive=opts.recursive))
    if "-" in opts.files:
        results.append(load_text(out.stdin.read(), "-"))
    for w in (w for r in results for w in r.warnings):
        out.warn(f"warning: {w}")
    errors = [e for r in results for e in r.errors]
    if errors:
        for e in errors:
            out.warn(str(e))
        out.warn(f"{len(errors)} error(s); nothing exported")
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
