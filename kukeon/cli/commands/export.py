"""export: the same manifests as another engine's objects (no daemon needed)."""

from __future__ import annotations

import click

from kukeon.cli.context import file_options, make_out


@click.command()
@file_options("Manifest file, directory, or - for stdin (repeatable).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("kubernetes",)),
    default="kubernetes",
    show_default=True,
    help="What to export to.",
)
@click.option(
    "-o",
    "--output",
    default="-",
    metavar="DIR|-",
    show_default=True,
    help="A directory (one file per resource, in apply order), or - for stdout.",
)
def export(files: tuple[str, ...], recursive: bool, fmt: str, output: str) -> int:
    """Convert manifests to Kubernetes YAML, with a warning per field it cannot carry over.

    \b
    Realm -> Namespace, Space -> NetworkPolicy, Cell -> Deployment or Job (+ Service).
    Every object is labelled kukeon.io/realm|space|stack|cell, e.g.
      kuke export -f manifests/ -o k8s/ && kubectl apply -f k8s/
    """
    from kukeon.cli.ops.export import ExportOptions, run_export

    return run_export(ExportOptions(files, recursive, fmt, output), make_out())
