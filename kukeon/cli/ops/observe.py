"""logs, events and status: what the host and its cells are doing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kukeon.cli.output import Out, ago, clock, dash, table
from kukeon.cli.refs import Scope

if TYPE_CHECKING:
    from kukeon.api import kukeon_pb2 as pb
    from kukeon.api.client import Client


@dataclass(frozen=True)
class LogsOptions:
    cell: str
    container: str = ""
    follow: bool = False
    tail: int = 0
    scope: Scope = field(default_factory=Scope)


@dataclass(frozen=True)
class EventsOptions:
    follow: bool = False
    prefix: str = ""
    limit: int = 0
    output: str = "table"  # table | json


@dataclass(frozen=True)
class StatusOptions:
    files: tuple[str, ...] = ()
    recursive: bool = False


def run_logs(client: Client, opts: LogsOptions, out: Out) -> int:
    path = opts.scope.expand("Cell", opts.cell)
    for chunk in client.logs(path, container=opts.container, follow=opts.follow, tail=opts.tail):
        out.write_bytes(chunk.data)
    return 0


_EVENT_HEADERS = ("TIME", "TYPE", "PATH", "REASON", "MESSAGE")


def _event_row(e: pb.Event) -> list[str]:
    return [clock(e.time), e.type, dash(e.path), e.reason, e.message]


def run_events(client: Client, opts: EventsOptions, out: Out) -> int:
    stream = client.events(follow=opts.follow, prefix=opts.prefix, limit=opts.limit)
    if opts.output == "json":  # one JSON object per line, so -w output can be piped
        for e in stream:
            out.echo(json.dumps(_event_doc(e)))
        return 0
    if not opts.follow:
        rows = [_event_row(e) for e in stream]
        for line in table(_EVENT_HEADERS, rows) if rows else []:
            out.echo(line)
        if not rows:
            out.warn("No events.")
        return 0
    # Following: widths cannot be known in advance, so the first columns are fixed.
    widths = (19, 7, 36, 18)
    header = [h.ljust(w) for h, w in zip(_EVENT_HEADERS, widths, strict=False)]
    out.echo("  ".join([*header, "MESSAGE"]))
    for e in stream:
        row = _event_row(e)
        out.echo("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]))
    return 0


def _event_doc(e: pb.Event) -> dict[str, object]:
    return {
        "id": e.id,
        "time": e.time,
        "type": e.type,
        "path": e.path,
        "reason": e.reason,
        "message": e.message,
    }


def run_status(client: Client, opts: StatusOptions, out: Out) -> int:
    if opts.files:
        return _status_of_files(client, opts, out)
    s = client.status()
    when = f"{ago(s.last_pass_at)}, " if s.last_pass_at else ""
    last = (
        f"#{s.pass_number}, {when}took {s.last_pass_seconds:.2f}s, "
        f"{s.last_pass_actions} actions, {s.last_pass_errors} errors"
        if s.pass_number
        else "none yet"
    )
    phases = ", ".join(f"{n} {phase}" for phase, n in sorted(s.phases.items())) or "none"
    bad_sources = [src for src in s.sources if src.error]
    lines = [
        ("instance", s.instance),
        ("containerd", dash(s.containerd)),
        ("cgroups", dash(s.cgroup_mode)),
        ("last pass", last),
        ("cells", phases),
        ("sources", f"{len(s.sources)} ({len(bad_sources)} with errors)"),
        ("pending", f"{len(s.pending.actions)} actions, {len(s.pending.waiting)} held back"),
        ("conflicts", str(len(s.conflicts))),
        ("unowned", str(len(s.pending.unowned))),
    ]
    for label, value in lines:
        out.echo(f"{label + ':':<12}{value}")
    for src in bad_sources:
        out.echo(f"  source {src.name}: {src.error}")
    for conflict in s.conflicts:
        out.echo(f"  conflict: {conflict}")
    for path in s.pending.unowned:
        out.echo(f"  unowned: {path}  (kuke prune --unowned deletes it)")
    for held in s.pending.waiting:
        out.echo(f"  waiting: {held}")
    return 0


def _status_of_files(client: Client, opts: StatusOptions, out: Out) -> int:
    """What became of each resource a file declares: applied (by whom), phase, or errors."""
    from kukeon.api.client import ApiError
    from kukeon.manifests import load_paths

    loaded = load_paths([Path(f) for f in opts.files], recursive=opts.recursive)
    for err in loaded.errors:
        out.warn(str(err))
    rows = []
    missing = failed = 0
    for res in loaded.resources:
        try:
            r = client.get(str(res.path), res.kind.value)
        except ApiError as err:
            if err.code != "NOT_FOUND":
                raise
            missing += 1
            rows.append([f"{res.kind.value.lower()}/{res.path}", res.origin, "not applied", "-"])
            continue
        failed += r.phase == "Failed"
        why = ": ".join(p for p in (r.phase, r.reason) if p)
        rows.append([f"{res.kind.value.lower()}/{res.path}", res.origin, dash(r.owner), dash(why)])
    if rows:
        for line in table(["RESOURCE", "DECLARED", "OWNER", "PHASE"], rows):
            out.echo(line)
    # A file in the manifests dir that broke keeps its last good content: say so.
    names = {str(Path(f)) for f in opts.files}
    for src in client.status().sources:
        source_file = src.name.removeprefix("file:")
        if src.error and any(n == source_file or n.endswith("/" + source_file) for n in names):
            out.warn(f"source {src.name}: {src.error} (its last good content stays in force)")
    if loaded.errors:
        return 2
    return 1 if missing or failed else 0
