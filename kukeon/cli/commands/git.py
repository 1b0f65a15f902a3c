"""git add, ls, rm, sync, status: the git repositories kukeond follows (pull-only)."""

from __future__ import annotations

import click

from kukeon.cli.context import CliContext, Duration, make_out, pass_cli
from kukeon.cli.group import KukeonGroup

_OUTPUT = click.Choice(("table", "yaml", "json"))


@click.group(cls=KukeonGroup)
def git() -> None:
    """Git sources: kukeond applies the manifests of a branch or tag, pull-only."""


@git.command()
@click.argument("name")
@click.argument("url")
@click.option("--branch", default="", help="Branch to follow  [default: main]")
@click.option("--tag", default="", help="Tag to follow instead of a branch.")
@click.option("--path", default="", help="Directory of manifests in the repository.")
@click.option("--interval", type=Duration(), default=60.0, help="Poll interval  [default: 1m]")
@click.option("--suspend", is_flag=True, help="Add it without polling (kuke git sync still works).")
@click.option(
    "--credentials-file",
    default="",
    metavar="PATH",
    help="On kukeond's host, mode 0600: user and password lines (https) or an ssh key.",
)
@click.option("--no-wait", is_flag=True, help="Return without waiting for the first sync.")
@click.option("--timeout", type=Duration(), default=60.0, help="How long to wait  [default: 1m]")
@pass_cli
def add(
    cli: CliContext,
    name: str,
    url: str,
    branch: str,
    tag: str,
    path: str,
    interval: float,
    suspend: bool,
    credentials_file: str,
    no_wait: bool,
    timeout: float,
) -> int:
    """Follow the repository at URL as source git:NAME (or change git:NAME)."""
    from kukeon.cli.ops.git import AddOptions, run_add

    opts = AddOptions(
        name, url, branch, tag, path, interval, suspend, credentials_file, no_wait, timeout
    )
    return run_add(cli.client(), opts, make_out())


@git.command("ls")
@click.option("-o", "--output", type=_OUTPUT, default="table")
@pass_cli
def ls(cli: CliContext, output: str) -> int:
    """List git sources with the revision each has applied."""
    from kukeon.cli.ops.git import run_ls

    return run_ls(cli.client(), output, make_out())


@git.command("rm")
@click.argument("name")
@pass_cli
def rm(cli: CliContext, name: str) -> int:
    """Stop following git:NAME; what it declared is removed from the host."""
    from kukeon.cli.ops.git import run_rm

    return run_rm(cli.client(), name, make_out())


@git.command()
@click.argument("name")
@click.option("--timeout", type=Duration(), default=60.0, help="How long to wait  [default: 1m]")
@pass_cli
def sync(cli: CliContext, name: str, timeout: float) -> int:
    """Fetch and apply git:NAME now; fails when its newest commit was not applied."""
    from kukeon.cli.ops.git import run_sync

    return run_sync(cli.client(), name, timeout, make_out())


@git.command()
@click.argument("name", required=False, default="")
@click.option("-o", "--output", type=_OUTPUT, default="table")
@pass_cli
def status(cli: CliContext, name: str, output: str) -> int:
    """Revisions fetched, applied and attempted, the last error and the apply history."""
    from kukeon.cli.ops.git import run_status

    return run_status(cli.client(), name, output, make_out())
