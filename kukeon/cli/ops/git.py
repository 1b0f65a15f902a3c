"""git add, ls, rm, sync and status: formatting what kukeond says about its git sources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kukeon.cli.output import Out, ago, clock, dash, dump, table

if TYPE_CHECKING:
    from kukeon.api import kukeon_pb2 as pb
    from kukeon.api.client import Client


@dataclass(frozen=True)
class AddOptions:
    name: str
    url: str
    branch: str = ""
    tag: str = ""
    path: str = ""
    interval: float = 60.0
    suspend: bool = False
    credentials_file: str = ""
    no_wait: bool = False
    timeout: float = 60.0


def run_add(client: Client, opts: AddOptions, out: Out) -> int:
    from kukeon.api import kukeon_pb2 as pb

    spec = pb.GitSourceSpec(
        name=opts.name,
        url=opts.url,
        branch=opts.branch,
        tag=opts.tag,
        path=opts.path,
        interval_seconds=opts.interval,
        suspend=opts.suspend,
        credentials_file=opts.credentials_file,
    )
    src = client.git_add(spec, wait=not opts.no_wait, timeout=opts.timeout)
    out.echo(f"git:{opts.name} added")
    return 0 if opts.no_wait else _report_sync(src, out)


def run_sync(client: Client, name: str, timeout: float, out: Out) -> int:
    return _report_sync(client.git_sync(name, timeout=timeout), out)


def _report_sync(src: pb.GitSource, out: Out) -> int:
    name = f"git:{src.spec.name}"
    if src.syncing:
        out.warn(f"{name}: still syncing; see kuke git status {src.spec.name}")
        return 1
    if src.last_error:
        out.warn(src.last_error)
        return 1
    out.echo(f"{name} at {short(src.applied_revision)} ({src.resources} resources)")
    return 0


def run_rm(client: Client, name: str, out: Out) -> int:
    client.git_remove(name)
    out.echo(f"git:{name} removed; what it declared is being deleted")
    return 0


def run_ls(client: Client, output: str, out: Out) -> int:
    sources = list(client.git_list().sources)
    if output != "table":
        out.stdout.write(dump([source_doc(s) for s in sources], output))
        return 0
    if not sources:
        out.warn("No git sources (kuke git add NAME URL).")
        return 0
    rows = [
        [
            s.spec.name,
            s.spec.url,
            ref(s.spec),
            s.spec.path or "/",
            "suspended" if s.spec.suspend else f"{s.spec.interval_seconds:g}s",
            short(s.applied_revision),
            "error" if s.last_error else "ok",
        ]
        for s in sources
    ]
    for line in table(["NAME", "URL", "REF", "PATH", "INTERVAL", "APPLIED", "STATE"], rows):
        out.echo(line)
    return 0


def run_status(client: Client, name: str, output: str, out: Out) -> int:
    sources = [client.git_status(name)] if name else list(client.git_list().sources)
    if name == "" and output == "table":  # the list has no history: ask for each
        sources = [client.git_status(s.spec.name) for s in sources]
    if output != "table":
        docs = [source_doc(s) for s in sources]
        out.stdout.write(dump(docs[0] if name else docs, output))
        return 0
    if not sources:
        out.warn("No git sources (kuke git add NAME URL).")
    for i, s in enumerate(sources):
        if i:
            out.echo()
        for line in _status_lines(s):
            out.echo(line)
    return 0


def _status_lines(s: pb.GitSource) -> list[str]:
    spec = s.spec
    every = "suspended" if spec.suspend else f"every {spec.interval_seconds:g}s"
    lines = [f"git:{spec.name}  {spec.url}  {ref(spec)}  path {spec.path or '/'}  {every}"]
    for what, rev, at in (
        ("applied", s.applied_revision, s.applied_at),
        ("fetched", s.fetched_revision, s.fetched_at),
        ("attempted", s.attempted_revision, s.attempted_at),
    ):
        lines.append(f"  {what:<10} {short(rev):<12}  {clock(at)} ({ago(at)})")
    lines.append(f"  resources  {s.resources}")
    if s.syncing:
        lines.append("  syncing now")
    if s.last_error:
        first, *rest = s.last_error.splitlines()
        lines.append(f"  error      {first}  ({ago(s.error_at)})")
        lines.extend(f"             {line}" for line in rest)
    lines.extend(f"  conflict   {c}" for c in s.conflicts)
    if s.history:
        lines.append("  history")
        lines.extend(f"    {clock(h.time)}  {short(h.revision)}  {h.result}" for h in s.history)
    return lines


def source_doc(s: pb.GitSource) -> dict[str, Any]:
    spec = s.spec
    doc: dict[str, Any] = {
        "name": spec.name,
        "url": spec.url,
        ("tag" if spec.tag else "branch"): spec.tag or spec.branch,
        "path": spec.path,
        "interval": spec.interval_seconds,
        "suspend": spec.suspend,
        "origin": s.origin,
        "applied": {"revision": s.applied_revision, "at": s.applied_at},
        "fetched": {"revision": s.fetched_revision, "at": s.fetched_at},
        "attempted": {"revision": s.attempted_revision, "at": s.attempted_at},
        "resources": s.resources,
        "lastSyncSeconds": s.last_sync_seconds,
    }
    if spec.credentials_file:
        doc["credentialsFile"] = spec.credentials_file
    if s.last_error:
        doc["error"] = {"message": s.last_error, "at": s.error_at}
    if s.conflicts:
        doc["conflicts"] = list(s.conflicts)
    if s.history:
        doc["history"] = [
            {"time": h.time, "revision": h.revision, "result": h.result} for h in s.history
        ]
    return doc


def ref(spec: pb.GitSourceSpec) -> str:
    return f"tag {spec.tag}" if spec.tag else f"branch {spec.branch}"


def short(revision: str) -> str:
    return dash(revision[:12])
