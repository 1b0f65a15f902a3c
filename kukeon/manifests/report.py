"""Collecting errors and warnings with file, line and field path."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from kukeon.manifests.yamlpos import Document, FieldPath
from kukeon.model.errors import Location, ManifestError

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def field_name(path: FieldPath) -> str:
    """``("spec", "containers", 0, "image")`` -> ``spec.containers[0].image``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f'["{part}"]'
    return out


def did_you_mean(word: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


class Reporter:
    """Errors and warnings of one document (or one item of a List)."""

    def __init__(self, source: str, doc: Document, prefix: FieldPath = ()) -> None:
        self.source = source
        self.doc = doc
        self.prefix = prefix
        self.errors: list[ManifestError] = []
        self.warnings: list[ManifestError] = []

    def location(self, path: FieldPath) -> Location:
        full = (*self.prefix, *path)
        return Location(self.source, self.doc.line_of(full), field_name(full) or None)

    @property
    def origin(self) -> str:
        return f"{self.source}:{self.doc.line_of(self.prefix)}"

    def error(self, path: FieldPath, message: str, hint: str) -> None:
        self.errors.append(ManifestError(self.location(path), message, hint=hint))

    def warn(self, path: FieldPath, message: str, hint: str) -> None:
        self.warnings.append(ManifestError(self.location(path), message, hint=hint))
