"""image pull, import, ls, rm (in --realm's containerd namespace)."""

from __future__ import annotations

import click

from kukeon.cli.context import CliContext, make_out, pass_cli
from kukeon.cli.group import KukeonGroup


@click.group(cls=KukeonGroup)
def image() -> None:
    """Manage images."""


@image.command()
@click.argument("ref")
@pass_cli
def pull(cli: CliContext, ref: str) -> int:
    """Pull an image from a registry."""
    from kukeon.cli.ops.image import PullOptions, run_pull

    return run_pull(cli.client(), PullOptions(ref, cli.scope.realm), make_out())


@image.command("import")
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False))
@pass_cli
def import_(cli: CliContext, file: str) -> int:
    """Import an OCI or docker archive (FILE, or - for stdin)."""
    from kukeon.cli.ops.image import ImportOptions, run_import

    return run_import(cli.client(), ImportOptions(file, cli.scope.realm), make_out())


@image.command("ls")
@pass_cli
def ls(cli: CliContext) -> int:
    """List images."""
    from kukeon.cli.ops.image import ImageOptions, run_ls

    return run_ls(cli.client(), ImageOptions(cli.scope.realm), make_out())


@image.command("rm")
@click.argument("ref")
@pass_cli
def rm(cli: CliContext, ref: str) -> int:
    """Remove an image."""
    from kukeon.cli.ops.image import ImageOptions, run_rm

    return run_rm(cli.client(), ImageOptions(cli.scope.realm, ref), make_out())
