"""What an export could not carry over faithfully, said next to where it happened."""

from __future__ import annotations

from dataclasses import dataclass, field

from kukeon.model.resources import AnyResource


@dataclass(frozen=True)
class Note:
    """One difference between a kukeon field and what Kubernetes will do with it.

    ``field`` is in the manifest's terms (``containers[web].resources.pidsLimit``) so a
    user finds it in their own file; ``origin`` is that file's ``path:line``.
    """

    resource: str  # "Cell default/default/default/web"
    origin: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.origin}: " if self.origin else ""
        return f"{where}{self.resource}: {self.field}: {self.message}"


@dataclass
class Notes:
    """Collects the notes of one resource while it is converted."""

    resource: AnyResource
    items: list[Note] = field(default_factory=list)

    def add(self, field_path: str, message: str) -> None:
        res = self.resource
        self.items.append(Note(f"{res.kind.value} {res.path}", res.origin, field_path, message))
