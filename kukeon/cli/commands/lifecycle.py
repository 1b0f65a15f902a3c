"""start, stop, restart."""

from __future__ import annotations

import click

from kukeon.cli.context import CliContext, make_out, pass_cli


def _target_command(verb: str, summary: str) -> click.Command:
    @click.command(verb, help=summary)
    @click.argument("cells", nargs=-1, required=True, metavar="CELL...")
    @pass_cli
    def command(cli: CliContext, cells: tuple[str, ...]) -> int:
        from kukeon.cli.ops.lifecycle import TargetOptions, run_target

        return run_target(cli.client(), TargetOptions(verb, cells, cli.scope), make_out())

    return command


start = _target_command("start", "Start cells again (clears a kuke stop).")
stop = _target_command("stop", "Stop cells and keep them stopped until kuke start.")
restart = _target_command("restart", "Restart the containers of cells.")
