"""What every command shares: the global options, a lazily dialled client, the terminal."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kukeon.cli.output import Out, plain
from kukeon.cli.refs import KIND_WORDS, Scope

if TYPE_CHECKING:
    from kukeon.api.client import Client

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliContext:
    socket: str | None = None
    scope: Scope = field(default_factory=Scope)
    _client: Client | None = None

    def client(self) -> Client:
        """The API client; grpc is imported only by commands that talk to the daemon."""
        if self._client is None:
            from kukeon.api.client import Client

            self._client = Client(self.socket)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def make_out() -> Out:
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    return Out(
        stdout=sys.stdout,
        stderr=sys.stderr,
        stdin=sys.stdin,
        tty=sys.stderr.isatty(),
        style=click.style if colour else plain,
    )


class Duration(click.ParamType):  # type: ignore[type-arg]  # generic only in stubs
    """Seconds, as ``90``, ``90s``, ``2m`` or ``1h``."""

    name = "duration"
    _UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", str(value).strip())
        if not match:
            self.fail(f"{value!r} is not a duration (e.g. 90s, 2m)", param, ctx)
        return float(match.group(1)) * self._UNITS[match.group(2)]


def file_options(help_text: str, *, required: bool = True) -> Callable[[F], F]:
    """-f/--filename (repeatable) and -R/--recursive, shared by apply, diff, delete, status."""

    def decorate(fn: F) -> F:
        fn = click.option(
            "-R", "--recursive", is_flag=True, help="Also read the subdirectories of a DIR."
        )(fn)
        return click.option(
            "-f",
            "--filename",
            "files",
            multiple=True,
            required=required,
            metavar="FILE|DIR|-",
            type=click.Path(allow_dash=True),
            help=help_text,
        )(fn)

    return decorate


def complete_kind(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return [w for w in KIND_WORDS if w.startswith(incomplete)]
