"""The inventory keeps when a resource was first claimed (the AGE column), also across a
change of owner and an upgrade from the first schema."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from kukeon.reconcile.loop import Claim
from kukeon.store.db import SCHEMA_VERSION, Store

WEB = "default/default/default/web"


def test_first_claim_time_survives_updates_and_a_reopen(tmp_path: Path) -> None:
    async def go() -> tuple[dict[str, Claim], dict[str, Claim]]:
        store = Store(tmp_path / "state.db")
        await store.open()
        await store.set_inventory({WEB: ("file:web.yaml", False)})
        first = await store.inventory()
        await asyncio.sleep(0.05)
        await store.set_inventory({WEB: ("api", True)})
        await store.close()
        again = Store(tmp_path / "state.db")
        await again.open()
        try:
            return first, await again.inventory()
        finally:
            await again.close()

    before = time.time()
    first, later = asyncio.run(go())
    assert before <= first[WEB].since <= time.time()
    assert later == {WEB: Claim("api", True, first[WEB].since)}


def test_a_schema_1_store_is_migrated_with_unknown_claim_times(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.executescript(
        """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO meta VALUES ('schema', '1');
        CREATE TABLE documents (source TEXT NOT NULL, key TEXT NOT NULL, content TEXT NOT NULL,
            error TEXT, updated REAL NOT NULL, PRIMARY KEY (source, key));
        CREATE TABLE inventory (path TEXT PRIMARY KEY, source TEXT NOT NULL,
            keep INTEGER NOT NULL DEFAULT 0);
        INSERT INTO inventory VALUES ('default/default/default/web', 'api', 1);"""
    )
    db.close()

    async def go() -> dict[str, Claim]:
        store = Store(path)
        await store.open()
        try:
            return await store.inventory()
        finally:
            await store.close()

    assert asyncio.run(go()) == {WEB: Claim("api", True, 0.0)}
    db = sqlite3.connect(path)
    try:
        version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    finally:
        db.close()
    assert version == (str(SCHEMA_VERSION),)
