"""The ``kuke`` command: global options and the verbs (errors become exits in group.py)."""

from __future__ import annotations

import sys

import click

from kukeon.cli.commands import apply, export, get, git, host, image, lifecycle, observe
from kukeon.cli.context import CliContext
from kukeon.cli.group import KukeonGroup
from kukeon.cli.refs import DEFAULT, Scope


@click.group(cls=KukeonGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--socket",
    envvar="KUKEON_SOCKET",
    metavar="PATH",
    help="kukeond's socket  [env KUKEON_SOCKET; default /run/kukeon/kukeond.sock]",
)
@click.option("--realm", metavar="NAME", help="Realm of bare names  [default: default]")
@click.option("--space", metavar="NAME", help="Space of bare names  [default: default]")
@click.option("--stack", metavar="NAME", help="Stack of bare names  [default: default]")
@click.pass_context
def cli(
    ctx: click.Context,
    socket: str | None,
    realm: str | None,
    space: str | None,
    stack: str | None,
) -> None:
    """kuke: drive kukeond, the single-host container orchestrator."""
    given = {"realm": realm, "space": space, "stack": stack}
    scope = Scope(
        realm or DEFAULT,
        space or DEFAULT,
        stack or DEFAULT,
        frozenset(k for k, v in given.items() if v),
    )
    state = ctx.ensure_object(CliContext)
    state.socket, state.scope = socket, scope
    ctx.call_on_close(state.close)


for command in (
    apply.apply,
    apply.diff,
    apply.delete,
    apply.prune,
    get.get,
    get.describe,
    observe.logs,
    observe.events,
    observe.status,
    lifecycle.start,
    lifecycle.stop,
    lifecycle.restart,
    image.image,
    git.git,
    host.validate,
    export.export,
    host.doctor,
    host.version,
    host.completion,
):
    cli.add_command(command)


def entry() -> None:
    try:
        cli.main(prog_name="kuke")
    except KeyboardInterrupt:  # outside a command (while parsing): still no traceback
        sys.exit(130)
