"""sqlite (WAL) store under the state dir.

It keeps only what cannot be observed: source documents and last-good copies, the
inventory (what kukeond created, so it may prune it), events, restart history, stop
overrides and apply history. Status is never read back from here after a crash: it is
derived from the latest observation. One connection, used from one thread: the store is
the single writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from kukeon.model.errors import KukeonError
from kukeon.model.failpoints import failpoint
from kukeon.reconcile.loop import Claim

T = TypeVar("T")

SCHEMA_VERSION = 2
_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE documents (
        source TEXT NOT NULL, key TEXT NOT NULL, content TEXT NOT NULL,
        error TEXT, updated REAL NOT NULL, PRIMARY KEY (source, key));
    CREATE TABLE inventory (
        path TEXT PRIMARY KEY, source TEXT NOT NULL, keep INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, type TEXT NOT NULL,
        path TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL);
    CREATE TABLE restarts (
        path TEXT PRIMARY KEY, count INTEGER NOT NULL, not_before REAL NOT NULL,
        last_exit INTEGER);
    CREATE TABLE overrides (path TEXT PRIMARY KEY, stopped INTEGER NOT NULL);
    CREATE TABLE history (
        id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, source TEXT NOT NULL,
        revision TEXT NOT NULL, result TEXT NOT NULL);
    """,
    # when kukeond first took a resource on (the AGE column); 0 for older claims: unknown
    2: "ALTER TABLE inventory ADD COLUMN since REAL NOT NULL DEFAULT 0;",
}


class StoreError(KukeonError):
    pass


@dataclass(frozen=True)
class Event:
    id: int
    ts: float
    type: str  # Normal | Warning
    path: str
    reason: str
    message: str


@dataclass(frozen=True)
class Document:
    source: str
    key: str
    content: str
    error: str | None


