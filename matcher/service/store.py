"""The service's persistent market: an embedded SQLite database.

One table per kind of row: ``records`` (listings and demands, each stored as its
canonical text columns in JSON, the form ``changfang validate`` writes) and ``runs``
(global allocations and their results). The database runs in WAL mode with
``synchronous=FULL``: a write the service has acknowledged survives the process
being killed (and a power cut). Every bulk upsert is one transaction, so it is either
stored whole or not at all.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable
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
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def upsert(self, side: str, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Insert or replace records ``(id, canonical text columns)`` in one transaction."""
        data = [(side, rid, json.dumps(rec, ensure_ascii=False)) for rid, rec in rows]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR REPLACE INTO records (side, id, data) VALUES (?, ?, ?)", data)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def delete(self, side: str, record_id: str) -> bool:
        """Remove one record; False when there was none."""
        with self._lock:
            cur = self._db.execute("DELETE FROM records WHERE side = ? AND id = ?", (side, record_id))
            return cur.rowcount > 0

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
