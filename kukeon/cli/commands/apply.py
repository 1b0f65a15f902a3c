"""apply, diff, delete, prune."""

from __future__ import annotations

import click

from kukeon.cli.context import (
    CliContext,
    Duration,
    complete_kind,
    file_options,
    make_out,
    pass_cli,
)
from kukeon.cli.refs import parse_kind


@click.command()
@file_options("Manifest file, directory, or - for stdin (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--wait", is_flag=True, help="Wait until every applied cell is Ready.")
@click.option(
    "--timeout", type=Duration(), default="120s", show_default=True, help="How long --wait waits."
)
@click.option(
    "--prune",
    is_flag=True,
    help="Delete API-applied resources of --prune-set missing from the files.",
)
@click.option("--prune-set", metavar="NAME", default="", help="The set --prune works on.")
@pass_cli
def apply(
    cli: CliContext,
    files: tuple[str, ...],
    recursive: bool,
    dry_run: bool,
    wait: bool,
    timeout: float,
    prune: bool,
    prune_set: str,
) -> int:
    """Apply manifests: make the host match them."""
    from kukeon.cli.ops.apply import ApplyOptions, WaitOptions, run_apply

    if prune and not prune_set:
        raise click.UsageError("--prune needs --prune-set NAME")
    opts = ApplyOptions(
        files, recursive, dry_run, wait, prune, prune_set, WaitOptions(timeout=timeout)
    )
    return run_apply(cli.client(), opts, make_out())


@click.command()
@file_options("Manifest file, directory or - (none: the current desired state).", required=False)
@pass_cli
def diff(cli: CliContext, files: tuple[str, ...], recursive: bool) -> int:
    """Show what applying the files would do (exit 1 when anything differs)."""
    from kukeon.cli.ops.apply import DiffOptions, run_diff

    return run_diff(cli.client(), DiffOptions(files, recursive), make_out())


@click.command()
@click.argument("kind", required=False, shell_complete=complete_kind)
@click.argument("names", nargs=-1)
@file_options("Delete what these manifests declare.", required=False)
@click.option("--wait", is_flag=True, help="Wait until the resources are gone.")
@click.option("--timeout", type=Duration(), default="120s", show_default=True)
@pass_cli
def delete(
    cli: CliContext,
    kind: str | None,
    names: tuple[str, ...],
    files: tuple[str, ...],
    recursive: bool,
    wait: bool,
    timeout: float,
) -> int:
    """Delete resources: KIND NAME..., or -f FILE."""
    from kukeon.cli.ops.apply import DeleteOptions, WaitOptions, run_delete

    if files and kind:
        raise click.UsageError("give either KIND NAME... or -f FILE, not both")
    if not files and not (kind and names):
        raise click.UsageError("say what to delete: KIND NAME..., or -f FILE")
    resolved = parse_kind(kind) if kind else None
    if kind and resolved is None:
        raise click.UsageError("delete needs one kind: realm, space, stack or cell")
    opts = DeleteOptions(
        resolved, names, files, recursive, cli.scope, wait, WaitOptions(timeout=timeout)
    )
    return run_delete(cli.client(), opts, make_out())


@click.command()
@click.option("--unowned", is_flag=True, help="Objects of this instance that no source owns.")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@click.option(
    "--confirm-empty",
    is_flag=True,
    help="Allow pruning for a source that suddenly declares nothing.",
)
@pass_cli
def prune(cli: CliContext, unowned: bool, dry_run: bool, confirm_empty: bool) -> int:
    """Delete what no manifest owns any more (explicit opt-in)."""
    from kukeon.cli.ops.apply import PruneOptions, run_prune

    return run_prune(cli.client(), PruneOptions(unowned, dry_run, confirm_empty), make_out())
