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
from matcher.service.index import ExplanationCache, Market, Update
from matcher.service.schemas import (
    PRIVATE_FIELDS,
    PROFILE_NUMBER_MAX,
    Health,
    Liveness,
    MatchRequest,
    Problem,
    Recommendation,
    Recommendations,
    Run,
    RunSummary,
    Skipped,
    UpsertResult,
)
from matcher.service.store import Store
from scoring.reference import gazetteer

__all__ = ["DEALS", "MATCH_MAX_PAIRS", "PRIVATE_FIELDS", "Service", "import_files"]

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
        ids = [str(x) for x in recs.ids.tolist()]
        if ids:
            # everything that can fail before the write transaction, which holds the inserts only
            side = (scoring.prepare_listings if kind == "listing" else scoring.prepare_demands)(recs, self.profile)
            rows = [(rid, json.dumps(row, ensure_ascii=False)) for rid, row in zip(ids, recs.text_rows())]
            with self._write:
                lo, hi = self.store.upsert(kind, rows)  # durable before visible or acknowledged
                self._apply(_Own(kind, recs, side, lo, hi))
        log.info("upsert %s: %d accepted, %d rejected", kind, len(ids), len(rejected))
        return UpsertResult(accepted=ids, rejected=rejected, warnings=warnings)

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
        rk = m.scorer.for_demand(r, k) if kind == "demand" else m.scorer.for_listing(r, k)
        others = rk.index.tolist()
        if kind == "demand":  # one block for the demand's k explanations
            reasons = self.explanations.pairs(m, [r] * len(others), others, feasible=True)
        else:
            reasons = self.explanations.pairs(m, others, [r] * len(others), feasible=True)
        out = []
        for rank, (e, score) in enumerate(zip(reasons, rk.scores.tolist()), start=1):
            out.append(Recommendation(rank=rank, id=str(rk.ids[rank - 1]), score=round(float(score), 6),
                                      reasons_zh=e.zh, reasons_en=e.en,
                                      criteria={name: round(s, 6) for name, s in e.criteria}))
        return Recommendations(id=rid, k=k, recommendations=out)

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
                limit: int = 50, staff: bool = False) -> dict[str, Any]:
        """A page of records in id order, with filters: ``town`` (a gazetteer name: the
        listing's town, or one of the demand's wanted towns), ``deal`` (:data:`DEALS`),
        ``area_min`` / ``area_max`` in ㎡ (a listing's area within them; a demand's
        wanted range overlapping them). ``cursor`` is the ``next_cursor`` of the page
        before; ``total`` counts every record the filters keep."""
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
        with self._matching:
            try:
                r = match(m.demands, m.listings, profile, method=req.method, top_k=min(req.top_k, n_l),
                          locks=pairs_of["locks"], exclude=pairs_of["exclude"])
            except PairConflictError as exc:  # e.g. a demand locked twice
                raise RequestError(("body", exc.where), str(exc)) from None
            pairs: list[dict[str, Any]] = []
            recs: list[dict[str, Any]] = []
            p_at = {c: column(PAIRS, c) for c in ("demand_id", "listing_id", "reasons_zh", "reasons_en")}
            r_at = {c: column(RECOMMENDATIONS, c) for c in ("demand_id", "rank", "listing_id", "score")}
            k = 0
            for p_rows, r_rows in pair_and_recommendation_rows(r, m.listings, m.demands, req.top_k):
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
                                     "unmatched_demands": n_ud, "unmatched_listings": len(unmatched) - n_ud})
        run = Run.model_validate({**summary.model_dump(), "request": req.model_dump(), "pairs": pairs,
                                  "unmatched": unmatched, "recommendations": recs})
        self.store.save_run(summary.id, summary.created, req.model_dump(),
                            summary.model_dump(exclude={"id", "created"}), run.model_dump_json())
        log.info("run %s: %s, %d pairs", summary.id, r.method, len(r))
        return summary

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
