"""The service's domain layer: the market behind the HTTP routes.

:class:`Service` holds the store (SQLite), the current in-memory snapshot
(:class:`~matcher.service.index.Market`) and the explanation cache, and answers what
the routes ask. It knows nothing of HTTP: it raises the project's own errors
(:class:`~matcher.errors.UnknownIdError`, :class:`~matcher.errors.RequestError`), which
:mod:`matcher.service.app` maps to status codes.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import numpy as np

import scoring
from matcher.errors import InputFileError, PairConflictError, RequestError, UnknownIdError
from matcher.records import Demands, Listings
from matcher.service.index import ExplanationCache, Market
from matcher.service.schemas import MatchRequest, Problem, Recommendation, Recommendations, RunSummary, UpsertResult
from matcher.service.store import Store

__all__ = ["PRIVATE_FIELDS", "Service"]

log = logging.getLogger("changfang.service")

PRIVATE_FIELDS = ("contact",)
"""Fields never served without the token."""


class Service:
    """The market state behind the app: the store, the current snapshot, the caches."""

    def __init__(self, store: Store, profile: Any = None) -> None:
        self.store = store
        self.profile = scoring.load_profile(profile)
        self._write = threading.Lock()
        seq, listing_rows, demand_rows = store.snapshot()
        self._seq = seq  # the last change this process's market holds
        self._dv = store.data_version()
        listings, demands = _read("listing", listing_rows), _read("demand", demand_rows)
        self.market = Market.build(self.profile, listings, demands, rev=seq)
        self.market.scorer.warm()
        self.explanations = ExplanationCache()
        log.info("market loaded: %d listings, %d demands", len(listings), len(demands))

    def sync(self) -> Market:
        """The current market, first replaying what other server processes wrote (the
        change log in the database); one cheap query when nothing changed."""
        if self.store.data_version() != self._dv:
            with self._write, self.store.transaction():
                self._catch_up()
        return self.market

    def _catch_up(self) -> None:
        """Apply the changes after ``self._seq`` (call holding the write lock, inside a
        store transaction)."""
        self._dv = self.store.data_version()
        changes = self.store.changes_since(self._seq)
        if not changes:
            return
        last: dict[tuple[str, str], str] = {}
        for _, side, rid, op in changes:
            last[(side, rid)] = op
        m, seq = self.market, changes[-1][0]
        for side in ("listing", "demand"):
            ups = [rid for (s, rid), op in last.items() if s == side and op == "upsert"]
            gone = [rid for (s, rid), op in last.items() if s == side and op == "delete"]
            if ups:
                recs = _read(side, self.store.fetch(side, ups))
                m = m.with_listings(recs, seq) if side == "listing" else m.with_demands(recs, seq)
            for rid in gone:
                if rid in (m.l_row if side == "listing" else m.d_row):
                    m = m.without(side, rid)
        m.scorer.warm()
        self.market, self._seq = m, seq
        log.info("replayed %d changes from other processes", len(changes))

    def upsert(self, side: str, body: list[dict[str, Any]]) -> UpsertResult:
        from matcher.io.ingest import read_demands, read_listings

        reader = read_listings if side == "listing" else read_demands
        if not body:
            return UpsertResult(accepted=[], rejected=[], warnings=[])
        try:
            res = reader(body)
        except InputFileError as exc:
            raise RequestError(("body",), exc.reason) from None
        recs = res.records
        problems = [_problem(p) for p in res.report]
        rejected = [p for p in problems if p.severity == "error"]
        warnings = [p for p in problems if p.severity != "error"]
        ids = [str(x) for x in recs.ids]
        if ids:
            rows = list(zip(ids, recs.text_rows()))
            with self._write:
                with self.store.transaction():  # other processes' writes wait; theirs come first
                    self._catch_up()
                    seq = self.store.upsert(side, rows)  # durable before visible or acknowledged
                m = self.market
                m = m.with_listings(recs, seq) if isinstance(recs, Listings) else m.with_demands(recs, seq)
                m.scorer.warm()  # the writer pays for the first query's set-up, not a reader
                self.market, self._seq = m, seq
        log.info("upsert %s: %d accepted, %d rejected", side, len(ids), len(rejected))
        return UpsertResult(accepted=ids, rejected=rejected, warnings=warnings)

    def delete(self, side: str, record_id: str) -> bool:
        with self._write:
            with self.store.transaction():
                self._catch_up()
                seq = self.store.delete(side, record_id)
            if seq is None:
                return False
            m = self.market.without(side, record_id)
            m.scorer.warm()
            self.market, self._seq = m, seq
        log.info("deleted %s %s", side, record_id)
        return True

    def recommendations(self, side: str, record_id: str, k: int) -> Recommendations:
        m = self.sync()  # one snapshot for the whole request
        rows = m.d_row if side == "demand" else m.l_row
        if record_id not in rows:
            raise UnknownIdError(side, record_id)
        r = rows[record_id]
        rk = m.scorer.for_demand(r, k) if side == "demand" else m.scorer.for_listing(r, k)
        others = rk.index.tolist()
        if side == "demand":  # one block for the demand's k explanations
            reasons = self.explanations.pairs(m, [r] * len(others), others, feasible=True)
        else:
            reasons = self.explanations.pairs(m, others, [r] * len(others), feasible=True)
        out = []
        for rank, (e, score) in enumerate(zip(reasons, rk.scores.tolist()), start=1):
            out.append(Recommendation(rank=rank, id=str(rk.ids[rank - 1]), score=round(float(score), 6),
                                      reasons_zh=e.zh, reasons_en=e.en,
                                      criteria={name: round(s, 6) for name, s in e.criteria}))
        return Recommendations(id=record_id, k=k, recommendations=out)

    def record(self, side: str, record_id: str) -> dict[str, Any]:
        m = self.sync()
        rows, recs = (m.l_row, m.listings) if side == "listing" else (m.d_row, m.demands)
        if record_id not in rows:
            raise UnknownIdError(side, record_id)
        rec = recs.record(rows[record_id])
        for f in PRIVATE_FIELDS:
            rec.pop(f, None)
        return _jsonable(rec)

    def explain(self, demand_id: str, listing_id: str) -> dict[str, Any]:
        m = self.sync()
        if demand_id not in m.d_row:
            raise UnknownIdError("demand", demand_id)
        if listing_id not in m.l_row:
            raise UnknownIdError("listing", listing_id)
        from matcher.written import explain

        return _jsonable(explain(m.scorer, m.d_row[demand_id], m.l_row[listing_id]).to_dict())

    def match(self, req: MatchRequest) -> RunSummary:
        from matcher.match import match

        m = self.sync()
        try:
            profile = scoring.load_profile(req.profile) if req.profile is not None else self.profile
        except scoring.ProfileError as exc:
            raise RequestError(("body", "profile"), str(exc)) from None
        for name, given in (("locks", req.locks), ("exclude", req.exclude)):
            for k, (d, l) in enumerate(given):
                if d not in m.d_row or l not in m.l_row:
                    raise RequestError(("body", name, k), f"unknown id in ({d!r}, {l!r})")
        try:
            r = match(m.demands, m.listings, profile, method=req.method, top_k=req.top_k, locks=req.locks,
                      exclude=req.exclude)
        except PairConflictError as exc:  # e.g. a demand locked twice
            raise RequestError(("body", exc.where), str(exc)) from None
        ids_d, ids_l = m.demands.demand_id, m.listings.listing_id
        pairs: list[dict[str, Any]] = []
        for k in range(len(r)):
            e = r.explain(k)
            pairs.append({"demand_id": str(ids_d[r.demand[k]]), "listing_id": str(ids_l[r.listing[k]]),
                          "score": round(float(r.score[k]), 6), "allocated_area_m2": round(float(r.area[k]), 2),
                          "locked": bool(r.locked[k]), "reasons_zh": e.summary("zh"), "reasons_en": e.summary("en")})
        unmatched = [{"side": u.side, "id": u.id, "kind": u.kind, "reason_zh": u.reason_zh,
                      "reason_en": u.reason_en} for u in sorted(r.unmatched, key=lambda u: (u.side, u.id))]
        n_ud = sum(u["side"] == "demand" for u in unmatched)
        summary = RunSummary(id=uuid.uuid4().hex, created=datetime.now(UTC).isoformat(timespec="seconds"),
                             method=r.method, objective=round(float(r.objective), 6), gap=round(float(r.gap), 6),
                             counts={"listings": len(ids_l), "demands": len(ids_d), "matched": len(r),
                                     "unmatched_demands": n_ud, "unmatched_listings": len(unmatched) - n_ud})
        result = {**summary.model_dump(exclude={"id", "created"}), "pairs": pairs, "unmatched": unmatched}
        self.store.save_run(summary.id, summary.created, req.model_dump(), result)
        log.info("run %s: %s, %d pairs", summary.id, r.method, len(r))
        return summary

    def run(self, run_id: str) -> dict[str, Any]:
        """A stored run: its request, summary, pairs and unmatched records."""
        run = self.store.run(run_id)
        if run is None:
            raise UnknownIdError("run", run_id)
        return run

    def health(self) -> dict[str, Any]:
        """Liveness, the market's size, and which server process answered."""
        m = self.sync()
        return {"status": "ok", "listings": len(m.listings), "demands": len(m.demands), "process": os.getpid()}


def _read(side: str, rows: list[dict[str, Any]]) -> Any:
    """Stored records (canonical text) back into records."""
    from matcher.io.ingest import read_demands, read_listings

    cls = Listings if side == "listing" else Demands
    if not rows:
        return cls.from_columns({cls.ID: np.zeros(0, dtype=str)})
    return (read_listings if side == "listing" else read_demands)(rows).records


def _problem(p: Any) -> Problem:
    return Problem(index=p.row - 2 if p.row >= 2 else -1, id=p.id or "", field=p.field, value=str(p.value),
                   severity=p.severity, reason_zh=p.reason_zh, reason_en=p.reason_en)


def _jsonable(x: Any) -> Any:
    """Plain JSON values: NaN and infinities become None, numpy scalars Python ones."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x
