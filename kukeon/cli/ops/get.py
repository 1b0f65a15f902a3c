"""get and describe: resources as tables, names, YAML/JSON documents, or in detail."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kukeon.cli.output import (
    API_VERSION,
    Out,
    age,
    clock,
    dash,
    dump,
    human_bytes,
    ref,
    resource_doc,
    table,
)
from kukeon.cli.refs import KINDS, Scope

if TYPE_CHECKING:
    from kukeon.api import kukeon_pb2 as pb
    from kukeon.api.client import Client

DESCRIBE_EVENTS = 20


@dataclass(frozen=True)
class GetOptions:
    kind: str | None  # None: every kind
    name: str | None = None
    output: str = "table"
    all_realms: bool = False
    scope: Scope = field(default_factory=Scope)


@dataclass(frozen=True)
class DescribeOptions:
    kind: str
    name: str
    scope: Scope = field(default_factory=Scope)


def run_get(client: Client, opts: GetOptions, out: Out) -> int:
    if opts.name is not None:
        kind = opts.kind or "Cell"
        resources = [client.get(opts.scope.expand(kind, opts.name), kind)]
    else:
        # Realms are the top of the tree: listing them is never narrowed to one realm.
        prefix = "" if opts.kind == "Realm" else opts.scope.list_prefix(opts.all_realms)
        resources = list(client.list(kind=opts.kind or "", prefix=prefix).resources)
    if opts.output in ("json", "yaml"):
        docs = [resource_doc(r) for r in resources]
        obj = docs[0] if opts.name is not None else _list_doc(docs)
        out.stdout.write(dump(obj, opts.output))
        return 0
    if opts.output == "name":
        for r in resources:
            out.echo(ref(r))
        return 0
    kinds = [opts.kind] if opts.kind else list(KINDS)
    printed = False
    for kind in kinds:
        group = sorted((r for r in resources if r.kind == kind), key=lambda r: r.path)
        if not group:
            continue
        if printed:
            out.echo()
        for line in _table(kind, group, wide=opts.output == "wide"):
            out.echo(line)
        printed = True
    if not printed:
        where = "on this host" if opts.all_realms else f"in realm {opts.scope.realm}"
        what = (opts.kind.lower() + "s") if opts.kind else "resources"
        out.warn(f"No {what} found {where}.")
    return 0


def _list_doc(items: list[dict[str, object]]) -> dict[str, object]:
    return {"apiVersion": API_VERSION, "kind": "List", "items": items}


def _table(kind: str, resources: Sequence[pb.Resource], *, wide: bool) -> list[str]:
    parents = ("REALM", "SPACE", "STACK")[: KINDS.index(kind)]
    headers = ["NAME", *parents, "PHASE"]
    if kind == "Cell":
        headers += ["CONTAINERS", "RESTARTS", "IP"]
    headers += ["OWNER", "AGE"]
    if wide:
        headers += (["MEMORY", "PIDS"] if kind == "Cell" else []) + ["REASON", "ORIGIN"]
    rows = []
    now = time.time()
    for r in resources:
        segments = r.path.split("/")
        row = [r.name or segments[-1], *segments[: len(parents)], _phase(r)]
        if kind == "Cell":
            ready = sum(1 for c in r.containers if c.state == "running")
            restarts = sum(c.restart_count for c in r.containers)
            row += [f"{ready}/{len(r.containers)}", str(restarts), dash(r.ip)]
        row += [dash(r.owner), age(r.since, now)]
        if wide:
            if kind == "Cell":
                row += [human_bytes(r.memory_bytes), _count(r.pids)]
            row += [dash(r.reason), dash(r.origin)]
        rows.append(row)
    return table(headers, rows)


def _phase(r: pb.Resource) -> str:
    # A stop override the loop is still carrying out shows next to the phase.
    return f"{r.phase} (stopping)" if r.stopped and r.phase != "Stopped" else dash(r.phase)


def _count(n: int) -> str:
    return str(n) if n >= 0 else "-"


def run_describe(client: Client, opts: DescribeOptions, out: Out) -> int:
    r = client.get(opts.scope.expand(opts.kind, opts.name), opts.kind)
    fields = [
        ("Name", r.name or r.path.rsplit("/", 1)[-1]),
        ("Kind", r.kind),
        ("Path", r.path),
        ("Phase", r.phase),
        ("Reason", r.reason),
        ("Message", r.message),
        ("Owner", r.owner),
        ("Origin", r.origin),
        ("IP", r.ip),
        ("Memory", human_bytes(r.memory_bytes) if r.memory_bytes >= 0 else ""),
        ("Pids", str(r.pids) if r.pids >= 0 else ""),
        ("Stopped", "yes (kuke start resumes it)" if r.stopped else ""),
        ("Labels", ", ".join(f"{k}={v}" for k, v in sorted(r.labels.items()))),
    ]
    for label, value in fields:
        if value:
            out.echo(f"{label + ':':<10}{value}")
    if r.containers:
        out.echo("Containers:")
        rows = [
            [
                c.name,
                c.state,
                str(c.pid) if c.pid else "-",
                str(c.exit_code) if c.has_exit_code else "-",
                str(c.restart_count),
                dash(c.image),
            ]
            for c in r.containers
        ]
        for line in table(["NAME", "STATE", "PID", "EXIT", "RESTARTS", "IMAGE"], rows):
            out.echo("  " + line)
    if r.manifest:
        out.echo("Manifest:")
        for line in r.manifest.rstrip("\n").splitlines():
            out.echo("  " + line)
    events = list(client.events(prefix=r.path, limit=DESCRIBE_EVENTS))
    out.echo("Events:" if events else "Events:   <none>")
    if events:
        rows = [[clock(e.time), e.type, e.reason, e.message] for e in events]
        for line in table(["TIME", "TYPE", "REASON", "MESSAGE"], rows):
            out.echo("  " + line)
    return 0
