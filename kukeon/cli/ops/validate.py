"""validate: check manifests on this machine, without a daemon."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kukeon.cli.output import Out


@dataclass(frozen=True)
class ValidateOptions:
    files: tuple[str, ...]
    recursive: bool = False


def run_validate(opts: ValidateOptions, out: Out) -> int:
    from kukeon.manifests import LoadResult, load_paths, load_text

    results: list[LoadResult] = []
    paths = [Path(f) for f in opts.files if f != "-"]
    if paths:
        results.append(load_paths(paths, recursive=opts.recursive))
    if "-" in opts.files:
        results.append(load_text(out.stdin.read(), "-"))
    errors = [e for r in results for e in r.errors]
    for w in (w for r in results for w in r.warnings):
        out.warn(f"warning: {w}")
    for e in errors:
        out.warn(str(e))
    count = sum(len(r.resources) for r in results)
    if errors:
        out.warn(f"{len(errors)} error(s)")
        return 2
    out.echo(f"{count} resource(s) valid")
    return 0
