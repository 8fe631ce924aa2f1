"""The service's domain layer: the market behind the HTTP routes.

:class:`Service` holds the store (SQLite), the current in-memory snapshot
(:class:`~matcher.service.index.Market`) and the explanation cache, and answers what
the routes ask. It knows nothing of HTTP: it raises the project's own errors
(:class:`~matcher.errors.UnknownIdError`, :class:`~matcher.errors.RequestError`), which
:mod:`matcher.service.app` maps to status codes.

Writes
------
A write is acknowledged if and only if it is committed, and a write that fails leaves
nothing committed: an upsert checks its body (:func:`~matcher.service.checks.check_records`),
reads and prepares its records and encodes what it will store before it opens a write
transaction, which then holds only the inserts. Once committed, the write is applied
to the in-memory market with whatever other processes wrote before it (read from the
change log in a read transaction, never under the write lock); should that fail, the
write stays acknowledged and the next request replays it from the log.

Stored records
--------------
Whatever is in the database, the service starts: a stored record that cannot be read
back or prepared is skipped, logged by id (escaped) and listed by ``GET /v1/health``
(:meth:`Service.health`); it stays in the database until it is written again or
deleted.

Privacy
-------
Without the token a record is served without its :data:`PRIVATE_FIELDS` and without
its carried-through columns (``extra``); no other response holds them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

import scoring
from matcher.errors import InputFileError, PairConflictError, RequestError, UnknownIdError
from matcher.records import DEAL_BOTH, DEAL_LEASE, DEAL_SALE, Demands, Listings
from matcher.service.checks import (
    all_blank,
    check_id,
    check_records,
    complete_columns,
    decode_cursor,
    decode_position,
    encode_cursor,
    encode_position,
    escape,
)
from matcher.service.feedback import FeedbackBook
from matcher.service.index import ExplanationCache, Market, Update
from matcher.service.schemas import (
    PRIVATE_FIELDS,
    PROFILE_NUMBER_MAX,
    FailedRule,
    FeedbackItem,
    FeedbackRequest,
    Health,
    Liveness,
    MatchRequest,
    NearMiss,
    NearMisses,
    Problem,
    Recommendation,
    Recommendations,
    Run,
    RunFile,
    RunFiles,
    RunSummary,
    Skipped,
    UploadProblem,
    UploadResult,
    UpsertResult,
)
from matcher.service.store import Store
from matcher.written import amend
from scoring.reference import gazetteer

__all__ = ["DEALS", "MATCH_MAX_PAIRS", "PRIVATE_FIELDS", "UPLOAD_SUFFIXES", "Service", "import_files"]

log = logging.getLogger("changfang.service")

MATCH_MAX_PAIRS = 10**8
"""Largest market ``POST /v1/match`` allocates (demands × listings: a county, 10k × 10k);
larger markets are for ``changfang match``, which streams its tables."""

LOAD_CHUNK = 10_000
"""Stored records read back per call of the readers (bounds the table a mix of
carried-through columns can make)."""

DEALS = {"listing": {"lease": DEAL_LEASE, "sale": DEAL_SALE, "lease_or_sale": DEAL_BOTH},
         "demand": {"lease": DEAL_LEASE, "buy": DEAL_SALE, "either": DEAL_BOTH}}
"""Deal filters of the record lists: a record matches when its deal includes every kind
the filter names (``lease`` lists lease and lease_or_sale listings)."""


@dataclass(frozen=True)
class _Own:
    """A write this process has just committed: its records, prepared (None for a
    delete), and the numbers of its changes (``lo`` … ``hi``)."""

    kind: str
    records: Any
    side: Any
    lo: int
    hi: int


class Service:
    """The market state behind the app: the store, the current snapshot, the caches."""

    def __init__(self, store: Store, profile: Any = None) -> None:
        self.store = store
        self.profile = scoring.load_profile(profile)
        self._write = threading.Lock()  # this process's writers and replays, one at a time
        self._matching = threading.Lock()  # one allocation at a time (each holds a score matrix)
        self._skipped: dict[tuple[str, str], str] = {}
        self._dv = store.data_version()  # before the snapshot: a commit in between is replayed
        seq, listing_rows, demand_rows = store.snapshot()
        self._seq = seq  # the last change this process's market holds
        listings, l_side = self._load("listing", listing_rows)
        demands, d_side = self._load("demand", demand_rows)
        self.market = Market.build(self.profile, listings, demands, l_side, d_side, rev=seq)
        self.market.scorer.warm()
        self.explanations = ExplanationCache()
        self.feedback = FeedbackBook(store)
        log.info("market loaded: %d listings, %d demands (%d stored records skipped)", len(listings),
                 len(demands), len(self._skipped))

    # ------------------------------------------------------------------ reading the store back

    def _load(self, kind: str, rows: list[tuple[str, str]]) -> tuple[Any, Any]:
        """Stored ``(id, JSON text)`` rows as records and their prepared side; a row that
        cannot be read back or prepared is skipped (logged, kept in ``_skipped``)."""
        dicts: list[dict[str, Any]] = []
        ids: list[str] = []
        for rid, text in rows:
            self._skipped.pop((kind, rid), None)
            try:
                rec = json.loads(text)
                check_records([rec], kind)
            except ValueError as exc:  # not JSON (json.JSONDecodeError) or over a limit (RequestError)
                self._skip(kind, rid, exc.reason if isinstance(exc, RequestError) else "stored data is not JSON")
                continue
            dicts.append(rec)
            ids.append(rid)
        parts = []
        for a in range(0, len(dicts), LOAD_CHUNK):
            parts += self._read(kind, dicts[a:a + LOAD_CHUNK], ids[a:a + LOAD_CHUNK])
        parts = [p for p in parts if len(p)]
        cls = Listings if kind == "listing" else Demands
        recs = cls.concat(parts) if parts else _empty(kind)
        return self._prepare(kind, recs)

    def _read(self, kind: str, dicts: list[dict[str, Any]], ids: list[str]) -> list[Any]:
        """Read stored records; a part the readers cannot read is halved until the
        record that breaks them is found and skipped."""
        from matcher.io.ingest import read_demands, read_listings

        if not dicts:
            return []
        reader = read_listings if kind == "listing" else read_demands
        try:
            res = reader(dicts)
        except MemoryError:
            raise
        except Exception as exc:  # any failure of one stored record must not stop the service
            if len(dicts) == 1:
                self._skip(kind, ids[0], exc.reason if isinstance(exc, InputFileError)
                           else f"cannot be read ({type(exc).__name__})")
                return []
            h = len(dicts) // 2
            return self._read(kind, dicts[:h], ids[:h]) + self._read(kind, dicts[h:], ids[h:])
        why: dict[int, str] = {}
        for p in res.report:
            if p.severity == "error" and p.row >= 2:
                why.setdefault(p.row - 2, f"{p.field}: {p.reason_en}")
        recs = res.records
        at = [int(r) - 2 for r in recs.rows.tolist()]
        got = [str(x) for x in recs.ids.tolist()]
        keep = [k for k, (a, rid) in enumerate(zip(at, got)) if rid == ids[a]]
        for k in set(range(len(got))) - set(keep):
            self._skip(kind, ids[at[k]], "the stored record's id is not the id it is stored under")
        for a in set(range(len(ids))) - set(at):
            self._skip(kind, ids[a], why.get(a, "merged with another stored record"))
        return [recs.take(np.asarray(keep, dtype=np.int64)) if len(keep) < len(got) else recs]

    def _prepare(self, kind: str, recs: Any) -> tuple[Any, Any]:
        """Records and their prepared side; records that cannot be prepared are
        skipped (the part is halved until they are found)."""
        prepare: Callable[[Any, scoring.Profile], Any] = (
            scoring.prepare_listings if kind == "listing" else scoring.prepare_demands)
        try:
            return recs, prepare(recs, self.profile)
        except MemoryError:
            raise
        except Exception as exc:  # one stored record must not stop the service
            if len(recs) <= 1:
                for rid in recs.ids.tolist():
                    self._skip(kind, str(rid), f"cannot be prepared for scoring ({type(exc).__name__})")
                return _empty(kind), prepare(_empty(kind), self.profile)
            h = len(recs) // 2
            (a, sa), (b, sb) = (self._prepare(kind, recs.take(np.arange(h))),
                                self._prepare(kind, recs.take(np.arange(h, len(recs)))))
            side_cls = scoring.ListingSide if kind == "listing" else scoring.DemandSide
            return type(recs).concat([a, b]), side_cls.concat([sa, sb])

    def _skip(self, kind: str, rid: str, why: str) -> None:
        self._skipped[(kind, rid)] = why
        log.warning("stored %s %s skipped: %s", kind, escape(rid), escape(why, 200))

    # ------------------------------------------------------------------ staying current

    def current(self) -> bool:
        """Whether this process's market holds every committed write (one cheap query)."""
        return self.store.data_version() == self._dv

    def sync(self) -> Market:
        """The current market, first replaying what other server processes wrote (the
        change log in the database). Should replaying fail, the market as it was is
        served (and the replay tried again on the next request)."""
        if not self.current():
            with self._write:
                if not self.current():
                    try:
                        self._catch_up()
                    except Exception as exc:  # a reader gets the market as it was, never a 500
                        log.error("replaying changes failed (%s); serving the market as it was",
                                  type(exc).__name__)
        return self.market

    def _catch_up(self, own: _Own | None = None) -> None:
        """Apply every change after ``self._seq`` (call holding ``_write``): read in one
        read transaction (no write lock), applied in memory; ``own`` is a write of this
        process, already committed, whose records need no reading back."""
        dv = self.store.data_version()
        last: dict[tuple[str, str], tuple[int, str]] = {}
        with self.store.reading():
            changes = self.store.changes_since(self._seq)
            for seq, kind, rid, op in changes:
                last[(kind, rid)] = (seq, op)

            def theirs(kind: str, seq: int) -> bool:
                return own is None or own.kind != kind or not own.lo <= seq <= own.hi

            rows = {kind: self.store.fetch(kind, [rid for (k, rid), (seq, op) in last.items()
                                                  if k == kind and op == "upsert" and theirs(kind, seq)])
                    for kind in ("listing", "demand")}
        if not changes:
            self._dv = dv
            return
        seq_now = changes[-1][0]
        updates: dict[str, Update] = {}
        for kind in ("listing", "demand"):
            touched = {rid for (k, rid) in last if k == kind}
            if not touched:
                continue
            recs, side = self._load(kind, rows[kind])
            for rid in touched:
                if last[(kind, rid)][1] == "delete":
                    self._skipped.pop((kind, rid), None)
            if own is not None and own.kind == kind and own.records is not None:
                mine = np.asarray([not theirs(kind, last[(kind, str(x))][0]) for x in own.records.ids.tolist()])
                mine_recs, mine_side = (own.records, own.side) if mine.all() else \
                    (own.records.take(mine), own.side.take(np.flatnonzero(mine)))
                for rid in mine_recs.ids.tolist():
                    self._skipped.pop((kind, str(rid)), None)
                side_cls = scoring.ListingSide if kind == "listing" else scoring.DemandSide
                recs, side = type(recs).concat([recs, mine_recs]), side_cls.concat([side, mine_side])
            updates[kind] = Update(frozenset(touched), recs, side, seq_now)
        m = self.market.updated(updates.get("listing"), updates.get("demand"))
        m.scorer.warm()  # the writer pays for the first query's set-up, not a reader
        self.market, self._seq, self._dv = m, seq_now, dv
        n_theirs = sum(theirs(k, seq) for (k, _), (seq, _) in last.items())
        if n_theirs:
            log.info("replayed %d changes from other processes", n_theirs)

    # ------------------------------------------------------------------ writes

    def upsert(self, kind: str, body: Any) -> UpsertResult:
        """Store the records of an upsert body (a decoded JSON array); the ids stored
        and, per bad record, its index, field, value and reason."""
        from matcher.io.ingest import read_demands, read_listings

        records = check_records(body, kind)
        if all_blank(records):
            return UpsertResult(accepted=[], rejected=[], warnings=[])
        try:
            res = (read_listings if kind == "listing" else read_demands)(complete_columns(records, kind))
        except InputFileError as exc:
            raise RequestError(("body",), exc.reason) from None
        recs = res.records
        problems = [_problem(p) for p in res.report]
        rejected = [p for p in problems if p.severity == "error"]
        warnings = [p for p in problems if p.severity != "error"]
        ids = self._store_records(kind, recs)
        log.info("upsert %s: %d accepted, %d rejected", kind, len(ids), len(rejected))
        return UpsertResult(accepted=ids, rejected=rejected, warnings=warnings)

    def _store_records(self, kind: str, recs: Any) -> list[str]:
        """Store records read by the readers; their ids."""
        ids = [str(x) for x in recs.ids.tolist()]
        if ids:
            # everything that can fail before the write transaction, which holds the inserts only
            side = (scoring.prepare_listings if kind == "listing" else scoring.prepare_demands)(recs, self.profile)
            rows = [(rid, json.dumps(row, ensure_ascii=False)) for rid, row in zip(ids, recs.text_rows())]
            with self._write:
                lo, hi = self.store.upsert(kind, rows)  # durable before visible or acknowledged
                self._apply(_Own(kind, recs, side, lo, hi))
        return ids

    def upload(self, kind: str, filename: str, data: bytes) -> UploadResult:
        """Store the accepted rows of a file staff uploaded (Excel, CSV, JSON; read as
        ``changfang validate`` reads it); every rejected row with its row number, field,
        value and reason."""
        import tempfile
        from pathlib import Path

        from matcher.io.ingest import read_demands, read_listings

        suffix = Path(filename or "").suffix.lower()

        def refused(zh: str, en: str) -> UploadResult:  # the whole file: one rejection, nothing stored
            return UploadResult(rows=0, accepted=[], warnings=[], rejected=[UploadProblem(
                row=0, id="", field="file", value=filename[:200], severity="error", reason_zh=zh, reason_en=en)])

        if suffix not in UPLOAD_SUFFIXES:
            return refused(f"文件须为 {'、'.join(UPLOAD_SUFFIXES)} 之一",
                           f"the file must end with one of {', '.join(UPLOAD_SUFFIXES)}")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(data)
            try:
                res = (read_listings if kind == "listing" else read_demands)(path)
            except InputFileError as exc:
                why = exc.reason.replace(str(path), filename)  # Chinese, then English
                return refused(why, why)
            except Exception as exc:  # a file no reader understands (a picture named .xlsx)
                return refused("无法读取该文件，请确认是 Excel、CSV 或 JSON 表格",
                               f"the file cannot be read as a table ({type(exc).__name__})")
        problems = [UploadProblem.model_validate({"row": p.row, "id": p.id or "", "field": p.field,
                                                  "value": str(p.value)[:200], "severity": p.severity,
                                                  "reason_zh": p.reason_zh, "reason_en": p.reason_en})
                    for p in res.report]
        ids = self._store_records(kind, res.records)
        log.info("upload %s: %d accepted, %d rejected", kind, len(ids), res.report.n_rejected)
        return UploadResult(rows=res.report.n_rows, accepted=ids,
                            rejected=[p for p in problems if p.severity == "error"],
                            warnings=[p for p in problems if p.severity != "error"])

    def _apply(self, own: _Own | None) -> None:
        """After a commit: bring the market up to date; the write stays acknowledged if
        that fails (the next request replays it from the change log)."""
        try:
            self._catch_up(own)
        except Exception as exc:  # committed is acknowledged
            log.error("a committed write could not be applied in memory yet (%s); replayed on the next request",
                      type(exc).__name__)

    def delete(self, kind: str, record_id: str) -> None:
        """Remove one record (:class:`UnknownIdError` when there is none)."""
        rid = check_id(record_id, ("path", "record_id"))
        with self._write:
            seq = self.store.delete(kind, rid)
            if seq is not None:
                self._apply(_Own(kind, None, None, seq, seq))
        if seq is None:
            raise UnknownIdError(kind, rid)
        log.info("deleted %s %s", kind, escape(rid))

    # ------------------------------------------------------------------ reads

    def recommendations(self, kind: str, record_id: str, k: int) -> Recommendations:
        rid = check_id(record_id, ("path", "record_id"))
        m = self.sync()  # one snapshot for the whole request
        rows = m.d_row if kind == "demand" else m.l_row
        if rid not in rows:
            raise UnknownIdError(kind, rid)
        r = rows[rid]
        drop = self.feedback.effects(m).drop(kind, r)  # refused pairs, records signed elsewhere
        rank = m.scorer.for_demand if kind == "demand" else m.scorer.for_listing
        rk = rank(r, k + drop.size)
        keep = np.flatnonzero(~np.isin(rk.index, drop))[:k] if drop.size else np.arange(len(rk.index))
        others = rk.index[keep].tolist()
        if kind == "demand":  # one block for the demand's k explanations
            reasons = self.explanations.pairs(m, [r] * len(others), others, feasible=True)
        else:
            reasons = self.explanations.pairs(m, others, [r] * len(others), feasible=True)
        out = []
        for n, (e, q) in enumerate(zip(reasons, keep.tolist()), start=1):
            out.append(Recommendation(rank=n, id=str(rk.ids[q]), score=round(float(rk.scores[q]), 6),
                                      reasons_zh=e.zh, reasons_en=e.en,
                                      criteria={name: round(s, 6) for name, s in e.criteria},
                                      distance_km=e.distance_km,
                                      summary=_headline(m, "listing" if kind == "demand" else "demand",
                                                        others[n - 1])))
        return Recommendations(id=rid, k=k, recommendations=out)

    def near_misses(self, kind: str, record_id: str, k: int) -> NearMisses:
        """The best infeasible partners of a record and the rules they fail
        (:func:`matcher.nearmiss.near_misses`), refused pairs and records signed
        elsewhere left out."""
        from matcher.nearmiss import near_misses

        rid = check_id(record_id, ("path", "record_id"))
        m = self.sync()
        rows = m.d_row if kind == "demand" else m.l_row
        if rid not in rows:
            raise UnknownIdError(kind, rid)
        r = rows[rid]
        nm = near_misses(m.scorer, r, k, by="demand" if kind == "demand" else "listing",
                         drop=self.feedback.effects(m).drop(kind, r))
        others = nm.index.tolist()
        if kind == "demand":
            es = m.scorer.explain_row(r, others, rules=True)
        else:
            es = m.scorer.explain_many(others, [r] * len(others), rules=True)
        items = []
        for n, (q, e) in enumerate(zip(others, es), start=1):
            e = amend(e, m.demands, r if kind == "demand" else q)
            dist = next((c.inputs.get("distance_km") for c in e.criteria if c.name == "location"), None)
            items.append(NearMiss(
                rank=n, id=str(e.listing_id if kind == "demand" else e.demand_id),
                score=round(float(nm.relaxed[n - 1]), 6),
                failed=[FailedRule(name=x.name, label_zh=x.label_zh, label_en=x.label_en, demand=_jsonable(x.demand),
                                   listing=_jsonable(x.listing), zh=x.zh, en=x.en) for x in e.rules if not x.passed],
                distance_km=_finite(round(float(dist), 3)) if dist is not None else None,
                summary=_headline(m, "listing" if kind == "demand" else "demand", q)))
        return NearMisses(id=rid, k=k, items=items)

    def record_map(self, kind: str, record_id: str, proposed: list[str], near: list[str]) -> str:
        """The record's map (inline SVG): the county's towns by name, the record's places
        and the partners named in ``proposed`` (best first) and ``near`` (ids of the other
        side; unknown ids are left out)."""
        from matcher.viz.recordmap import demand_map, listing_map

        rid = check_id(record_id, ("path", "record_id"))
        m = self.sync()
        rows, other = (m.d_row, m.l_row) if kind == "demand" else (m.l_row, m.d_row)
        if rid not in rows:
            raise UnknownIdError(kind, rid)
        r = rows[rid]
        p_rows = [other[x] for x in proposed if x in other]
        n_rows = [other[x] for x in near if x in other and other[x] not in p_rows]
        towns = m.scorer.towns
        labels = {}
        for n, q in enumerate(p_rows, 1):
            labels[q] = f"第 {n} 名 · " + _label(m, "listing" if kind == "demand" else "demand", q)
        for q in n_rows:
            labels[q] = "差一点 · " + _label(m, "listing", q)
        if kind == "demand":
            return demand_map(m.d_side, m.l_side, towns, r, m.d_side.wanted_towns(r).tolist(), p_rows, n_rows,
                              labels)
        return listing_map(m.l_side, m.d_side, towns, r, p_rows, labels)

    # ------------------------------------------------------------------ feedback

    def add_feedback(self, req: FeedbackRequest, who: str) -> FeedbackItem:
        """Record feedback on a pair (both records must exist). A firm signs one plant at
        a time, and a plant taken whole (or without room for another unit) cannot be
        signed by another firm: record 不合适 on the old pair first."""
        did, lid = req.demand_id, req.listing_id  # ids of records that exist pass the id rule
        m = self.sync()
        if did not in m.d_row:
            raise UnknownIdError("demand", did)
        if lid not in m.l_row:
            raise UnknownIdError("listing", lid)
        if req.action == "signed":
            settled = self.feedback.settled()
            other = [x for x in settled.signed_by(did) if x != lid]
            if other:
                raise RequestError(("body", "demand_id"),
                                   f"demand {did} has already signed listing {other[0]}; record refused on that pair "
                                   "first", f"该需求已与房源 {other[0]} 签约；如已解约，请先在该配对上记录“不合适”")
            if settled.last.get((did, lid)) != "signed" and self.feedback.effects(m).taken[m.l_row[lid]]:
                raise RequestError(("body", "listing_id"), f"listing {lid} has been signed by another firm and has no "
                                                            "room left", "该房源已与其他企业签约，没有剩余面积")
        created = datetime.now(UTC).isoformat(timespec="seconds")
        seq = self.store.add_feedback(did, lid, req.action, req.note, who, created)
        log.info("feedback %d: %s", seq, req.action)
        return FeedbackItem(seq=seq, demand_id=did, listing_id=lid, action=req.action, note=req.note, who=who,
                            created=created)

    def feedback_page(self, demand_id: str | None, listing_id: str | None, cursor: str | None,
                      limit: int) -> dict[str, Any]:
        """Feedback, oldest first, by pages; of one demand or one listing when named."""
        after = 0 if cursor is None else decode_position(cursor)
        rows = self.store.feedback(after, limit + 1, demand_id, listing_id)
        items = [FeedbackItem(seq=a, demand_id=b, listing_id=c, action=d, note=e, who=f, created=g)  # type: ignore[arg-type]
                 for a, b, c, d, e, f, g in rows[:limit]]
        return {"items": items, "next_cursor": encode_position(rows[limit - 1][0]) if len(rows) > limit else None}

    def feedback_csv(self, demand_id: str | None, listing_id: str | None) -> str:
        """All feedback as CSV (UTF-8 with a byte-order mark; ``changfang match --feedback``
        reads it): demand_id, listing_id, action, note, who, created."""
        import csv
        import io

        from matcher.io.export import csv_text

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["demand_id", "listing_id", "action", "note", "who", "created"])
        for _, d, l, a, note, who, created in self.store.feedback(0, None, demand_id, listing_id):
            w.writerow([csv_text(x) for x in (d, l, a, note, who, created)])
        return "\ufeff" + buf.getvalue()

    def record(self, kind: str, record_id: str, staff: bool = False) -> dict[str, Any]:
        """One record; without ``staff`` (the token) its private fields left out."""
        rid = check_id(record_id, ("path", "record_id"))
        m = self.sync()
        rows, recs = (m.l_row, m.listings) if kind == "listing" else (m.d_row, m.demands)
        if rid not in rows:
            raise UnknownIdError(kind, rid)
        return _record(recs, rows[rid], staff)

    def records(self, kind: str, *, town: str | None = None, deal: str | None = None,
                area_min: float | None = None, area_max: float | None = None, cursor: str | None = None,
                limit: int = 50, staff: bool = False, industry: str | None = None,
                q: str | None = None) -> dict[str, Any]:
        """A page of records in id order, with filters: ``town`` (a gazetteer name: the
        listing's town, or one of the demand's wanted towns), ``deal`` (:data:`DEALS`),
        ``area_min`` / ``area_max`` in ㎡ (a listing's area within them; a demand's
        wanted range overlapping them), ``industry`` (a GB/T 4754 code or prefix: a
        demand's code under it; a listing that would admit it, neither outside its
        allowed prefixes nor under a banned one), ``q`` (text in the id, the company
        or the owner, any case). ``cursor`` is the ``next_cursor`` of the page before;
        ``total`` counts every record the filters keep."""
        m = self.sync()
        recs = m.listings if kind == "listing" else m.demands
        keep = np.ones(len(recs), dtype=bool)
        if town is not None:
            t = _town(town)
            if kind == "listing":
                keep &= m.listings.town == t
            else:
                towns = m.demands.towns
                hit = np.zeros(len(recs), dtype=bool)
                hit[towns.row_index[towns.values == t]] = True
                keep &= hit
        if deal is not None:
            want = DEALS[kind].get(deal)
            if want is None:
                raise RequestError(("query", "deal"), f"deal must be one of {', '.join(DEALS[kind])}")
            keep &= (recs.deal & want) == want
        with np.errstate(invalid="ignore"):
            if kind == "listing":
                if area_min is not None:
                    keep &= m.listings.area_m2 >= area_min
                if area_max is not None:
                    keep &= m.listings.area_m2 <= area_max
            else:
                if area_min is not None:
                    keep &= m.demands.area_max_m2 >= area_min
                if area_max is not None:
                    keep &= m.demands.area_min_m2 <= area_max
        if industry:
            keep &= _industry_mask(recs, kind, industry)
        if q:
            keep &= _text_mask(recs, kind, q)
        order, sorted_ids = m.l_order if kind == "listing" else m.d_order
        start = 0 if cursor is None else int(np.searchsorted(sorted_ids, decode_cursor(cursor), side="right"))
        rows = order[start:][keep[order[start:]]][:limit + 1]
        items = [_record(recs, int(r), staff) for r in rows[:limit].tolist()]
        more = len(rows) > limit
        next_cursor = encode_cursor(str(recs.ids[rows[limit - 1]])) if more else None
        return {"items": items, "total": int(keep.sum()), "next_cursor": next_cursor}

    def explain(self, demand_id: str, listing_id: str) -> dict[str, Any]:
        did = check_id(demand_id, ("query", "demand_id"))
        lid = check_id(listing_id, ("query", "listing_id"))
        m = self.sync()
        if did not in m.d_row:
            raise UnknownIdError("demand", did)
        if lid not in m.l_row:
            raise UnknownIdError("listing", lid)
        from matcher.written import explain

        return _jsonable(explain(m.scorer, m.d_row[did], m.l_row[lid]).to_dict())

    # ------------------------------------------------------------------ runs

    def match(self, req: MatchRequest) -> RunSummary:
        """A global allocation of the current market, kept as a run."""
        from matcher.batch.results import PAIRS, RECOMMENDATIONS, column, pair_and_recommendation_rows
        from matcher.match import match

        m = self.sync()
        n_d, n_l = len(m.demands), len(m.listings)
        if n_d * n_l > MATCH_MAX_PAIRS:
            raise RequestError(("body",), f"the market has {n_d} × {n_l} pairs; the service allocates up to "
                                          f"{MATCH_MAX_PAIRS:.0e} (use changfang match for larger ones)")
        try:
            _check_profile(req.profile, ("body", "profile"))
            profile = scoring.load_profile(req.profile) if req.profile is not None else self.profile
        except scoring.ProfileError as exc:
            raise RequestError(("body", "profile"), str(exc)) from None
        pairs_of: dict[str, list[tuple[str, str]]] = {}
        for name, given in (("locks", req.locks), ("exclude", req.exclude)):
            pairs_of[name] = []
            for k, (d_raw, l_raw) in enumerate(given):  # the file readers' id rule, as on paths
                d, l = check_id(d_raw, ("body", name, k, 0)), check_id(l_raw, ("body", name, k, 1))
                if d not in m.d_row:
                    raise UnknownIdError("demand", d, name)
                if l not in m.l_row:
                    raise UnknownIdError("listing", l, name)
                pairs_of[name].append((d, l))
        # what staff recorded: signed pairs locked, refused ones excluded (records since
        # deleted are left out); the request's own come on top
        settled = self.feedback.settled()
        own_locks, own_exclude = set(pairs_of["locks"]), set(pairs_of["exclude"])
        fb_locks = [p for p in settled.locks if p[0] in m.d_row and p[1] in m.l_row and tuple(p) not in own_locks]
        fb_exclude = [p for p in settled.exclude
                      if p[0] in m.d_row and p[1] in m.l_row and tuple(p) not in own_exclude]
        with self._matching:
            try:
                r = match(m.demands, m.listings, profile, method=req.method, top_k=min(req.top_k, n_l),
                          locks=[*pairs_of["locks"], *fb_locks], exclude=[*pairs_of["exclude"], *fb_exclude])
            except PairConflictError as exc:  # e.g. a demand locked twice
                raise RequestError(("body", exc.where), str(exc), exc.reason_zh) from None
            pairs: list[dict[str, Any]] = []
            recs: list[dict[str, Any]] = []
            all_pairs: list[list[Any]] = []
            all_recs: list[list[Any]] = []
            p_at = {c: column(PAIRS, c) for c in ("demand_id", "listing_id", "reasons_zh", "reasons_en")}
            r_at = {c: column(RECOMMENDATIONS, c) for c in ("demand_id", "rank", "listing_id", "score")}
            k = 0
            for p_rows, r_rows in pair_and_recommendation_rows(r, m.listings, m.demands, req.top_k):
                all_pairs += p_rows
                all_recs += r_rows
                for row in p_rows:  # pairs come in demand id order, as r's
                    score = float(r.score[k])
                    pairs.append({"demand_id": row[p_at["demand_id"]], "listing_id": row[p_at["listing_id"]],
                                  "score": round(score, 6) if np.isfinite(score) else None,
                                  "allocated_area_m2": _finite(round(float(r.area[k]), 2)),
                                  "locked": bool(r.locked[k]), "reasons_zh": row[p_at["reasons_zh"]],
                                  "reasons_en": row[p_at["reasons_en"]]})
                    k += 1
                recs += [{c: row[at] for c, at in r_at.items()} for row in r_rows]
        unmatched = [{"side": u.side, "id": u.id, "kind": u.kind, "reason_zh": u.reason_zh,
                      "reason_en": u.reason_en} for u in sorted(r.unmatched, key=lambda u: (u.side, u.id))]
        n_ud = sum(u["side"] == "demand" for u in unmatched)
        summary = RunSummary(id=uuid.uuid4().hex, created=datetime.now(UTC).isoformat(timespec="seconds"),
                             method=r.method, objective=round(float(r.objective), 6), gap=round(float(r.gap), 6),
                             counts={"listings": n_l, "demands": n_d, "matched": len(r),
                                     "unmatched_demands": n_ud, "unmatched_listings": len(unmatched) - n_ud,
                                     "locked": int(np.asarray(r.locked).sum()), "signed_by_feedback": len(fb_locks),
                                     "refused_by_feedback": len(fb_exclude)})
        run = Run.model_validate({**summary.model_dump(), "request": req.model_dump(), "pairs": pairs,
                                  "unmatched": unmatched, "recommendations": recs})
        files = self._run_files(r, m, all_pairs, all_recs, req.top_k, req.per_party)
        self.store.save_run(summary.id, summary.created, req.model_dump(),
                            summary.model_dump(exclude={"id", "created"}), run.model_dump_json())
        self.store.save_run_files(summary.id, files)
        log.info("run %s: %s, %d pairs", summary.id, r.method, len(r))
        return summary

    def _run_files(self, r: Any, m: Market, pairs: list[list[Any]], recs: list[list[Any]],
                   top_k: int, per_party: bool) -> dict[str, bytes]:
        """``result.xlsx`` and, when asked on markets up to PARTIES_MAX_RECORDS, each
        party's workbook."""
        from matcher.service.runfiles import PARTIES_MAX_RECORDS, party_workbooks, result_workbook

        files = {"result.xlsx": result_workbook(pairs, recs, r)}
        if per_party and len(m.listings) + len(m.demands) <= PARTIES_MAX_RECORDS:
            files.update({f"parties/{name}": data for name, data in
                          party_workbooks(r, m.listings, m.demands, max(top_k, 1)).items()})
        return files

    def run_files(self, run_id: str) -> RunFiles:
        """The names and sizes of a run's files (staff only: party workbooks hold contacts)."""
        from matcher.service.runfiles import PARTIES_MAX_RECORDS

        if self.store.run(run_id) is None:
            raise UnknownIdError("run", run_id)
        names = self.store.run_file_names(run_id)
        sizes = [RunFile(name=n, bytes=len(self.store.run_file(run_id, n) or b"")) for n in names]
        parties = [f for f in sizes if f.name.startswith("parties/")]
        if parties:
            sizes.append(RunFile(name="parties.zip", bytes=-1))
        request = (self.store.run(run_id) or ("", {}, "", False))[1]
        note = "" if parties else (f"市场超过 {PARTIES_MAX_RECORDS} 条记录，未生成分方工作簿；请用 changfang match "
                                   "--per-party 生成" if request.get("per_party") else "本次匹配未要求生成分方工作簿")
        return RunFiles(files=sizes, parties_note=note)

    def run_file(self, run_id: str, name: str) -> bytes:
        """One file of a run: ``result.xlsx``, ``parties.zip`` (every party's workbook) or
        ``parties/<name>.xlsx``."""
        from matcher.service.runfiles import zip_files

        if self.store.run(run_id) is None:
            raise UnknownIdError("run", run_id)
        if name == "parties.zip":
            files = {n.removeprefix("parties/"): self.store.run_file(run_id, n) or b""
                     for n in self.store.run_file_names(run_id) if n.startswith("parties/")}
            if not files:
                raise UnknownIdError("file", name)
            return zip_files(files)
        data = self.store.run_file(run_id, name)
        if data is None:
            raise UnknownIdError("file", name)
        return data

    def run_json(self, run_id: str) -> str:
        """A stored run (a :class:`~matcher.service.schemas.Run`) as JSON text."""
        got = self.store.run(run_id)
        if got is None:
            raise UnknownIdError("run", run_id)
        created, request, text, current = got
        if current:
            return text
        old = json.loads(text)  # a run stored before runs kept their whole document
        return Run.model_validate({**old, "id": run_id, "created": created, "request": request,
                                   "recommendations": []}).model_dump_json()

    def runs(self, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """A page of runs, newest first (their summaries)."""
        before = None if cursor is None else decode_position(cursor)
        rows = self.store.runs(before, limit + 1)
        items = [RunSummary(id=rid, created=created, **summary) for _, rid, created, summary in rows[:limit]]
        return {"items": items, "next_cursor": encode_position(rows[limit - 1][0]) if len(rows) > limit else None}

    # ------------------------------------------------------------------ health

    def liveness(self) -> Liveness:
        """The market's size and which server process answered."""
        m = self.sync()
        return Liveness(status="ok", listings=len(m.listings), demands=len(m.demands), process=os.getpid())

    def health(self) -> Health:
        """:meth:`liveness`, and the stored records this process skipped (the first
        100, and how many)."""
        m = self.sync()
        skipped = sorted(self._skipped.items())
        return Health(status="ok", listings=len(m.listings), demands=len(m.demands), process=os.getpid(),
                      skipped_count=len(skipped),
                      skipped=[Skipped.model_validate({"side": k, "id": rid, "reason": why})
                               for (k, rid), why in skipped[:100]])


def import_files(store: Store, listings: str, demands: str) -> dict[str, int]:
    """Store the records of a listings file and a demands file (any format the readers
    take), one transaction per side, as ``PUT`` stores them (``changfang serve --load``):
    the fast way to fill a large market. Running servers replay them from the change
    log. Returns the counts stored and rejected per side.

    Raises
    ------
    matcher.errors.InputFileError
        A file that cannot be read as that side's table.
    """
    from matcher.io.ingest import read_demands, read_listings

    out: dict[str, int] = {}
    for kind, path, reader in (("listing", listings, read_listings), ("demand", demands, read_demands)):
        res = reader(path)
        recs = res.records
        rows = [(str(rid), json.dumps(row, ensure_ascii=False)) for rid, row in zip(recs.ids.tolist(),
                                                                                      recs.text_rows())]
        if rows:
            store.upsert(kind, rows)
        out[f"{kind}s"], out[f"{kind}s_rejected"] = len(rows), res.report.n_rejected
        log.info("loaded %d %ss from a file (%d rejected)", len(rows), kind, res.report.n_rejected)
    return out


def _check_profile(x: Any, loc: tuple[str | int, ...]) -> None:
    """What the service asks of a profile change beyond the loader: numbers within
    ±:data:`PROFILE_NUMBER_MAX`, ``timing.as_of`` empty or a date ``YYYY-MM-DD``
    (RequestError)."""
    if isinstance(x, dict):
        for k, v in x.items():
            _check_profile(v, (*loc, str(k)))
    elif isinstance(x, (int, float)) and not isinstance(x, bool) and abs(x) > PROFILE_NUMBER_MAX:
        raise RequestError(loc, f"must be at most {PROFILE_NUMBER_MAX:.0e}")
    elif loc[-2:] == ("timing", "as_of") and isinstance(x, str) and x:
        try:
            ok = bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", x)) and date.fromisoformat(x) is not None
        except ValueError:
            ok = False
        if not ok:
            raise RequestError(loc, "must be a date such as 2027-01-01, or empty")


UPLOAD_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt", ".json", ".jsonl")
"""File types the upload page takes (what the readers read)."""

_HEADLINE = {"listing": ("listing_id", "deal", "town", "address", "park", "area_m2", "min_unit_m2", "rent",
                         "sale_price", "negotiable", "owner"),
             "demand": ("demand_id", "company", "deal", "area_min_m2", "area_max_m2", "towns", "max_rent",
                        "max_sale_price", "industry_code")}


def _industry_mask(recs: Any, kind: str, code: str) -> np.ndarray:
    """Records of an industry: a demand's code under ``code``; a listing admitting it."""
    if kind == "demand":
        return np.char.startswith(np.asarray(recs.industry_code, dtype=str), code)
    allowed, banned = recs.industries_allowed, recs.industries_banned
    out = np.ones(len(recs), dtype=bool)
    for j in range(len(recs)):
        ok = [str(x) for x in allowed[j]]
        if (ok and not any(code.startswith(a) or a.startswith(code) for a in ok)) or \
                any(code.startswith(str(b)) for b in banned[j]):
            out[j] = False
    return out


def _text_mask(recs: Any, kind: str, q: str) -> np.ndarray:
    """Records whose id, company (demands) or owner (listings) holds ``q``, any case."""
    needle = q.strip().casefold()
    names = recs.company if kind == "demand" else recs.owner
    ids = recs.ids
    return np.fromiter((needle in str(a).casefold() or needle in str(b).casefold() for a, b in zip(ids, names)),
                       dtype=bool, count=len(recs))


def _headline(m: Market, kind: str, row: int) -> dict[str, Any]:
    """A record's headline fields, as a recommendation shows the partner (no contact)."""
    recs: Any = m.listings if kind == "listing" else m.demands
    out: dict[str, Any] = {}
    for f in _HEADLINE[kind]:
        if f == "town":
            t = int(recs.town[row])
            out[f] = str(m.scorer.towns.names[t]) if t >= 0 else None
        elif f == "towns":
            out[f] = [str(x) for x in recs.town_names(row)]
        elif f == "deal":
            out[f] = next((name for name, bits in DEALS[kind].items() if bits == int(recs.deal[row])), None)
        else:
            out[f] = _jsonable(getattr(recs, f)[row])
    return out


def _label(m: Market, kind: str, row: int) -> str:
    """One line for a map's hover text: id, town, area, price."""
    h = _headline(m, kind, row)
    if kind == "listing":
        parts = [f"房源 {h['listing_id']}", h.get("town") or "", f"{h['area_m2']:g}㎡" if h.get("area_m2") else ""]
        if h.get("rent"):
            parts.append(f"{h['rent']:g} 元/㎡/月")
        return " · ".join(p for p in parts if p)
    return " · ".join(p for p in (f"需求 {h['demand_id']}", str(h.get("company") or "")) if p)


def _empty(kind: str) -> Any:
    cls = Listings if kind == "listing" else Demands
    return cls.from_columns({cls.ID: np.zeros(0, dtype=str)})


def _town(name: str) -> int:
    names = [str(x) for x in gazetteer().names]
    if name not in names:
        raise RequestError(("query", "town"), f"unknown town; one of {'、'.join(names)}", "未知镇街")
    return names.index(name)


def _record(recs: Any, i: int, staff: bool) -> dict[str, Any]:
    """Record ``i`` as the API serves it: canonical fields, what the record said where a
    field has no value (``unread``), and with ``staff`` the private fields and the
    carried-through columns (``extra``)."""
    rec = recs.record(i)
    extra = {k: rec.pop(k) for k in list(recs.extra)}
    out = _jsonable(rec)
    out["unread"] = {k: str(v[i]) for k, v in recs.unread.items() if v[i] and k not in PRIVATE_FIELDS}
    if staff:
        out["extra"] = extra
    else:
        for f in PRIVATE_FIELDS:
            out.pop(f, None)
    return out


def _problem(p: Any) -> Problem:
    return Problem(index=p.row - 2 if p.row >= 2 else -1, id=p.id or "", field=p.field, value=str(p.value),
                   severity=p.severity, reason_zh=p.reason_zh, reason_en=p.reason_en)


def _finite(x: float) -> float | None:
    return x if np.isfinite(x) else None


def _jsonable(x: Any) -> Any:
    """Plain JSON values: NaN and infinities become None, numpy scalars Python ones,
    dates ISO text."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if hasattr(x, "isoformat"):
        return x.isoformat()
    return x
