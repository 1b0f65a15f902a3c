"""Errors that carry where they came from and what to do about them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a piece of a manifest came from."""

    file: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return where


class KukeonError(Exception):
    """Base of every error kukeon reports to a user."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message + (f" ({self.hint})" if self.hint else "")


class ManifestError(KukeonError):
    """A manifest that cannot be used; names file, line and field."""

    def __init__(self, location: Location, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.location = location

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        return text + (f" ({self.hint})" if self.hint else "")


class ManifestErrors(KukeonError):
    """Every error found in one input, reported together."""

    def __init__(self, errors: list[ManifestError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors
