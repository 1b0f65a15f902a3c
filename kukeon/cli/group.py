"""The one place errors and return values become exit codes.

Exit codes: 0 ok, 1 failed, 2 usage or validation error, 130 interrupted.
"""

from __future__ import annotations

import os

import click

from kukeon.model.errors import KukeonError, ManifestError, ManifestErrors

DEBUG_ENV = "KUKE_DEBUG"


def exit_code(err: KukeonError) -> int:
    if isinstance(err, ManifestError | ManifestErrors):
        return 2
    code = getattr(err, "exit_code", 1)
    return code if isinstance(code, int) else 1


def report(err: KukeonError) -> None:
    """Print an error for a user: one line, or the problem lines as they are."""
    text = str(err)
    click.echo(text if "\n" in text else f"error: {text}", err=True)


class KukeonGroup(click.Group):
    """Turns what a command returns or raises into an exit code, with no traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            rv = super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, BrokenPipeError):
            raise  # click reports these itself (and handles a closed pipe quietly)
        except KeyboardInterrupt:
            click.echo(err=True)
            ctx.exit(130)
        except KukeonError as err:
            report(err)
            ctx.exit(exit_code(err))
        except Exception as err:
            if os.environ.get(DEBUG_ENV):
                raise
            click.echo(
                f"kuke: internal error: {type(err).__name__}: {err} "
                f"(run again with {DEBUG_ENV}=1 for the traceback, and report it)",
                err=True,
            )
            ctx.exit(1)
        if isinstance(rv, int) and not isinstance(rv, bool) and rv:
            ctx.exit(rv)
        return rv
