"""The git syncer against real git (a local bare repository) and a real store; the loop
is replaced by a counter of wake-ups, and desired state is read from Sources."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kukeon.daemon.events import EventLog
from kukeon.daemon.gitsync import GitSpec, GitSyncer
from kukeon.daemon.sources import Sources
from kukeon.model.identity import ResourcePath
from kukeon.store.db import Store
from tests.unit.gitsync.remote import Remote, cell

WEB = ResourcePath.parse("default/default/default/web")
DB = ResourcePath.parse("default/default/default/db")
pytestmark = pytest.mark.timeout(30)


@dataclass
class Daemon:
    """What kukeond wires around the syncer."""

    base: Path
    store: Store
    sources: Sources
    syncer: GitSyncer
    wakes: list[float] = field(default_factory=list)

    def owners(self) -> dict[ResourcePath, str]:
        return dict(self.sources.desired().owners)


@asynccontextmanager
async def daemon(base: Path, configured: tuple[GitSpec, ...] = ()) -> AsyncIterator[Daemon]:
    store = Store(base / "state.db")
    await store.open()
    sources = Sources(store, base / "manifests")
    await sources.load()
    wakes: list[float] = []
    syncer = GitSyncer(
        base / "git", store, sources, EventLog(store), lambda: wakes.append(time.monotonic()),
        configured,
    )  # fmt: skip
    await syncer.load()
    task = asyncio.create_task(syncer.run())
    try:
        yield Daemon(base, store, sources, syncer, wakes)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await store.close()


def run(fn: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(fn())  # type: ignore[arg-type]


def spec(remote: Remote, **kw: Any) -> GitSpec:
    return GitSpec(name="apps", url=remote.url, interval=3600, **kw)


def test_applies_a_commit_then_noop_then_change_and_delete(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    first = remote.commit({"apps/web.yaml": cell("web"), "README.md": "not a manifest"})

    async def go() -> None:
        async with daemon(tmp_path / "d") as d:
            view = await d.syncer.view(await d.syncer.add(spec(remote, path="apps")))
            t = await d.syncer.sync("apps", 10)
            assert t.state.applied == t.state.fetched == t.state.attempted == first
            assert t.state.error == ""
            assert d.owners() == {WEB: "git:apps"}
            assert d.wakes, "the loop is woken when a revision applies"
            assert (d.base / "git/apps/current").resolve().name == f"rev-{first}"
            # the same commit again: nothing is done, no history entry, no wake-up
            wakes, history = len(d.wakes), await d.syncer.view(t)
            await d.syncer.sync("apps", 10)
            assert len(d.wakes) == wakes
            assert (await d.syncer.view(t)).history == history.history
            # a change, then a deletion
            second = remote.commit({"apps/db.yaml": cell("db")})
            await d.syncer.sync("apps", 10)
            assert t.state.applied == second and d.owners() == {WEB: "git:apps", DB: "git:apps"}
            third = remote.commit({"apps/web.yaml": None})
            await d.syncer.sync("apps", 10)
            assert t.state.applied == third and d.owners() == {DB: "git:apps"}
            view = await d.syncer.view(t)
            assert [r for _, r, _ in view.history] == [third, second, first]
            assert view.history[0][2] == "applied: 1 resources"
            assert sorted(p.name for p in (d.base / "git/apps").glob("rev-*")) == [f"rev-{third}"]

    run(go)


def test_a_broken_commit_keeps_the_last_good_one_then_a_fix_applies(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    good = remote.commit({"web.yaml": cell("web"), "db.yaml": cell("db")})

    async def go() -> None:
        async with daemon(tmp_path / "d") as d:
            await d.syncer.add(spec(remote))
            t = await d.syncer.sync("apps", 10)
            assert t.state.applied == good
            # one good file and one broken file in the same commit: nothing of it applies
            broken = remote.commit(
                {"db.yaml": None, "web.yaml": cell("web").replace("image:", "imagee:")}
            )
            await d.syncer.sync("apps", 10)
            assert t.state.applied == good and t.state.attempted == broken
            assert (
                f"commit {broken[:12]}: web.yaml:8: spec.containers[0].imagee" in t.state.error
            ), t.state.error
            assert "imagee" in t.state.error and f"stays on {good[:12]}" in t.state.error
            assert d.owners() == {WEB: "git:apps", DB: "git:apps"}
            source = d.sources.named["git:apps"]
            assert source.error == t.state.error and source.revision == good
            events = await d.store.events()
            assert [e.reason for e in events if e.path == "git:apps"].count("RevisionRejected") == 1
            # polling the same broken commit again reports nothing new
            await d.syncer.sync("apps", 10)
            events = await d.store.events()
            assert [e.reason for e in events if e.path == "git:apps"].count("RevisionRejected") == 1
            fixed = remote.commit({"web.yaml": cell("web", env="A=2")})
            await d.syncer.sync("apps", 10)
            assert t.state.applied == fixed and t.state.error == ""
            assert d.owners() == {WEB: "git:apps"}
            env = d.sources.desired().resources[WEB].containers[0].env  # type: ignore[union-attr]
            assert ("A", "2") in env

    run(go)


def test_restart_restores_the_last_good_revision_before_any_fetch(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    good = remote.commit({"web.yaml": cell("web")})

    async def first() -> None:
        async with daemon(tmp_path / "d") as d:
            await d.syncer.add(spec(remote, suspend=True))
            await d.syncer.sync("apps", 10)

    async def second() -> None:
        remote.bare.rename(tmp_path / "gone.git")  # the remote is unreachable now
        async with daemon(tmp_path / "d") as d:
            assert d.owners() == {WEB: "git:apps"}  # before the first sync
            t = await d.syncer.sync("apps", 10)
            assert t.state.applied == good
            assert "fetch failed" in t.state.error and "stays" not in t.state.error
            assert d.owners() == {WEB: "git:apps"}
            assert d.sources.named["git:apps"].error == t.state.error
            (tmp_path / "gone.git").rename(remote.bare)  # reachable again: the error clears
            await d.syncer.sync("apps", 10)
            assert t.state.error == d.sources.named["git:apps"].error == ""

    run(first)
    run(second)


def test_a_source_that_suddenly_declares_nothing_is_held_until_confirmed(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    remote.commit({f"c{i}.yaml": cell(f"c{i}") for i in range(3)})

    async def go() -> None:
        async with daemon(tmp_path / "d") as d:
            await d.syncer.add(spec(remote))
            t = await d.syncer.sync("apps", 10)
            empty = remote.commit({f"c{i}.yaml": None for i in range(3)})
            await d.syncer.sync("apps", 10)
            assert t.state.applied != empty and "declares nothing" in t.state.error
            assert len(d.owners()) == 3
            await d.sources.confirm_empty()  # kuke prune --confirm-empty
            await d.syncer.sync("apps", 10)
            assert t.state.applied == empty and d.owners() == {}

    run(go)


def test_wrong_path_or_branch_is_an_error_not_an_empty_source(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    remote.commit({"apps/web.yaml": cell("web")})

    async def go() -> None:
        async with daemon(tmp_path / "d") as d:
            await d.syncer.add(spec(remote, path="nope"))
            t = await d.syncer.sync("apps", 10)
            assert "path 'nope' is not a directory" in t.state.error and not t.state.applied
            await d.syncer.add(spec(remote, path="apps", branch="other"))
            t = await d.syncer.sync("apps", 10)
            assert "couldn't find remote ref refs/heads/other" in t.state.error
            await d.syncer.add(spec(remote, path="apps"))
            t = await d.syncer.sync("apps", 10)
            assert t.state.error == "" and d.owners() == {WEB: "git:apps"}

    run(go)


def test_follows_a_tag_and_polls_at_its_interval(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    remote.commit({"web.yaml": cell("web")})
    remote.tag("v1")
    remote.commit({"db.yaml": cell("db")})  # on the branch, not tagged

    async def go() -> None:
        async with daemon(tmp_path / "d") as d:
            await d.syncer.add(GitSpec(name="apps", url=remote.url, tag="v1", interval=0.2))
            t = await d.syncer.sync("apps", 10)
            assert d.owners() == {WEB: "git:apps"}
            remote.tag("v1")  # move the tag to the newer commit: picked up by polling
            began = time.monotonic()
            while DB not in d.owners():
                assert time.monotonic() - began < 5, t.state
                await asyncio.sleep(0.05)

    run(go)


def test_two_sources_declaring_one_cell_the_first_keeps_it(tmp_path: Path) -> None:
    one, two = Remote(tmp_path / "one"), Remote(tmp_path / "two")
    one.commit({"web.yaml": cell("web")})
    two.commit({"web.yaml": cell("web", env="A=2"), "db.yaml": cell("db")})

    async def go() -> None:
        async with daemon(tmp_path / "d") as d:
            await d.syncer.add(GitSpec(name="one", url=one.url, interval=3600))
            await d.syncer.sync("one", 10)
            await d.syncer.add(GitSpec(name="two", url=two.url, interval=3600))
            await d.syncer.sync("two", 10)
            assert d.owners() == {WEB: "git:one", DB: "git:two"}
            for name in ("one", "two"):
                view = await d.syncer.view(d.syncer.tracked[name])
                assert view.conflicts == [
                    f"{WEB} is declared by both git:one and git:two; git:one keeps it"
                ]

    run(go)


def test_remove_forgets_the_source_and_config_sources_come_back(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    remote.commit({"web.yaml": cell("web")})
    configured = GitSpec(name="conf", url=remote.url, interval=3600, origin="config")

    async def first() -> None:
        async with daemon(tmp_path / "d", (configured,)) as d:
            await d.syncer.add(spec(remote))
            await d.syncer.sync("apps", 10)
            await d.syncer.sync("conf", 10)
            assert d.owners()[WEB] in ("git:apps", "git:conf")
            await d.syncer.remove("apps")
            assert d.owners() == {WEB: "git:conf"}
            assert not (d.base / "git/apps").exists()
            docs = [(x.source, x.key) for x in await d.store.documents("git")]
            assert ("gitsrc", "apps") not in docs and ("git:apps", "") not in docs

    async def without_config() -> None:
        async with daemon(tmp_path / "d") as d:  # conf left the config file: forgotten
            assert d.owners() == {} and d.syncer.tracked == {}
            assert await d.store.documents("git:") == []

    run(first)
    run(without_config)


def test_state_is_persisted_as_json(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    good = remote.commit({"web.yaml": cell("web")})

    async def go() -> None:
        async with daemon(tmp_path / "d") as d:
            await d.syncer.add(spec(remote))
            await d.syncer.sync("apps", 10)
            (state,) = await d.store.documents("gitstate")
            assert json.loads(state.content)["applied"] == good
            (last,) = await d.store.documents("git:")
            assert json.loads(last.content)["files"] == {"web.yaml": cell("web")}

    run(go)
