"""Restoring last good copies at start: what a stricter kukeond still accepts is kept, so
an upgrade does not prune the rest of a file (or of an API document)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kukeon.daemon.sources import FILE_PREFIX, Sources
from kukeon.model.identity import ResourcePath
from kukeon.store.db import Store

GOOD = "apiVersion: v1beta1\nkind: Cell\nmetadata: {name: good}\nspec:\n  containers: [{id: a, image: busybox}]\n"
# what an older kukeond accepted and this one refuses (here: a field it does not know)
REFUSED = "apiVersion: v1beta1\nkind: Cell\nmetadata: {name: odd}\nspec:\n  oddField: 1\n  containers: [{id: a, image: busybox}]\n"


def test_last_good_copies_keep_what_still_loads(tmp_path: Path) -> None:
    text = GOOD + "---\n" + REFUSED
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "web.yaml").write_text(text)

    async def go() -> tuple[set[str], str]:
        store = Store(tmp_path / "state.db")
        await store.open()
        try:
            await store.put_document(FILE_PREFIX + "web.yaml", "", text)
            await store.put_document("api", "k", GOOD.replace("good", "viaapi") + "---\n" + REFUSED)
            sources = Sources(store, manifests)
            await sources.load()
            cells = {str(c.path) for c in sources.desired().cells()}
            return cells, sources.files[FILE_PREFIX + "web.yaml"].error
        finally:
            await store.close()

    cells, error = asyncio.run(go())
    base = ResourcePath.of("default", "default", "default")
    assert cells == {str(base.child("good")), str(base.child("viaapi"))}
    assert "oddField" in error  # the refusal is still reported
