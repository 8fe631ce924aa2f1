"""The service's persistent market: an embedded SQLite database.

Tables: ``records`` (listings and demands, each stored as its canonical text columns
in JSON, the form ``changfang validate`` writes), ``changes`` (one row per record
written or deleted, numbered: the log other server processes replay to keep their
in-memory market current) and ``runs`` (global allocations and their results). The
database runs in WAL mode with ``synchronous=FULL``: a write the service has
acknowledged survives the process being killed (and a power cut). Every bulk upsert
is one transaction, so it is either stored whole or not at all.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Store"]

SIDES = ("listing", "demand")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    side TEXT NOT NULL CHECK (side IN ('listing', 'demand')),
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (side, id)
);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    side TEXT NOT NULL,
    id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('upsert', 'delete'))
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    request TEXT NOT NULL,
    result TEXT NOT NULL
);
"""


class Store:
    """Listings, demands and runs in one SQLite file.

    Parameters
    ----------
    path : path-like
        The database file (created with its folder if missing); ``":memory:"`` for a
        throw-away store.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction: other processes' writes wait until it ends (BEGIN IMMEDIATE)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def snapshot(self) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        """One consistent read: (last change number, every listing, every demand), in id order."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                seq = self._last_seq()
                out = [[json.loads(r[0]) for r in self._db.execute(
                    "SELECT data FROM records WHERE side = ? ORDER BY id", (side,))] for side in SIDES]
            finally:
                self._db.execute("COMMIT")
        return seq, out[0], out[1]

    def _last_seq(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0])

    def data_version(self) -> int:
        """Changes when another connection (another process) commits; cheap to ask."""
        with self._lock:
            return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def upsert(self, side: str, rows: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Insert or replace records ``(id, canonical text columns)``; the last change number.

        Call inside :meth:`transaction`, or alone (then it is its own transaction).
        """
        data = [(side, rid, json.dumps(rec, ensure_ascii=False)) for rid, rec in rows]
        with self._own_transaction():
            self._db.executemany("INSERT OR REPLACE INTO records (side, id, data) VALUES (?, ?, ?)", data)
            self._db.executemany("INSERT INTO changes (side, id, op) VALUES (?, ?, 'upsert')",
                                 [(s, rid) for s, rid, _ in data])
            return self._last_seq()

    def delete(self, side: str, record_id: str) -> int | None:
        """Remove one record; its change number, or None when there was none."""
        with self._own_transaction():
            cur = self._db.execute("DELETE FROM records WHERE side = ? AND id = ?", (side, record_id))
            if cur.rowcount == 0:
                return None
            self._db.execute("INSERT INTO changes (side, id, op) VALUES (?, ?, 'delete')", (side, record_id))
            return self._last_seq()

    @contextmanager
    def _own_transaction(self) -> Iterator[None]:
        if self._db.in_transaction:
            yield
        else:
            with self.transaction():
                yield

    def changes_since(self, seq: int) -> list[tuple[int, str, str, str]]:
        """``(seq, side, id, op)`` of every change after ``seq``, in order."""
        with self._lock:
            return [(int(a), b, c, d) for a, b, c, d in self._db.execute(
                "SELECT seq, side, id, op FROM changes WHERE seq > ? ORDER BY seq", (seq,))]

    def fetch(self, side: str, ids: Iterable[str]) -> list[dict[str, Any]]:
        """The stored records of ``ids`` that exist, in id order."""
        ids = sorted(set(ids))
        out: list[dict[str, Any]] = []
        with self._lock:
            for a in range(0, len(ids), 500):
                chunk = ids[a:a + 500]
                q = f"SELECT data FROM records WHERE side = ? AND id IN ({','.join('?' * len(chunk))}) ORDER BY id"
                out += [json.loads(r[0]) for r in self._db.execute(q, (side, *chunk))]
        return out

    def records(self, side: str) -> list[dict[str, Any]]:
        """Every stored record of one side, in id order."""
        with self._lock:
            rows = self._db.execute("SELECT data FROM records WHERE side = ? ORDER BY id", (side,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def save_run(self, run_id: str, created: str, request: dict[str, Any], result: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT INTO runs (id, created, request, result) VALUES (?, ?, ?, ?)",
                             (run_id, created, json.dumps(request, ensure_ascii=False),
                              json.dumps(result, ensure_ascii=False)))

    def run(self, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT created, request, result FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        return {"id": run_id, "created": row[0], "request": json.loads(row[1]), **json.loads(row[2])}
