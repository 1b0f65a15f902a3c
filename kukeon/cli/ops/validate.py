"""validate: check manifests on this machine, without a daemon."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kukeon.cli.output import Out

if TYPE_CHECKING:
    from kukeon.manifests import LoadResult


@dataclass(frozen=True)
class ValidateOptions:
    files: tuple[str, ...]
    recursive: bool = False


def load_local(files: tuple[str, ...], recursive: bool, out: Out) -> list[LoadResult] | None:
    """Load files (``-``: stdin) on this machine, printing warnings and errors; None when
    there are errors (the caller exits 2)."""
    from kukeon.manifests import load_paths, load_text

    results: list[LoadResult] = []
    paths = [Path(f) for f in files if f != "-"]
    if paths:
        results.append(load_paths(paths, recursive=recursive))
    if "-" in files:
        results.append(load_text(out.stdin.read(), "-"))
    for w in (w for r in results for w in r.warnings):
        out.warn(f"warning: {w}")
    errors = [e for r in results for e in r.errors]
    for e in errors:
        out.warn(str(e))
    if errors:
        out.warn(f"{len(errors)} error(s)")
        return None
    return results


def run_validate(opts: ValidateOptions, out: Out) -> int:
    results = load_local(opts.files, opts.recursive, out)
    if results is None:
        return 2
    out.echo(f"{sum(len(r.resources) for r in results)} resource(s) valid")
    return 0
