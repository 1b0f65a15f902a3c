"""validate, doctor, version, completion."""

from __future__ import annotations

import click

from kukeon.cli.context import CliContext, file_options, make_out, pass_cli


@click.command()
@file_options("Manifest file, directory, or - for stdin (repeatable).")
def validate(files: tuple[str, ...], recursive: bool) -> int:
    """Check manifests (no daemon needed); exit 2 on errors."""
    from kukeon.cli.ops.validate import ValidateOptions, run_validate

    return run_validate(ValidateOptions(files, recursive), make_out())


@click.command()
@pass_cli
def doctor(cli: CliContext) -> int:
    """Check the socket, the daemon and the host, and say how to fix what fails."""
    from kukeon.cli.ops.host import run_doctor

    return run_doctor(cli.client(), make_out())


@click.command()
@pass_cli
def version(cli: CliContext) -> int:
    """Print kuke's version, and kukeond's when it is reachable."""
    from kukeon.cli.ops.host import run_version

    return run_version(cli.client(), make_out())


@click.command()
@click.argument("shell", type=click.Choice(("bash", "zsh", "fish")))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script, e.g. kuke completion bash > /etc/bash_completion.d/kuke"""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # every choice above has a class in click
    root = ctx.find_root()
    click.echo(cls(root.command, {}, "kuke", "_KUKE_COMPLETE").source())
