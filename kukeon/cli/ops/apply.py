"""apply, diff, delete and prune: sending manifests, showing the plan, waiting for it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kukeon.cli.output import DONE_PHASES, Out, print_plan, print_warnings
from kukeon.cli.refs import BadArgument, Scope, show_ref, split_ref

if TYPE_CHECKING:
    from kukeon.api import kukeon_pb2 as pb
    from kukeon.api.client import Client

POLL_INTERVAL = 0.5


@dataclass(frozen=True)
class WaitOptions:
    timeout: float = 120.0
    interval: float = POLL_INTERVAL
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class ApplyOptions:
    files: tuple[str, ...]
    recursive: bool = False
    dry_run: bool = False
    wait: bool = False
    prune: bool = False
    prune_set: str = ""
    waiting: WaitOptions = field(default_factory=WaitOptions)


@dataclass(frozen=True)
class DiffOptions:
    files: tuple[str, ...] = ()
    recursive: bool = False


@dataclass(frozen=True)
class DeleteOptions:
    kind: str | None = None
    names: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    recursive: bool = False
    scope: Scope = field(default_factory=Scope)
    wait: bool = False
    waiting: WaitOptions = field(default_factory=WaitOptions)


@dataclass(frozen=True)
class PruneOptions:
    unowned: bool = False
    dry_run: bool = False
    confirm_empty: bool = False


def read_documents(files: Sequence[str], recursive: bool, out: Out) -> list[tuple[str, str]]:
    """(name, text) of every file named: ``-`` is stdin, a directory its manifest files."""
    docs: list[tuple[str, str]] = []
    for name in files:
        if name == "-":
            docs.append(("-", out.stdin.read()))
            continue
        path = Path(name)
        if path.is_dir():
            # Imported here: the loader pulls in jsonschema, which plain files do not need.
            from kukeon.manifests import manifest_files

            found = manifest_files(path, recursive=recursive)
            if not found:
                raise BadArgument(
                    f"{name}: no manifest files (*.yaml, *.yml, *.json)",
                    hint="use -R for subdirectories" if not recursive else None,
                )
            docs.extend((str(f), _read(f)) for f in found)
        else:
            docs.append((name, _read(path)))
    return docs


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadArgument(f"{path}: not UTF-8 text", hint="save it as UTF-8") from None
    except OSError as exc:
        raise BadArgument(f"cannot read {path}: {exc.strerror or exc}") from None


def run_apply(client: Client, opts: ApplyOptions, out: Out) -> int:
    docs = read_documents(opts.files, opts.recursive, out)
    reply = client.apply(docs, dry_run=opts.dry_run, prune=opts.prune, prune_set=opts.prune_set)
    print_warnings(reply.warnings, out)
    suffix = " (dry run)" if opts.dry_run else ""
    for word, names in (
        ("configured", reply.applied),
        ("unchanged", reply.unchanged),
        ("pruned", reply.pruned),
    ):
        for name in names:
            out.echo(f"{show_ref(name)} {word}{suffix}")
    if opts.dry_run:
        print_plan(reply.plan, out)
        return 0
    if not opts.wait:
        return 0
    refs = [*reply.applied, *reply.unchanged]
    cells = [split_ref(r)[1] for r in refs if split_ref(r)[0] == "Cell"]
    targets = cells or [split_ref(r)[1] for r in refs]
    return wait_ready(client, targets, reply.pass_number, opts.waiting, out)


def wait_ready(
    client: Client, paths: Sequence[str], after_pass: int, opts: WaitOptions, out: Out
) -> int:
    """Poll until every path was observed after ``after_pass`` in a settled phase."""
    deadline = opts.now() + opts.timeout
    while True:
        by_path = {r.path: r for r in client.list().resources}
        pending = [p for p in paths if not _settled(by_path.get(p), after_pass)]
        if not pending:
            out.done()
            failed = [by_path[p] for p in paths if by_path[p].phase == "Failed"]
            for r in failed:
                out.warn(f"{r.kind.lower()}/{r.path} failed: {_why(r)}")
            if not failed:
                out.warn(f"{len(paths)} ready")
            return 1 if failed else 0
        if opts.now() >= deadline:
            out.done()
            out.warn(f"timed out after {opts.timeout:g}s; not ready:")
            for p in pending:
                seen = by_path.get(p)
                out.warn(f"  {p}: " + (_why(seen) if seen else "not reported by kukeond yet"))
            return 1
        head = by_path.get(pending[0])
        out.progress(
            f"waiting: {len(paths) - len(pending)}/{len(paths)} ready; "
            f"{pending[0]}: {head.phase if head else 'pending'}"
        )
        opts.sleep(opts.interval)


def _settled(r: pb.Resource | None, after_pass: int) -> bool:
    return r is not None and r.observed_pass > after_pass and r.phase in DONE_PHASES


def _why(r: pb.Resource) -> str:
    parts = [r.phase or "unknown", r.reason, r.message]
    return ": ".join(p for p in parts if p)


def run_diff(client: Client, opts: DiffOptions, out: Out) -> int:
    """Print the plan; exit 1 when the host differs from the manifests (as diff(1) does)."""
    docs = read_documents(opts.files, opts.recursive, out)
    reply = client.diff(docs)
    print_warnings(reply.warnings, out)
    print_plan(reply.plan, out)
    return 1 if reply.plan.actions or reply.plan.waiting else 0


def run_delete(client: Client, opts: DeleteOptions, out: Out) -> int:
    if opts.files:
        reply = client.delete(documents=read_documents(opts.files, opts.recursive, out))
    elif opts.kind and opts.names:
        kind = opts.kind
        reply = client.delete(paths=[opts.scope.expand(kind, n) for n in opts.names])
    else:
        raise BadArgument("nothing to delete", hint="kuke delete KIND NAME, or -f FILE")
    for ref in reply.deleted:
        out.echo(f"{show_ref(ref)} deleted")
    if not opts.wait:
        return 0
    return wait_gone(client, [split_ref(r)[1] for r in reply.deleted], opts.waiting, out)


def wait_gone(client: Client, paths: Sequence[str], opts: WaitOptions, out: Out) -> int:
    deadline = opts.now() + opts.timeout
    while True:
        present = {r.path for r in client.list().resources}
        left = [p for p in paths if p in present]
        if not left:
            out.done()
            return 0
        if opts.now() >= deadline:
            out.done()
            out.warn(f"timed out after {opts.timeout:g}s; still present: {', '.join(left)}")
            return 1
        out.progress(f"waiting: {len(left)} still present ({left[0]})")
        opts.sleep(opts.interval)


def run_prune(client: Client, opts: PruneOptions, out: Out) -> int:
    if not opts.unowned:
        raise BadArgument("say what to prune", hint="kuke prune --unowned [--dry-run]")
    reply = client.prune(
        unowned=opts.unowned, dry_run=opts.dry_run, confirm_empty=opts.confirm_empty
    )
    word = "would be pruned" if opts.dry_run else "pruned"
    for path in reply.paths:
        out.echo(f"{show_ref(path)} {word}")
    if not reply.paths:
        out.warn("nothing to prune")
    return 0
