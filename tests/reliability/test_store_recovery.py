"""A truncated or garbled state.db is moved aside at open and kukeond starts with an empty
store (reported as a StoreRecovered event); a locked or unwritable one is not touched."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kukeon.store.db import Store


async def _fill(path: Path) -> None:
    store = Store(path)
    await store.open()
    for i in range(120):  # several pages, so truncation cuts real data
        await store.set_inventory({f"default/default/default/c{i}": ("api", False)})
        await store.put_document("api", f"k{i}", "x" * 500)
    await store.close()


@pytest.mark.parametrize("damage", ["truncate-half", "truncate-header", "garbage"])
def test_corrupt_store_is_moved_aside(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "state.db"
    asyncio.run(_fill(path))
    data = path.read_bytes()
    assert len(data) > 8192
    if damage == "truncate-half":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "truncate-header":
        path.write_bytes(data[:100])
    else:
        path.write_bytes(b"not a database at all " * 100)

    async def reopen() -> None:
        store = Store(path)
        await store.open()
        try:
            assert await store.inventory() == {}
            events = await store.events()
            assert [e.reason for e in events] == ["StoreRecovered"]
            assert "moved aside to" in events[0].message
            assert store.recovered == events[0].message  # doctor reports it
            await store.put_document("api", "k", "v")  # usable
        finally:
            await store.close()

    asyncio.run(reopen())
    assert list(tmp_path.glob("state.db.corrupt-*")), "the damaged file is kept aside"


def test_healthy_store_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    asyncio.run(_fill(path))

    async def reopen() -> None:
        store = Store(path)
        await store.open()
        try:
            assert len(await store.inventory()) == 120
            assert await store.events() == []
        finally:
            await store.close()

    asyncio.run(reopen())
    assert not list(tmp_path.glob("*.corrupt-*"))
