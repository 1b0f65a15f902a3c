"""logs, events, status."""

from __future__ import annotations

import click

from kukeon.cli.context import CliContext, file_options, make_out, pass_cli


@click.command()
@click.argument("cell")
@click.option("-c", "--container", default="", help="Container name (default: the root one).")
@click.option("-f", "--follow", is_flag=True, help="Keep streaming new output.")
@click.option("--tail", type=click.IntRange(min=0), default=0, help="Only the last N lines.")
@pass_cli
def logs(cli: CliContext, cell: str, container: str, follow: bool, tail: int) -> int:
    """Print a cell's container output (CELL: a name or realm/space/stack/cell)."""
    from kukeon.cli.ops.observe import LogsOptions, run_logs

    opts = LogsOptions(cell, container, follow, tail, cli.scope)
    return run_logs(cli.client(), opts, make_out())


@click.command()
@click.option("-w", "--watch", "follow", is_flag=True, help="Keep printing new events.")
@click.option("--prefix", default="", metavar="PATH", help="Only events under this path.")
@click.option("--limit", type=click.IntRange(min=0), default=0, help="At most N past events.")
@click.option("-o", "--output", type=click.Choice(("table", "json")), default="table")
@pass_cli
def events(cli: CliContext, follow: bool, prefix: str, limit: int, output: str) -> int:
    """What kukeond did and what failed, oldest first."""
    from kukeon.cli.ops.observe import EventsOptions, run_events

    return run_events(cli.client(), EventsOptions(follow, prefix, limit, output), make_out())


@click.command()
@file_options("Show what became of what these manifests declare.", required=False)
@pass_cli
def status(cli: CliContext, files: tuple[str, ...], recursive: bool) -> int:
    """The host at a glance, or (-f) what became of a manifest file."""
    from kukeon.cli.ops.observe import StatusOptions, run_status

    return run_status(cli.client(), StatusOptions(files, recursive), make_out())
