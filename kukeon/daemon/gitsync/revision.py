"""One revision of a git source: its manifest files, loaded all together. A revision is
used whole or not at all, so its errors name the file (relative to the repository), the
line and the commit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kukeon.manifests import load_texts, manifest_files
from kukeon.model.errors import ManifestError
from kukeon.model.resources import AnyResource


@dataclass(frozen=True)
class Revision:
    commit: str
    files: dict[str, str]  # path in the repository -> text
    resources: tuple[AnyResource, ...] = ()
    warnings: tuple[ManifestError, ...] = ()
    errors: tuple[ManifestError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_text(self) -> str:
        return "\n".join(f"commit {self.commit[:12]}: {e}" for e in self.errors)


def read_checkout(root: Path, path: str) -> dict[str, str]:
    """The manifest files under ``root/path`` as {repository path: text}. Symlinks are
    skipped: a repository must not make kukeond read files outside its checkout (os.walk
    does not enter symlinked directories, and git never resolves ``path`` through one)."""
    base = root / path if path else root
    files: dict[str, str] = {}
    for file in manifest_files(base):
        if file.is_symlink():
            continue
        files[str(file.relative_to(root))] = file.read_bytes().decode("utf-8", errors="replace")
    return files


def load_revision(commit: str, files: dict[str, str]) -> Revision:
    """Load every file as one input: the same resource declared in two files is an error
    too. Resources that load are kept beside errors; a sync refuses a revision that is not
    ok, and restoring a last good one keeps what a stricter kukeond still accepts."""
    result = load_texts(files, salvage=True)
    return Revision(commit, files, result.resources, result.warnings, result.errors)
