"""The service's persistent market: an embedded SQLite database.

Tables: ``records`` (listings and demands, each stored as its canonical text columns
in JSON, the form ``changfang validate`` writes), ``changes`` (one row per record
written or deleted, numbered: the log other server processes replay to keep their
in-memory market current), ``runs`` (global allocations: a summary and the whole
result), ``run_files`` (a run's workbooks, as bytes) and ``feedback`` (what staff
recorded about a pair: contacted, signed, refused; numbered, never rewritten).
The database runs in WAL mode with ``synchronous=FULL``: a write the service
has acknowledged survives the process being killed (and a power cut). Every bulk
upsert is one transaction, so it is either stored whole or not at all.

Two connections per process: one writes (``BEGIN IMMEDIATE``: other processes' writes
wait on the busy timeout), the other only reads, in read transactions that see one
consistent state and never block a writer (WAL). Replaying other processes' changes
reads; it never holds the write lock. A write transaction holds only its inserts: the
caller encodes and checks everything before it begins.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from matcher.errors import StoreBusyError

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
CREATE TABLE IF NOT EXISTS feedback (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    demand_id TEXT NOT NULL,
    listing_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('contacted', 'signed', 'refused')),
    note TEXT NOT NULL,
    who TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_files (
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
);
"""


class Store:
    """Listings, demands and runs in one SQLite file.

    Parameters
    ----------
    path : path-like
        The database file (created with its folder if missing); ``":memory:"`` for a
        throw-away store.
    busy_timeout_s : float
        How long a write waits for another process's write transaction before it
        fails (:func:`matcher.service.config.busy_timeout_s`).
    """

    def __init__(self, path: str | os.PathLike[str], busy_timeout_s: float = 30.0) -> None:
        self.path = str(path)
        self.busy_timeout_s = float(busy_timeout_s)
        memory = self.path == ":memory:"
        if not memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = self._connect()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._migrate()
        # a throw-away store has one connection (a second would open another database)
        self._rlock = self._lock if memory else threading.RLock()
        self._rd = self._db if memory else self._connect()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=self.busy_timeout_s, check_same_thread=False,
                               isolation_level=None)

    def _migrate(self) -> None:
        """The tables, and the columns later versions added (``runs.summary``), in one
        write transaction (server processes starting together take turns)."""
        with self.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            cols = {r[1] for r in self._db.execute("PRAGMA table_info(runs)")}
            if "summary" not in cols:
                self._db.execute("ALTER TABLE runs ADD COLUMN summary TEXT")

    def close(self) -> None:
        with self._lock, self._rlock:
            if self._rd is not self._db:
                self._rd.close()
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction: other processes' writes wait until it ends (BEGIN IMMEDIATE).

        Raises
        ------
        matcher.errors.StoreBusyError
            Another process kept the database locked longer than the busy timeout;
            nothing was written.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise self._busy(exc) from None
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise self._busy(exc) from None
                raise

    def _busy(self, exc: sqlite3.OperationalError) -> Exception:
        locked = "locked" in str(exc) or "busy" in str(exc)
        return StoreBusyError(self.busy_timeout_s) if locked else exc

    @contextmanager
    def reading(self) -> Iterator[None]:
        """A read transaction: every read inside sees one consistent state of the
        database; it takes no write lock, so writers never wait for it."""
        with self._rlock:
            if self._rd.in_transaction:  # nested (or inside a write, for ":memory:")
                yield
                return
            self._rd.execute("BEGIN")
            try:
                yield
            finally:
                self._rd.execute("COMMIT")

    def snapshot(self) -> tuple[int, list[tuple[str, str]], list[tuple[str, str]]]:
        """One consistent read: (last change number, every listing, every demand) as
        ``(id, stored JSON text)``, in id order."""
        with self.reading():
            seq = self.last_seq()
            out = [[(str(a), str(b)) for a, b in self._rd.execute(
                "SELECT id, data FROM records WHERE side = ? ORDER BY id", (side,))] for side in SIDES]
        return seq, out[0], out[1]

    def last_seq(self) -> int:
        """The number of the last change stored."""
        with self._rlock:
            return int(self._rd.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0])

    def data_version(self) -> int:
        """Changes when another connection (another process, or this store's own
        writer) commits; cheap to ask."""
        with self._rlock:
            return int(self._rd.execute("PRAGMA data_version").fetchone()[0])

    def upsert(self, side: str, rows: Sequence[tuple[str, str]]) -> tuple[int, int]:
        """Insert or replace records ``(id, stored JSON text)`` in one transaction; the
        numbers of its first and last change (consecutive: no other write interleaves)."""
        with self.transaction():
            self._db.executemany("INSERT OR REPLACE INTO records (side, id, data) VALUES (?, ?, ?)",
                                 [(side, rid, data) for rid, data in rows])
            self._db.executemany("INSERT INTO changes (side, id, op) VALUES (?, ?, 'upsert')",
                                 [(side, rid) for rid, _ in rows])
            last = self._write_seq()
        return last - len(rows) + 1, last

    def _write_seq(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0])

    def delete(self, side: str, record_id: str) -> int | None:
        """Remove one record; its change number, or None when there was none."""
        with self.transaction():
            cur = self._db.execute("DELETE FROM records WHERE side = ? AND id = ?", (side, record_id))
            if cur.rowcount == 0:
                return None
            self._db.execute("INSERT INTO changes (side, id, op) VALUES (?, ?, 'delete')", (side, record_id))
            return self._write_seq()

    def changes_since(self, seq: int) -> list[tuple[int, str, str, str]]:
        """``(seq, side, id, op)`` of every change after ``seq``, in order (call inside
        :meth:`reading` to read the records of the same state)."""
        with self._rlock:
            return [(int(a), str(b), str(c), str(d)) for a, b, c, d in self._rd.execute(
                "SELECT seq, side, id, op FROM changes WHERE seq > ? ORDER BY seq", (seq,))]

    def fetch(self, side: str, ids: Iterable[str]) -> list[tuple[str, str]]:
        """``(id, stored JSON text)`` of the records of ``ids`` that exist, in id order."""
        ids = sorted(set(ids))
        out: list[tuple[str, str]] = []
        with self._rlock:
            for a in range(0, len(ids), 500):
                chunk = ids[a:a + 500]
                q = f"SELECT id, data FROM records WHERE side = ? AND id IN ({','.join('?' * len(chunk))}) ORDER BY id"
                out += [(str(r), str(d)) for r, d in self._rd.execute(q, (side, *chunk))]
        return out

    def save_run(self, run_id: str, created: str, request: dict[str, Any], summary: dict[str, Any],
                 result: str) -> None:
        """Keep a run: its request, its summary and its whole result (JSON text)."""
        with self.transaction():
            self._db.execute("INSERT INTO runs (id, created, request, result, summary) VALUES (?, ?, ?, ?, ?)",
                             (run_id, created, json.dumps(request, ensure_ascii=False), result,
                              json.dumps(summary, ensure_ascii=False)))

    def run(self, run_id: str) -> tuple[str, dict[str, Any], str, bool] | None:
        """A stored run: (created, request, result JSON text, whether the result is the
        whole document: runs stored before the summary column kept only their result),
        or None."""
        with self._rlock:
            row = self._rd.execute("SELECT created, request, result, summary IS NOT NULL FROM runs WHERE id = ?",
                                   (run_id,)).fetchone()
        if row is None:
            return None
        return str(row[0]), json.loads(row[1]), str(row[2]), bool(row[3])

    def runs(self, before: int | None, limit: int) -> list[tuple[int, str, str, dict[str, Any]]]:
        """Up to ``limit`` runs, newest first, older than position ``before`` (None: from
        the newest): ``(position, id, created, summary)``."""
        q = "SELECT rowid, id, created, summary, result FROM runs"
        args: tuple[Any, ...] = ()
        if before is not None:
            q, args = q + " WHERE rowid < ?", (before,)
        with self._rlock:
            rows = self._rd.execute(q + " ORDER BY rowid DESC LIMIT ?", (*args, limit)).fetchall()
        out = []
        for pos, rid, created, summary, result in rows:
            if summary is None:  # a run stored before runs had a summary column
                full = json.loads(result)
                summary = json.dumps({k: full.get(k) for k in ("method", "objective", "gap", "counts")})
            out.append((int(pos), str(rid), str(created), json.loads(summary)))
        return out


    # ------------------------------------------------------------------ feedback and run files

    def add_feedback(self, demand_id: str, listing_id: str, action: str, note: str, who: str,
                     created: str) -> int:
        """Record one piece of feedback; its number (feedback is numbered in the order stored)."""
        with self.transaction():
            cur = self._db.execute("INSERT INTO feedback (demand_id, listing_id, action, note, who, created) "
                                   "VALUES (?, ?, ?, ?, ?, ?)", (demand_id, listing_id, action, note, who, created))
            return int(cur.lastrowid or 0)

    def feedback_seq(self) -> int:
        """The number of the last feedback stored (0 when none)."""
        with self._rlock:
            return int(self._rd.execute("SELECT COALESCE(MAX(seq), 0) FROM feedback").fetchone()[0])

    def feedback(self, after: int = 0, limit: int | None = None, demand_id: str | None = None,
                 listing_id: str | None = None) -> list[tuple[int, str, str, str, str, str, str]]:
        """Feedback after number ``after``, oldest first: ``(seq, demand_id, listing_id,
        action, note, who, created)``; optionally of one demand or one listing."""
        q = "SELECT seq, demand_id, listing_id, action, note, who, created FROM feedback WHERE seq > ?"
        args: list[Any] = [after]
        for col, v in (("demand_id", demand_id), ("listing_id", listing_id)):
            if v is not None:
                q += f" AND {col} = ?"
                args.append(v)
        q += " ORDER BY seq"
        if limit is not None:
            q += " LIMIT ?"
            args.append(limit)
        with self._rlock:
            return [(int(a), str(b), str(c), str(d), str(e), str(f), str(g))
                    for a, b, c, d, e, f, g in self._rd.execute(q, args)]

    def save_run_files(self, run_id: str, files: dict[str, bytes]) -> None:
        """Keep a run's files (``result.xlsx``, ``parties.zip``) by name."""
        with self.transaction():
            self._db.executemany("INSERT OR REPLACE INTO run_files (run_id, name, data) VALUES (?, ?, ?)",
                                 [(run_id, name, data) for name, data in files.items()])

    def run_file(self, run_id: str, name: str) -> bytes | None:
        """One file of a run, or None."""
        with self._rlock:
            row = self._rd.execute("SELECT data FROM run_files WHERE run_id = ? AND name = ?",
                                   (run_id, name)).fetchone()
        return None if row is None else bytes(row[0])

    def run_file_names(self, run_id: str) -> list[str]:
        """The names of a run's files."""
        with self._rlock:
            return [str(r[0]) for r in self._rd.execute("SELECT name FROM run_files WHERE run_id = ? ORDER BY name",
                                                        (run_id,))]
