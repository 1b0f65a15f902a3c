"""start, stop and restart: persisted overrides the control loop honours."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kukeon.cli.output import Out
from kukeon.cli.refs import Scope, show_ref

if TYPE_CHECKING:
    from kukeon.api.client import Client

PAST = {"start": "started", "stop": "stopped", "restart": "restarted"}


@dataclass(frozen=True)
class TargetOptions:
    verb: str  # start | stop | restart
    names: tuple[str, ...]
    scope: Scope = field(default_factory=Scope)


def run_target(client: Client, opts: TargetOptions, out: Out) -> int:
    call = {"start": client.start, "stop": client.stop, "restart": client.restart}[opts.verb]
    for name in opts.names:
        path = opts.scope.expand("Cell", name)
        reply = call(path)
        for affected in reply.affected or [path]:
            out.echo(f"{show_ref(affected)} {PAST[opts.verb]}")
    return 0
