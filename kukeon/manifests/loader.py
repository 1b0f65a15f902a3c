"""Loading manifests: text, files and directories -> model resources, errors, warnings."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kukeon.manifests import convert, schema
from kukeon.manifests.report import Reporter, did_you_mean, field_name
from kukeon.manifests.yamlpos import MAX_BYTES, Document, FieldPath, ParseProblem, parse
from kukeon.model.deps import describe_cycle, find_cycle
from kukeon.model.errors import Location, ManifestError, ManifestErrors
from kukeon.model.resources import AnyResource, Cell

API_VERSION = "v1beta1"
# Upstream kinds kukeon does not implement yet: skipped with a warning, not an error.
SKIPPED_KINDS = frozenset(
    {
        "Container",
        "Secret",
        "Volume",
        "CellBlueprint",
        "CellConfig",
        "CellProfile",
        "ServerConfiguration",
        "ClientConfiguration",
    }
)
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# Past this many errors an input is not read on: a flood of broken documents would
# otherwise cost time and memory in proportion.
MAX_ERRORS = 100


@dataclass(frozen=True)
class LoadResult:
    resources: tuple[AnyResource, ...] = ()
    warnings: tuple[ManifestError, ...] = ()
    errors: tuple[ManifestError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            raise ManifestErrors(list(self.errors))


class _Collector:
    def __init__(self) -> None:
        self.resources: list[AnyResource] = []
        self.warnings: list[ManifestError] = []
        self.errors: list[ManifestError] = []

    def add(self, rep: Reporter) -> None:
        self.errors.extend(sorted(rep.errors, key=_line))
        self.warnings.extend(sorted(rep.warnings, key=_line))

    def result(self, *, salvage: bool = False) -> LoadResult:
        """The final result; the same resource declared twice is an error here. With
        ``salvage``, resources that loaded are kept beside the errors of others."""
        first: dict[Any, AnyResource] = {}
        for res in self.resources:
            other = first.setdefault(res.path, res)
            if other is not res:
                file, _, line = res.origin.rpartition(":")
                self.errors.append(
                    ManifestError(
                        Location(file, int(line) if line.isdigit() else None, "metadata.name"),
                        f"{res.kind.value} {res.path} is declared twice "
                        f"(here and at {other.origin})",
                        hint="remove one of the two declarations, or rename one",
                    )
                )
        cells = [r for r in first.values() if isinstance(r, Cell)]
        cycle = find_cycle(cells)
        if cycle is not None:
            where = next(c for c in cells if c.path == cycle[0])
            file, _, line = where.origin.rpartition(":")
            self.errors.append(
                ManifestError(
                    Location(file, int(line) if line.isdigit() else None, "spec.dependsOn"),
                    f"dependsOn forms a cycle: {describe_cycle(cycle)}",
                    hint="remove one of the dependencies; nothing of this input is applied",
                )
            )
        by_path = {c.path: c for c in cells}
        for cell in cells:
            for dep in cell.depends_on:
                target = by_path.get(dep.cell)
                if dep.condition != "healthy" or target is None:
                    continue
                if not any(c.health_check for c in target.containers):
                    file, _, line = cell.origin.rpartition(":")
                    self.warnings.append(
                        ManifestError(
                            Location(file, int(line) if line.isdigit() else None,
                                     "spec.dependsOn"),
                            f"{cell.path.name} waits for {dep.cell.name} to be healthy, but "
                            f"{dep.cell.name} has no healthCheck: running counts as healthy",
                            hint=f"add a healthCheck to {dep.cell.name}, or use "
                            "condition: started",
                        )
                    )  # fmt: skip
        # All or nothing unless salvaging: no caller can apply the half of a file that
        # parsed before its broken part.
        resources = () if self.errors and not salvage else tuple(first.values())
        return LoadResult(resources, tuple(self.warnings), tuple(self.errors))


def _line(err: ManifestError) -> int:
    return err.location.line or 0


def _items(doc: Document) -> Iterator[tuple[Any, FieldPath]]:
    """The resource documents in ``doc``: itself, or the items of a List / JSON array."""
    data = doc.data
    if isinstance(data, list):
        for i, item in enumerate(data):
            yield item, (i,)
    elif isinstance(data, dict) and data.get("kind") == "List":
        items = data.get("items")
        yield from (
            ((item, ("items", i)) for i, item in enumerate(items))
            if isinstance(items, list)
            else [(data, ())]  # reported below as a List without items
        )
    else:
        yield data, ()


def _document(data: Any, rep: Reporter, out: _Collector) -> None:
    if not isinstance(data, dict):
        rep.error((), "a manifest document must be a mapping", "start with apiVersion: v1beta1")
        return
    kind = data.get("kind")
    if kind == "List":
        rep.error(("items",), "a List needs items: a list of resources", "add items: [...]")
        return
    version = data.get("apiVersion")
    if version != API_VERSION:
        what = "missing apiVersion" if version is None else f"apiVersion {version!r} is unknown"
        rep.error(("apiVersion",), what, f"set apiVersion: {API_VERSION}")
    if not isinstance(kind, str):
        rep.error(("kind",), "missing kind", "set kind: Realm, Space, Stack or Cell")
        return
    if kind in SKIPPED_KINDS:
        rep.warn(
            ("kind",),
            f"kind {kind} is not implemented yet by kukeon; this document is skipped",
            "remove it, or keep it for upstream kukeon",
        )
        return
    if kind not in schema.KIND_SCHEMAS:
        guess = did_you_mean(kind, [*schema.KIND_SCHEMAS, *SKIPPED_KINDS])
        rep.error(
            ("kind",),
            f"unknown kind {kind!r}",
            f"did you mean {guess!r}?" if guess else "use Realm, Space, Stack or Cell",
        )
        return
    if version != API_VERSION:
        return
    findings = schema.validate(kind, data)
    for f in findings:
        rep.error(f.path, f.message, f.hint)
    if findings:
        return
    for f in schema.unimplemented(kind, data):
        rep.warn(f.path, f.message, f.hint)
    resource = convert.convert(kind, data, rep)
    if not rep.errors:
        out.resources.append(resource)


def _load_text(text: str, source: str, out: _Collector) -> None:
    before = len(out.errors)
    try:
        for doc in parse(text):
            for data, prefix in _items(doc):
                if len(out.errors) - before >= MAX_ERRORS:
                    out.errors.append(
                        ManifestError(
                            Location(source, doc.line_of(prefix), None),
                            f"more than {MAX_ERRORS} errors: the rest of this input is not read",
                            hint="fix these first",
                        )
                    )
                    return
                rep = Reporter(source, doc, prefix)
                _document(data, rep, out)
                out.add(rep)
    except ParseProblem as problem:
        out.errors.append(
            ManifestError(
                Location(source, problem.line, field_name(problem.path) or None),
                problem.message,
                hint=problem.hint,
            )
        )


def load_text(text: str, source: str, *, salvage: bool = False) -> LoadResult:
    """Load every document of ``text``; ``source`` names it in errors (a path, or "-").

    Any error means no resources, unless ``salvage``: restoring a last good copy that a
    stricter kukeond no longer fully accepts keeps what still loads, so an upgrade
    prunes nothing."""
    return load_texts({source: text}, salvage=salvage)


def load_texts(texts: Mapping[str, str], *, salvage: bool = False) -> LoadResult:
    """Load named texts (in name order) as one input, as :func:`load_text` does one."""
    out = _Collector()
    for source in sorted(texts):
        _load_text(texts[source], source, out)
    return out.result(salvage=salvage)


def _load_file(path: Path, out: _Collector) -> None:
    try:
        # O_NONBLOCK: a FIFO named *.yaml must not stall the loader on open()
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            out.errors.append(
                ManifestError(Location(str(path)), "not a regular file", hint="remove it")
            )
            return
        with open(fd, encoding="utf-8") as f:
            text = f.read(MAX_BYTES + 1)  # parse() refuses more: never read a huge file whole
    except UnicodeDecodeError as exc:
        out.errors.append(
            ManifestError(
                Location(str(path)), f"not UTF-8 text ({exc.reason})", hint="save it as UTF-8"
            )
        )
        return
    except OSError as exc:
        out.errors.append(
            ManifestError(
                Location(str(path)),
                f"cannot read: {exc.strerror or exc}",
                hint="check that the file exists and is readable",
            )
        )
        return
    _load_text(text, str(path), out)


def load_file(path: Path) -> LoadResult:
    out = _Collector()
    _load_file(path, out)
    return out.result()


def is_manifest_name(name: str) -> bool:
    """Whether a directory entry is a manifest (not hidden, backup, swap or temp)."""
    return (
        not name.startswith(".")
        and not name.endswith(("~", ".swp", ".tmp"))
        and name.endswith(MANIFEST_SUFFIXES)
    )


def manifest_files(directory: Path, *, recursive: bool = True) -> list[Path]:
    """Manifest files under ``directory``, sorted; hidden directories are skipped."""
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        found.extend(Path(root) / f for f in files if is_manifest_name(f))
    return sorted(found)


def load_paths(paths: Sequence[Path], *, recursive: bool = True) -> LoadResult:
    """Load files and directories (a directory: its manifest files, sorted)."""
    out = _Collector()
    for path in paths:
        if path.is_dir():
            for file in manifest_files(path, recursive=recursive):
                _load_file(file, out)
        else:
            _load_file(path, out)
    return out.result()