class Store:
    def __init__(self, path: Path, *, max_events: int = 5000) -> None:
        self.path = path
        self.max_events = max_events
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kukeon-store")
        self._db: sqlite3.Connection | None = None
        self.recovered: str | None = None  # why the file was moved aside at open, if it was

    # -- lifecycle ----------------------------------------------------------------------
    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        recovered = None
        try:
            db, version = self._connect()
        except sqlite3.OperationalError as err:  # locked, I/O error, full disk: not corrupt
            raise StoreError(f"cannot open the state store {self.path}: {err}") from err
        except sqlite3.DatabaseError as err:
            # Truncated or corrupt: keep it for a post-mortem and start empty. Status comes
            # from the host anyway; what runs is adopted as unowned until applied again.
            aside = self._move_aside()
            recovered = f"state store {self.path} was unreadable ({err}); moved aside to {aside}"
            try:
                db, version = self._connect()
            except sqlite3.DatabaseError as again:
                raise StoreError(
                    f"state store {self.path} is unreadable: {again}",
                    hint="check the state dir's filesystem",
                ) from again
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"state store {self.path} has schema {version}, newer than this kukeond"
            )
        for v in range(version + 1, SCHEMA_VERSION + 1):
            db.executescript("BEGIN;" + _MIGRATIONS[v] + "COMMIT;")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(v),))
        if recovered is not None:
            db.execute(
                "INSERT INTO events (ts, type, path, reason, message) VALUES (?, ?, ?, ?, ?)",
                (time.time(), "Warning", "host", "StoreRecovered", recovered),
            )
        self.recovered = recovered
        self._db = db

    def _connect(self) -> tuple[sqlite3.Connection, int]:
        """Open and check the file; the schema version it holds (0: new)."""
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            check = db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check[0] if check else 'no answer'}")
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db, int(row[0]) if row else 0

    def _move_aside(self) -> Path:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):  # the WAL belongs to the file it was written for
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
        return aside

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._pool.shutdown(wait=True)

    async def _run(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("store is not open")
        return self._db

    async def _exec(self, sql: str, args: Iterable[object] = ()) -> None:
        def go() -> None:
            try:
                self._conn().execute(sql, tuple(args))
            except sqlite3.OperationalError as err:
                raise StoreError(f"state store write failed: {err}") from err

        await self._run(go)

    async def _query(self, sql: str, args: Iterable[object] = ()) -> list[tuple[object, ...]]:
        return await self._run(lambda: self._conn().execute(sql, tuple(args)).fetchall())

    # -- documents ----------------------------------------------------------------------
    async def put_document(self, source: str, key: str, content: str) -> None:
        await self._exec(
            "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, NULL, ?)",
            (source, key, content, time.time()),
        )
        failpoint("store.after-document-write", StoreError)

    async def delete_document(self, source: str, key: str) -> None:
        await self._exec("DELETE FROM documents WHERE source=? AND key=?", (source, key))
        failpoint("store.after-document-write", StoreError)

    async def documents(self, source_prefix: str = "") -> list[Document]:
        rows = await self._query(
            "SELECT source, key, content, error FROM documents WHERE source LIKE ? "
            "ORDER BY source, key",
            (source_prefix + "%",),
        )
        return [Document(str(s), str(k), str(c), e if e is None else str(e)) for s, k, c, e in rows]

    # -- inventory ----------------------------------------------------------------------
    async def set_inventory(self, entries: dict[str, tuple[str, bool]]) -> None:
        """Add or update paths kukeond manages: path -> (source, keep); a path keeps the
        time it was first claimed."""
        now = time.time()

        def go() -> None:
            db = self._conn()
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO inventory (path, source, keep, since) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (path) DO UPDATE SET source=excluded.source, keep=excluded.keep",
                [(p, s, int(k), now) for p, (s, k) in entries.items()],
            )
            db.execute("COMMIT")
            failpoint("store.after-inventory-write", StoreError)

        await self._run(go)

    async def forget(self, paths: Iterable[str]) -> None:
        def go() -> None:
            db = self._conn()
            db.execute("BEGIN")
            db.executemany("DELETE FROM inventory WHERE path=?", [(p,) for p in paths])
            db.executemany("DELETE FROM restarts WHERE path=?", [(p,) for p in paths])
            db.execute("COMMIT")

        await self._run(go)

    async def inventory(self) -> dict[str, Claim]:
        rows = await self._query("SELECT path, source, keep, since FROM inventory")
        return {str(p): Claim(str(s), bool(k), float(str(t))) for p, s, k, t in rows}

    # -- events -------------------------------------------------------------------------
    async def add_event(self, type_: str, path: str, reason: str, message: str) -> Event:
        ts = time.time()

        def go() -> int:
            db = self._conn()
            cur = db.execute(
                "INSERT INTO events (ts, type, path, reason, message) VALUES (?, ?, ?, ?, ?)",
                (ts, type_, path, reason, message),
            )
            rowid = int(cur.lastrowid or 0)
            if rowid % 100 == 0:
                db.execute("DELETE FROM events WHERE id <= ?", (rowid - self.max_events,))
            return rowid

        rowid = await self._run(go)
        return Event(rowid, ts, type_, path, reason, message)

    async def events(
        self, *, after_id: int = 0, path_prefix: str = "", limit: int = 200
    ) -> list[Event]:
        rows = await self._query(
            "SELECT * FROM (SELECT id, ts, type, path, reason, message FROM events "
            "WHERE id > ? AND (? = '' OR path = ? OR path LIKE ?) ORDER BY id DESC LIMIT ?) "
            "ORDER BY id",
            (after_id, path_prefix, path_prefix, path_prefix + "/%", limit),
        )
        return [
            Event(int(str(i)), float(str(t)), str(ty), str(p), str(r), str(m))
            for i, t, ty, p, r, m in rows
        ]

    # -- restarts -----------------------------------------------------------------------
    async def set_restart(
        self, path: str, count: int, not_before: float, last_exit: int | None
    ) -> None:
        await self._exec(
            "INSERT OR REPLACE INTO restarts VALUES (?, ?, ?, ?)",
            (path, count, not_before, last_exit),
        )

    async def clear_restart(self, path: str) -> None:
        await self._exec("DELETE FROM restarts WHERE path=?", (path,))

    async def restarts(self) -> dict[str, tuple[int, float, int | None]]:
        rows = await self._query("SELECT path, count, not_before, last_exit FROM restarts")
        return {
            str(p): (int(str(c)), float(str(n)), None if e is None else int(str(e)))
            for p, c, n, e in rows
        }

    # -- stop overrides -----------------------------------------------------------------
    async def set_stopped(self, path: str, stopped: bool) -> None:
        if stopped:
            await self._exec("INSERT OR REPLACE INTO overrides VALUES (?, 1)", (path,))
        else:
            await self._exec("DELETE FROM overrides WHERE path=?", (path,))

    async def stopped(self) -> set[str]:
        return {str(r[0]) for r in await self._query("SELECT path FROM overrides WHERE stopped=1")}

    # -- apply history ------------------------------------------------------------------
    async def add_history(self, source: str, revision: str, result: str, keep: int = 50) -> None:
        await self._exec(
            "INSERT INTO history (ts, source, revision, result) VALUES (?, ?, ?, ?)",
            (time.time(), source, revision, result),
        )
        await self._exec(
            "DELETE FROM history WHERE source=? AND id NOT IN "
            "(SELECT id FROM history WHERE source=? ORDER BY id DESC LIMIT ?)",
            (source, source, keep),
        )

    async def history(self, source: str) -> list[tuple[float, str, str]]:
        rows = await self._query(
            "SELECT ts, revision, result FROM history WHERE source=? ORDER BY id DESC", (source,)
        )
        return [(float(str(t)), str(r), str(res)) for t, r, res in rows]
