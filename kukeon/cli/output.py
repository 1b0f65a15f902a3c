"""Output: where text goes (stdout, stderr, progress) and how results are formatted."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

if TYPE_CHECKING:
    from kukeon.api import kukeon_pb2 as pb

API_VERSION = "v1beta1"
DONE_PHASES = frozenset({"Ready", "Failed", "Stopped"})


def plain(text: str, **_: Any) -> str:
    return text


@dataclass
class Out:
    """The terminal as an operation sees it; the click layer builds it (and its colours)."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    tty: bool = False  # stderr is a terminal: show progress lines
    style: Callable[..., str] = plain  # click.style on a colour terminal
    _progress: bool = False

    def echo(self, text: str = "") -> None:
        self._clear()
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def warn(self, text: str) -> None:
        self._clear()
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def write_bytes(self, data: bytes) -> None:
        buffer: BinaryIO | None = getattr(self.stdout, "buffer", None)
        if buffer is None:
            self.stdout.write(data.decode("utf-8", "replace"))
        else:
            self.stdout.flush()
            buffer.write(data)
            buffer.flush()

    def progress(self, text: str) -> None:
        """A line rewritten in place on a terminal; nothing elsewhere."""
        if self.tty:
            self.stderr.write("\r\x1b[K" + text)
            self.stderr.flush()
            self._progress = True

    def _clear(self) -> None:
        if self._progress:
            self.stderr.write("\r\x1b[K")
            self.stderr.flush()
            self._progress = False

    def done(self) -> None:
        self._clear()


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Columns aligned with two spaces between them; the last column is not padded."""
    body = [list(map(str, row)) for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    lines = []
    for row in [list(headers), *body]:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


def dump(obj: Any, fmt: str) -> str:
    """``obj`` as exact JSON or as YAML; ends with a newline."""
    if fmt == "json":
        return json.dumps(obj, indent=2) + "\n"
    import yaml

    return str(yaml.safe_dump(obj, sort_keys=False, default_flow_style=False))


def problem_text(p: pb.Problem) -> str:
    """A Problem as ``file:line: field: message (hint)``."""
    where = p.file + (f":{p.line}" if p.line else "")
    text = f"{where}: {p.field}: {p.message}" if p.field else f"{where}: {p.message}"
    return text + (f" ({p.hint})" if p.hint else "")


def print_warnings(warnings: Iterable[pb.Problem], out: Out) -> None:
    for w in warnings:
        out.warn("warning: " + problem_text(w))


def ref(resource: pb.Resource) -> str:
    """How kuke names a resource in its output: ``cell/default/default/default/web``."""
    return f"{resource.kind.lower()}/{resource.path}"


def dash(value: object) -> str:
    return str(value) if value not in ("", None) else "-"


def human_bytes(n: int) -> str:
    if n < 0:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    raise AssertionError("unreachable")


def clock(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def ago(ts: float, now: float | None = None) -> str:
    if not ts:
        return "never"
    seconds = int((now if now is not None else time.time()) - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{max(seconds, 0)}s ago"


def age(ts: float, now: float | None = None) -> str:
    """How long ago ``ts`` was, as kubectl's AGE column shows it ("-": unknown)."""
    if not ts:
        return "-"
    s = max(int((now if now is not None else time.time()) - ts), 0)
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if m < 10:
        return _two(m, "m", s % 60, "s")
    if h < 3:
        return f"{m}m"
    if h < 8:
        return _two(h, "h", m % 60, "m")
    if h < 48:
        return f"{h}h"
    if d < 8:
        return _two(d, "d", h % 24, "h")
    if d < 2 * 365:
        return f"{d}d"
    return _two(d // 365, "y", d % 365, "d") if d < 8 * 365 else f"{d // 365}y"


def _two(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}{small}{small_unit}" if small else f"{big}{big_unit}"


def container_doc(c: pb.ContainerStatus) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": c.name, "state": c.state}
    if c.pid:
        doc["pid"] = c.pid
    if c.has_exit_code:
        doc["exitCode"] = c.exit_code
    doc["restartCount"] = c.restart_count
    if c.image:
        doc["image"] = c.image
    if c.image_digest:
        doc["imageDigest"] = c.image_digest
    return doc


def resource_doc(r: pb.Resource) -> dict[str, Any]:
    """A resource as its v1beta1 manifest plus a ``status`` block (for -o yaml/json)."""
    import yaml

    doc: Any = yaml.safe_load(r.manifest) if r.manifest else None
    if not isinstance(doc, dict):  # implicit parents have no manifest of their own
        metadata: dict[str, Any] = {"name": r.name or r.path.rsplit("/", 1)[-1]}
        if r.labels:
            metadata["labels"] = dict(sorted(r.labels.items()))
        doc = {"apiVersion": API_VERSION, "kind": r.kind, "metadata": metadata}
    status: dict[str, Any] = {"path": r.path, "phase": r.phase}
    for key, value in (
        ("reason", r.reason),
        ("message", r.message),
        ("owner", r.owner),
        ("origin", r.origin),
        ("ip", r.ip),
    ):
        if value:
            status[key] = value
    if r.since:
        status["since"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.since))
    if r.stopped:
        status["stopped"] = True
    if r.memory_bytes >= 0 and r.kind == "Cell":
        status["memoryBytes"] = r.memory_bytes
    if r.pids >= 0 and r.kind == "Cell":
        status["pids"] = r.pids
    status["observedPass"] = r.observed_pass
    if r.containers:
        status["containers"] = [container_doc(c) for c in r.containers]
    doc["status"] = status
    return dict(doc)


def print_plan(plan: pb.Plan, out: Out) -> None:
    """One line per action: ``+`` creates, ``-`` deletes, ``~`` anything else."""
    for action in plan.actions:
        if action.op.startswith("create"):
            sign, colour = "+", "green"
        elif action.op.startswith("delete"):
            sign, colour = "-", "red"
        else:
            sign, colour = "~", "yellow"
        line = f"{sign} {action.op} {action.path}"
        if action.cause:
            line += f"  ({action.cause})"
        out.echo(out.style(line, fg=colour))
    for path in plan.unowned:
        line = f"! unowned {path}  (in no source; kuke prune --unowned deletes it)"
        out.echo(out.style(line, fg="magenta"))
    for held in plan.waiting:
        out.echo(out.style(f"  waiting {held}", fg="cyan"))
