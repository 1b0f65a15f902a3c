"""Follows git sources, pull-only. Each source has a task that fetches its branch or tag
into a bare mirror, checks the commit out under the state dir, loads its manifests and,
when every file is valid, makes that commit the source's desired state (all or nothing).
A bad commit keeps the last good one in force; the error names file:line and commit.

What survives a restart (in the store's documents table):
  ("gitsrc", name)     the spec of a source added through the API
  ("gitstate", name)   its status: revisions fetched, applied, attempted; last error
  ("git:<name>", "")   the last good revision's files, restored before the first pass so
                       nothing a source owns is pruned while kukeond starts
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import structlog

from kukeon.daemon.events import EventLog
from kukeon.daemon.gitsync.git import Git, GitError, Mirror, redact
from kukeon.daemon.gitsync.revision import Revision, load_revision, read_checkout
from kukeon.daemon.gitsync.spec import SOURCE_PREFIX, GitSpec, GitSpecError
from kukeon.daemon.sources import SUSPICIOUS_MIN, Source, Sources
from kukeon.store.db import Store

log = structlog.get_logger("kukeon.git")

SPEC_DOC = "gitsrc"
STATE_DOC = "gitstate"
HISTORY_KEEP = 50


@dataclass
class GitState:
    fetched: str = ""
    fetched_at: float = 0.0
    applied: str = ""
    applied_at: float = 0.0
    attempted: str = ""
    attempted_at: float = 0.0
    error: str = ""
    error_at: float = 0.0
    sync_seconds: float = 0.0  # how long the last sync took


@dataclass
class Tracked:
    spec: GitSpec
    state: GitState = field(default_factory=GitState)
    task: asyncio.Task[None] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Condition = field(default_factory=asyncio.Condition)
    started: int = 0  # syncs begun; ``finished`` catches up when each ends
    finished: int = 0
    reapply: bool = False  # the spec changed: apply the fetched commit again
    confirm_empty: bool = False  # `kuke prune --confirm-empty`: an empty commit may apply
    rejected: str = ""  # the commit last rejected (not retried until something changes)

    @property
    def syncing(self) -> bool:
        return self.started > self.finished


@dataclass(frozen=True)
class GitView:
    """A source as status shows it."""

    spec: GitSpec
    state: GitState
    resources: int
    conflicts: list[str]
    history: list[tuple[float, str, str]]  # (time, revision, result), newest first
    syncing: bool


class GitSyncer:
    def __init__(
        self,
        root: Path,
        store: Store,
        sources: Sources,
        events: EventLog,
        wake: Callable[[], None],
        configured: Sequence[GitSpec] = (),
        *,
        git_timeout: float = 120.0,
    ) -> None:
        self.root = root
        self.store = store
        self.sources = sources
        self.events = events
        self.wake_loop = wake
        self.configured = [s.validated() for s in configured]
        self.git_timeout = git_timeout
        self.tracked: dict[str, Tracked] = {}
        self._running = False
        sources.confirm_hooks.append(self._confirm_empty)

    # -- start --------------------------------------------------------------------------
    async def load(self) -> None:
        """Specs from the config and the store, and each source's last good revision.
        Must run before the control loop's first pass."""
        specs = {s.name: s for s in self.configured}
        for doc in await self.store.documents(SPEC_DOC):
            spec = GitSpec.from_doc(json.loads(doc.content))
            try:
                spec = spec.validated()
            except GitSpecError as err:  # kept: its sync reports the problem, nothing pruned
                log.error("stored git source is invalid", name=spec.name, error=str(err))
            if spec.name in specs:
                log.warning("the config's git source replaces the API's", name=spec.name)
                await self.store.delete_document(SPEC_DOC, spec.name)
                continue
            specs[spec.name] = spec
        states = {d.key: d.content for d in await self.store.documents(STATE_DOC)}
        good = {d.source: d.content for d in await self.store.documents(SOURCE_PREFIX)}
        for name, spec in sorted(specs.items()):
            t = Tracked(spec)
            if name in states:
                t.state = GitState(**json.loads(states[name]))
                st = t.state
                if st.attempted and st.error.startswith(f"commit {st.attempted[:12]}"):
                    t.rejected = st.attempted  # not judged (and recorded) again after a restart
            if spec.source in good:
                self._restore(t, json.loads(good[spec.source]))
            self.tracked[name] = t
        for source in good:
            name = source.removeprefix(SOURCE_PREFIX)
            if name not in specs:  # removed from the config: what it declared is pruned
                log.info("git source no longer configured; pruning what it declared", name=name)
                await self._forget(name)
        await asyncio.to_thread(_clean_partial, self.root)

    def _restore(self, t: Tracked, doc: dict[str, object]) -> None:
        files = doc.get("files")
        commit = str(doc.get("commit", ""))
        rev = load_revision(commit, dict(files) if isinstance(files, dict) else {})
        if doc.get("path", "") != t.spec.path:
            t.reapply = True  # the config now names another directory
        # A last good revision that no longer loads (a kukeon upgrade got stricter) keeps
        # what still loads, so nothing is pruned because kukeond changed.
        self.sources.put_named(self._source(t.spec, rev))
        if not rev.ok:
            t.state.error = rev.error_text()

    async def run(self) -> None:
        """Follow every source until cancelled."""
        self._running = True
        for t in self.tracked.values():
            self._start(t)
        try:
            await asyncio.Event().wait()
        finally:
            self._running = False
            for t in self.tracked.values():
                await _cancel(t.task)

    def _start(self, t: Tracked) -> None:
        if self._running and t.task is None:
            t.task = asyncio.create_task(self._follow(t), name=f"kukeon-git-{t.spec.name}")

    # -- requests -----------------------------------------------------------------------
    def get(self, name: str) -> Tracked | None:
        return self.tracked.get(name)

    async def add(self, spec: GitSpec) -> Tracked:
        """Add a source, or change one added through the API (then sync it now)."""
        spec = spec.validated()
        t = self.tracked.get(spec.name)
        if t is None:
            t = self.tracked[spec.name] = Tracked(spec)
        else:
            moved = (spec.url, spec.ref, spec.path) != (t.spec.url, t.spec.ref, t.spec.path)
            t.reapply = t.reapply or moved
            t.spec = spec
            t.wake.set()
        if spec.origin == "api":
            await self.store.put_document(SPEC_DOC, spec.name, json.dumps(spec.to_doc()))
        self._start(t)
        return t

    async def remove(self, name: str) -> None:
        """Stop following ``name``; what it declared is pruned by the loop."""
        t = self.tracked.pop(name, None)
        if t is not None:
            await _cancel(t.task)
        await self._forget(name)
        self.wake_loop()

    async def sync(self, name: str, timeout: float) -> Tracked:
        """Sync now (also when suspended); wait up to ``timeout`` for a sync that begins
        after this call to end."""
        t = self.tracked[name]
        target = t.started + 1
        t.wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), t.done:
                await t.done.wait_for(lambda: t.finished >= target)
        return t

    async def view(self, t: Tracked, *, history: bool = True) -> GitView:
        source = t.spec.source
        src = self.sources.named.get(source)
        conflicts = [
            str(c) for c in self.sources.desired().conflicts if source in (c.owner, c.other)
        ]
        return GitView(
            t.spec,
            replace(t.state),
            len(src.resources) if src else 0,
            conflicts,
            await self.store.history(source) if history else [],
            t.syncing,
        )

    async def _confirm_empty(self) -> None:
        for t in self.tracked.values():
            t.confirm_empty = True
            t.wake.set()

    # -- following ----------------------------------------------------------------------
    async def _follow(self, t: Tracked) -> None:
        asked = False
        while True:
            if asked or not t.spec.suspend:
                await self._sync(t)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(t.spec.interval):
                    await t.wake.wait()
            asked = t.wake.is_set()
            t.wake.clear()

    async def _sync(self, t: Tracked) -> None:
        t.started += 1
        began = time.monotonic()
        try:
            await self._sync_once(t)
        except GitError as err:
            await self._fail(t, f"{t.spec.source}: {err}", reason="FetchFailed")
        except Exception as err:  # a bug must not stop following the source
            log.exception("git sync failed", source=t.spec.source)
            await self._fail(t, f"{t.spec.source}: internal error: {err!r}", reason="SyncFailed")
        finally:
            t.state.sync_seconds = time.monotonic() - began
            with contextlib.suppress(Exception):
                await self._save_state(t)
            async with t.done:
                t.finished += 1
                t.done.notify_all()

    async def _sync_once(self, t: Tracked) -> None:
        spec, st = t.spec, t.state
        base = self.root / spec.name
        git = Git(base / "home", spec.credentials_file, ssh=spec.is_ssh, timeout=self.git_timeout)
        mirror = Mirror(git, base / "mirror.git")
        await mirror.ensure()
        commit = await mirror.fetch(spec.url, spec.ref)
        now = time.time()
        st.fetched, st.fetched_at = commit, now
        if commit == st.applied and not t.reapply:
            st.attempted = commit  # nothing new, or back on the good commit (a revert)
            self._clear_error(t)
            return
        if commit == t.rejected and not (t.reapply or t.confirm_empty):
            return  # already rejected and reported
        st.attempted, st.attempted_at = commit, now
        entries = await mirror.entries(commit, spec.path)
        if entries is None:
            await self._reject(
                t, commit, f"commit {commit[:12]}: path {spec.path!r} is not a directory in it"
            )
            return
        checkout = base / f"rev-{commit}"
        if not checkout.exists():
            partial = base / f".tmp-{commit}"
            await asyncio.to_thread(shutil.rmtree, partial, True)
            if entries:
                await mirror.checkout(commit, spec.path, partial)
            else:
                partial.mkdir(parents=True)  # an empty tree: git has nothing to check out
            partial.rename(checkout)
        files = await asyncio.to_thread(read_checkout, checkout, spec.path)
        rev = load_revision(commit, files)
        if not rev.ok:
            await self._reject(t, commit, rev.error_text())
            return
        current = self.sources.named.get(spec.source)
        before = len(current.resources) if current else 0
        if not rev.resources and before >= SUSPICIOUS_MIN and not t.confirm_empty:
            await self._reject(
                t,
                commit,
                f"commit {commit[:12]} declares nothing ({spec.source} declared {before} "
                "resources); nothing is pruned until `kuke prune --confirm-empty`",
                result="held: declares nothing",
            )
            return
        await self._apply(t, rev, checkout)

    async def _apply(self, t: Tracked, rev: Revision, checkout: Path) -> None:
        spec, st = t.spec, t.state
        doc = {"commit": rev.commit, "path": spec.path, "files": rev.files}
        await self.store.put_document(spec.source, "", json.dumps(doc))  # one atomic row
        await asyncio.to_thread(_switch, checkout)
        self.sources.put_named(self._source(spec, rev))
        st.applied, st.applied_at = rev.commit, time.time()
        self._clear_error(t)
        t.reapply = t.confirm_empty = False
        await self.store.add_history(
            spec.source, rev.commit, f"applied: {len(rev.resources)} resources", HISTORY_KEEP
        )
        await self.events.emit(
            "Normal", spec.source, "RevisionApplied",
            f"commit {rev.commit[:12]} of {spec.ref} applied ({len(rev.resources)} resources)",
        )  # fmt: skip
        self.wake_loop()

    async def _reject(self, t: Tracked, commit: str, error: str, result: str = "") -> None:
        t.rejected = commit
        kept = t.state.applied[:12] or "nothing"
        message = f"{error}\n{t.spec.source} stays on {kept}"
        await self.store.add_history(
            t.spec.source, commit, result or f"rejected: {error.splitlines()[0]}", HISTORY_KEEP
        )
        await self._fail(t, message, reason="RevisionRejected")
        if commit != t.state.applied:
            await asyncio.to_thread(shutil.rmtree, self.root / t.spec.name / f"rev-{commit}", True)

    async def _fail(self, t: Tracked, message: str, *, reason: str) -> None:
        message = redact(message)
        if message != t.state.error:  # one event per distinct problem, not per poll
            await self.events.emit("Warning", t.spec.source, reason, message)
        t.state.error, t.state.error_at = message, time.time()
        src = self.sources.named.get(t.spec.source)
        if src is None:  # nothing good yet: still show the source and its error in status
            self.sources.put_named(Source(t.spec.source, error=message))
        else:
            src.error = message

    def _clear_error(self, t: Tracked) -> None:
        t.state.error = t.rejected = ""
        src = self.sources.named.get(t.spec.source)
        if src is not None:
            src.error = ""

    # -- persistence --------------------------------------------------------------------
    def _source(self, spec: GitSpec, rev: Revision) -> Source:
        return Source(
            spec.source,
            rev.resources,
            warnings=tuple(str(w) for w in rev.warnings),
            revision=rev.commit,
        )

    async def _save_state(self, t: Tracked) -> None:
        if t.spec.name in self.tracked:  # not when it was removed meanwhile
            await self.store.put_document(STATE_DOC, t.spec.name, json.dumps(asdict(t.state)))

    async def _forget(self, name: str) -> None:
        self.sources.drop_named(SOURCE_PREFIX + name)
        for source, key in ((SOURCE_PREFIX + name, ""), (SPEC_DOC, name), (STATE_DOC, name)):
            await self.store.delete_document(source, key)
        await asyncio.to_thread(shutil.rmtree, self.root / name, True)


def _switch(checkout: Path) -> None:
    """Point ``current`` at ``checkout`` atomically, then drop older checkouts."""
    base = checkout.parent
    tmp = base / ".current.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(checkout.name, tmp)
    os.replace(tmp, base / "current")
    for old in base.glob("rev-*"):
        if old != checkout:
            shutil.rmtree(old, ignore_errors=True)


def _clean_partial(root: Path) -> None:
    """Checkouts a crash interrupted."""
    for partial in root.glob("*/.tmp-*"):
        shutil.rmtree(partial, ignore_errors=True)
    for index in root.glob("*/.*.index"):
        index.unlink(missing_ok=True)


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
