"""Where desired state comes from: the manifests directory (one source per file), the
API (documents applied with ``kuke apply``) and git. Each source keeps its last good
content: a file that turns invalid keeps what it declared before in force."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kukeon.manifests import load_text, manifest_files
from kukeon.model.encode import to_manifest
from kukeon.model.identity import ResourcePath
from kukeon.model.resources import AnyResource
from kukeon.reconcile.desired import DesiredState, merge
from kukeon.store.db import Store

API = "api"
FILE_PREFIX = "file:"
SUSPICIOUS_MIN = 3  # a directory that drops from this many resources to none is held


@dataclass
class Source:
    name: str
    resources: tuple[AnyResource, ...] = ()
    error: str = ""  # the latest load's errors; the resources above are the last good ones
    warnings: tuple[str, ...] = ()
    revision: str = ""


@dataclass
class Sources:
    store: Store
    manifests_dir: Path
    files: dict[str, Source] = field(default_factory=dict)  # name -> source
    api: dict[ResourcePath, AnyResource] = field(default_factory=dict)
    held_empty: str = ""  # why a now-empty directory is not pruned
    claims: dict[ResourcePath, str] = field(default_factory=dict)
    named: dict[str, Source] = field(default_factory=dict)  # fed from elsewhere: git:<name>
    confirm_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _desired: DesiredState | None = None

    # -- loading ------------------------------------------------------------------------
    async def load(self) -> None:
        """At start: last good copies from the store (what of them still loads), then the
        directory as it is now."""
        for doc in await self.store.documents(FILE_PREFIX):
            result = load_text(doc.content, doc.source.removeprefix(FILE_PREFIX), salvage=True)
            self.files[doc.source] = Source(
                doc.source,
                result.resources,
                error="\n".join(str(e) for e in result.errors),
                revision=_digest(doc.content),
            )
        for doc in await self.store.documents(API):
            result = load_text(doc.content, f"api:{doc.key}", salvage=True)
            for res in result.resources:
                self.api[res.path] = res
        self.claims = {
            ResourcePath.parse(p): c.source for p, c in (await self.store.inventory()).items()
        }
        await self.rescan(None)

    async def rescan(self, changed: set[Path] | None) -> bool:
        """Reload changed files (None: all). Returns whether desired state may have moved."""
        self.manifests_dir.mkdir(parents=True, exist_ok=True)
        on_disk = {self._name(p): p for p in manifest_files(self.manifests_dir)}
        if changed is None:
            targets = set(on_disk) | set(self.files)
        else:
            targets = {self._name(p) for p in changed if self._inside(p)}
        before = sum(len(s.resources) for s in self.files.values())
        gone = [n for n in targets if n not in on_disk and n in self.files]
        if gone and len(gone) == len(self.files) and not on_disk and before >= SUSPICIOUS_MIN:
            self.held_empty = (
                f"{self.manifests_dir} suddenly declares nothing (it declared {before} "
                "resources); nothing is pruned until `kuke prune --confirm-empty`"
            )
            return False
        moved = False
        for name in sorted(targets):
            path = on_disk.get(name)
            if path is None:
                if self.files.pop(name, None) is not None:
                    await self.store.delete_document(name, "")
                    moved = True
                continue
            moved |= await self._reload(name, path)
        if moved:
            self._desired = None
        return moved

    async def confirm_empty(self) -> None:
        for hook in self.confirm_hooks:  # named sources hold their own empty revisions
            await hook()
        self.held_empty = ""
        for name in [
            n for n in self.files if not (self.manifests_dir / n[len(FILE_PREFIX) :]).exists()
        ]:
            del self.files[name]
            await self.store.delete_document(name, "")
        self._desired = None

    async def _reload(self, name: str, path: Path) -> bool:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            self.files.setdefault(name, Source(name)).error = f"{path}: cannot read: {err}"
            return False
        digest = _digest(text)
        src = self.files.get(name)
        if src is not None and src.revision == digest and not src.error:
            return False
        result = load_text(text, str(path))
        if src is None:
            src = self.files[name] = Source(name)
        src.warnings = tuple(str(w) for w in result.warnings)
        if not result.ok:
            src.error = "\n".join(str(e) for e in result.errors)
            return False
        src.error = ""
        src.resources = result.resources
        src.revision = digest
        await self.store.put_document(name, "", text)
        self.held_empty = ""
        return True

    def _name(self, path: Path) -> str:
        try:
            rel = path.relative_to(self.manifests_dir)
        except ValueError:
            rel = path
        return FILE_PREFIX + str(rel)

    def _inside(self, path: Path) -> bool:
        return path.is_relative_to(self.manifests_dir)

    # -- the API source -----------------------------------------------------------------
    async def apply_api(self, resources: Iterable[AnyResource]) -> tuple[list[str], list[str]]:
        """Upsert API resources; returns (changed, unchanged) paths."""
        changed, unchanged = [], []
        for res in resources:
            if self.api.get(res.path) == res:
                unchanged.append(str(res.path))
                continue
            # the store first: a failed write (full disk) must leave memory unchanged too
            await self.store.put_document(API, str(res.path), json.dumps(to_manifest(res)))
            self.api[res.path] = res
            self._desired = None
            changed.append(str(res.path))
        return changed, unchanged

    async def delete_api(self, paths: Iterable[ResourcePath]) -> list[str]:
        deleted = []
        for path in paths:
            for p in [p for p in self.api if p.is_within(path)]:
                await self.store.delete_document(API, str(p))
                del self.api[p]
                self._desired = None
                deleted.append(str(p))
        return deleted

    # -- named sources (git): their owner feeds each one's last good content -----------
    def put_named(self, src: Source) -> None:
        self.named[src.name] = src
        self._desired = None

    def drop_named(self, name: str) -> None:
        if self.named.pop(name, None) is not None:
            self._desired = None


    # -- the merged view ----------------------------------------------------------------
    def all(self) -> list[tuple[str, tuple[AnyResource, ...]]]:
        out = [(name, src.resources) for name, src in sorted(self.files.items())]
        out.extend((name, src.resources) for name, src in sorted(self.named.items()))
        out.append((API, tuple(self.api[p] for p in sorted(self.api))))
        return out

    def desired(self) -> DesiredState:
        if self._desired is None:
            self._desired = merge(self.all(), self.claims)
            for path, owner in self._desired.owners.items():
                self.claims.setdefault(path, owner)
        return self._desired

    def with_api(self, resources: Iterable[AnyResource]) -> DesiredState:
        """The desired state if ``resources`` were applied (for dry runs and diff)."""
        api = dict(self.api)
        for res in resources:
            api[res.path] = res
        sources = [(n, r) for n, r in self.all() if n != API]
        sources.append((API, tuple(api[p] for p in sorted(api))))
        return merge(sources, self.claims)

    def statuses(self) -> list[Source]:
        out = [self.files[n] for n in sorted(self.files)]
        out.extend(self.named[n] for n in sorted(self.named))
        out.append(Source(API, tuple(self.api.values())))
        return out


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]
