"""get, describe."""

from __future__ import annotations

import click

from kukeon.cli.context import CliContext, complete_kind, make_out, pass_cli
from kukeon.cli.refs import BadArgument, parse_kind

OUTPUTS = ("table", "wide", "yaml", "json", "name")


@click.command()
@click.argument("kind", shell_complete=complete_kind)
@click.argument("name", required=False)
@click.option("-o", "--output", type=click.Choice(OUTPUTS), default="table", show_default=True)
@click.option("-A", "--all-realms", is_flag=True, help="List every realm, not only --realm.")
@pass_cli
def get(cli: CliContext, kind: str, name: str | None, output: str, all_realms: bool) -> int:
    """List resources of KIND (realm, space, stack, cell, all), or show one."""
    from kukeon.cli.ops.get import GetOptions, run_get

    resolved = parse_kind(kind)
    if resolved is None and name:
        raise BadArgument("get all takes no NAME", hint="name a kind: kuke get cell NAME")
    return run_get(
        cli.client(), GetOptions(resolved, name, output, all_realms, cli.scope), make_out()
    )


@click.command()
@click.argument("kind", shell_complete=complete_kind)
@click.argument("name")
@pass_cli
def describe(cli: CliContext, kind: str, name: str) -> int:
    """Show one resource in detail: spec, status, containers, recent events."""
    from kukeon.cli.ops.get import DescribeOptions, run_describe

    resolved = parse_kind(kind)
    if resolved is None:
        raise BadArgument("describe needs one kind: realm, space, stack or cell")
    return run_describe(cli.client(), DescribeOptions(resolved, name, cli.scope), make_out())
