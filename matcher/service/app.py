"""The HTTP service for the portal's matching page (FastAPI, the ``[server]`` extra).

:func:`create_app` builds the application over a :class:`~matcher.service.store.Store`
(SQLite) and an in-memory :class:`~matcher.service.index.Market`. Endpoints, all under
``/v1`` except the health check:

=========================================  ======================================
``PUT /v1/listings``, ``PUT /v1/demands``  bulk upsert (token); per-record errors
``DELETE /v1/listings/{id}`` (and demands) remove one record (token)
``GET /v1/listings/{id}`` (and demands)    one record (without its contact)
``GET /v1/demands/{id}/recommendations``   the best listings, with explanations
``GET /v1/listings/{id}/recommendations``  the best demands, with explanations
``GET /v1/explain``                        one pair, every rule and criterion
``POST /v1/match``                         a global allocation (token); a run id
``GET /v1/runs/{id}``                      a run's pairs and unmatched records
``GET /healthz``                           liveness and counts
=========================================  ======================================

Safety: write endpoints need ``Authorization: Bearer <token>`` (401 otherwise);
bodies over ``max_body_bytes`` get 413; invalid bodies 422 with the field path;
unknown ids 404; an unexpected error is a bare 500 (the traceback stays in the
server's log). Record contents are never logged; only counts and ids.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

import scoring
from matcher.errors import InputFileError
from matcher.records import Demands, Listings
from matcher.service.index import ExplanationCache, Market
from matcher.service.store import Store

__all__ = ["Service", "create_app"]

log = logging.getLogger("changfang.service")

DEFAULT_MAX_BODY = 10 * 2**20
PRIVATE_FIELDS = ("contact",)


class Problem(BaseModel):
    """One problem with one record of a bulk upsert."""

    index: int = Field(description="position of the record in the request array (0-based); -1 for the whole "
                                   "body (e.g. an unknown field, carried through)")
    id: str
    field: str
    value: str
    severity: Literal["error", "warning", "info"]
    reason_zh: str
    reason_en: str


class UpsertResult(BaseModel):
    accepted: list[str] = Field(description="ids stored (new or replaced)")
    rejected: list[Problem] = Field(description="errors: these records were not stored")
    warnings: list[Problem] = Field(description="stored, with a note")


class Recommendation(BaseModel):
    rank: int
    id: str
    score: float
    reasons_zh: str
    reasons_en: str
    criteria: dict[str, float]


class Recommendations(BaseModel):
    id: str
    k: int
    recommendations: list[Recommendation]


class MatchRequest(BaseModel):
    method: Literal["one_to_one", "divisible", "stable"] = "one_to_one"
    profile: dict[str, Any] | None = Field(None, description="profile keys to change (as in a TOML profile)")
    locks: list[tuple[str, str]] = Field(default_factory=list, description="(demand_id, listing_id) pairs signed")
    exclude: list[tuple[str, str]] = Field(default_factory=list, description="(demand_id, listing_id) pairs refused")
    top_k: int = Field(5, ge=1, le=100)


class RunSummary(BaseModel):
    id: str
    created: str
    method: str
    objective: float
    gap: float
    counts: dict[str, int]


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
            raise HTTPException(422, [{"loc": ["body"], "msg": exc.reason, "type": "value_error"}]) from None
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
                m = m.with_listings(recs, seq) if side == "listing" else m.with_demands(recs, seq)
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
            raise HTTPException(404, f"unknown {side} id {record_id!r}")
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
            raise HTTPException(404, f"unknown {side} id {record_id!r}")
        rec = recs.record(rows[record_id])
        for f in PRIVATE_FIELDS:
            rec.pop(f, None)
        return _jsonable(rec)

    def explain(self, demand_id: str, listing_id: str) -> dict[str, Any]:
        m = self.sync()
        if demand_id not in m.d_row:
            raise HTTPException(404, f"unknown demand id {demand_id!r}")
        if listing_id not in m.l_row:
            raise HTTPException(404, f"unknown listing id {listing_id!r}")
        from matcher.written import explain

        return _jsonable(explain(m.scorer, m.d_row[demand_id], m.l_row[listing_id]).to_dict())

    def match(self, req: MatchRequest) -> RunSummary:
        from matcher.match import match

        m = self.sync()
        try:
            profile = scoring.load_profile(req.profile) if req.profile is not None else self.profile
        except scoring.ProfileError as exc:
            raise RequestValidationError([{"loc": ("body", "profile"), "msg": str(exc),
                                           "type": "value_error"}]) from None
        for name, pairs in (("locks", req.locks), ("exclude", req.exclude)):
            for k, (d, l) in enumerate(pairs):
                if d not in m.d_row or l not in m.l_row:
                    raise RequestValidationError([{"loc": ("body", name, k), "type": "value_error",
                                                   "msg": f"unknown id in ({d!r}, {l!r})"}])
        try:
            r = match(m.demands, m.listings, profile, method=req.method, top_k=req.top_k, locks=req.locks,
                      exclude=req.exclude)
        except ValueError as exc:  # e.g. a demand locked twice
            raise RequestValidationError([{"loc": ("body", "locks"), "msg": str(exc), "type": "value_error"}]) from None
        ids_d, ids_l = m.demands.demand_id, m.listings.listing_id
        pairs = []
        for k in range(len(r)):
            e = r.explain(k)
            pairs.append({"demand_id": str(ids_d[r.demand[k]]), "listing_id": str(ids_l[r.listing[k]]),
                          "score": round(float(r.score[k]), 6), "allocated_area_m2": round(float(r.area[k]), 2),
                          "locked": bool(r.locked[k]), "reasons_zh": e.summary("zh"), "reasons_en": e.summary("en")})
        unmatched = [{"side": u.side, "id": u.id, "kind": u.kind, "reason_zh": u.reason_zh,
                      "reason_en": u.reason_en} for u in sorted(r.unmatched, key=lambda u: (u.side, u.id))]
        n_ud = sum(u["side"] == "demand" for u in unmatched)
        summary = RunSummary(id=uuid.uuid4().hex, created=datetime.now(UTC).isoformat(timespec="seconds"),
                             method=req.method, objective=round(float(r.objective), 6), gap=round(float(r.gap), 6),
                             counts={"listings": len(ids_l), "demands": len(ids_d), "matched": len(r),
                                     "unmatched_demands": n_ud, "unmatched_listings": len(unmatched) - n_ud})
        result = {**summary.model_dump(exclude={"id", "created"}), "pairs": pairs, "unmatched": unmatched}
        self.store.save_run(summary.id, summary.created, req.model_dump(), result)
        log.info("run %s: %s, %d pairs", summary.id, req.method, len(r))
        return summary


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


class _TooLarge(BaseException):
    """Raised from ``receive`` past the limit; a BaseException so that no body parser
    turns it into a 400 on its way out to :class:`BodyLimit`."""


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_large = JSONResponse({"detail": f"request body over {self.max_bytes} bytes"}, status_code=413)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await too_large(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited() -> Any:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return msg

        async def tracking(msg: Any) -> None:
            nonlocal started
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, limited, tracking)
        except _TooLarge:
            if not started:
                await too_large(scope, receive, send)


def create_app(db: str = "changfang.db", token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY,
               profile: Any = None) -> FastAPI:
    """The FastAPI application over the database ``db``.

    Parameters
    ----------
    db : str
        SQLite file (created if missing) or ``":memory:"``.
    token : str, optional
        Bearer token for the write endpoints; without one every write gets 401.
    max_body_bytes : int
        Larger request bodies get 413.
    profile : path, mapping or scoring.Profile, optional
        Scoring profile (default the bundled one).
    """
    service = Service(Store(db), profile)
    app = FastAPI(title="changfang", version=_version(),
                  description="Factory space (厂房) on offer matched with the firms that need it.")
    app.state.service = service
    bearer = HTTPBearer(auto_error=False)

    def writer(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if token is None or creds is None or not hmac.compare_digest(creds.credentials.encode(), token.encode()):
            raise HTTPException(401, "a valid bearer token is needed to write", headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return JSONResponse({"detail": "internal server error"}, status_code=500)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Liveness, the market's size, and which server process answered."""
        m = service.sync()
        return {"status": "ok", "listings": len(m.listings), "demands": len(m.demands), "process": os.getpid()}

    for side, plural in (("listing", "listings"), ("demand", "demands")):
        _routes(app, service, side, plural, writer)

    @app.get("/v1/explain")
    def explain(demand_id: str = Query(min_length=1), listing_id: str = Query(min_length=1)) -> dict[str, Any]:
        """One pair: every hard rule (passed or failed, with the values compared) and every
        criterion (inputs, score, weight, contribution), in Chinese and English."""
        return service.explain(demand_id, listing_id)

    @app.post("/v1/match", status_code=201, dependencies=[Depends(writer)])
    def run_match(req: MatchRequest) -> RunSummary:
        """A global allocation over the current market; its result is kept under the run id."""
        return service.match(req)

    @app.get("/v1/runs/{run_id}")
    def get_run(run_id: str) -> dict[str, Any]:
        """A run's summary, its pairs (with reasons) and its unmatched records (with reasons)."""
        run = service.store.run(run_id)
        if run is None:
            raise HTTPException(404, f"unknown run id {run_id!r}")
        return run

    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    return app


def app_from_env() -> FastAPI:
    """:func:`create_app` configured from the environment, for server processes that
    uvicorn starts (``changfang serve --workers N``): ``CHANGFANG_DB``,
    ``CHANGFANG_TOKEN``, ``CHANGFANG_MAX_BODY``, ``CHANGFANG_PROFILE`` and
    ``CHANGFANG_LOG_LEVEL``."""
    import gc
    import sys

    level = os.environ.get("CHANGFANG_LOG_LEVEL")
    if level and not log.handlers:  # the service's own log lines, beside uvicorn's
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(level)
    app = create_app(os.environ.get("CHANGFANG_DB", "changfang.db"), token=os.environ.get("CHANGFANG_TOKEN") or None,
                     max_body_bytes=int(os.environ.get("CHANGFANG_MAX_BODY", DEFAULT_MAX_BODY)),
                     profile=os.environ.get("CHANGFANG_PROFILE") or None)
    gc.freeze()  # the loaded market is long-lived: keep it out of every later collection
    return app


def _routes(app: FastAPI, service: Service, side: str, plural: str, writer: Any) -> None:
    @app.put(f"/v1/{plural}", dependencies=[Depends(writer)], name=f"upsert_{plural}")
    def upsert(records: list[dict[str, Any]] = Body(..., description=f"{plural}: the fields, aliases and "
                                                                     "Chinese headers files take")) -> UpsertResult:
        return service.upsert(side, records)

    @app.delete(f"/v1/{plural}/{{record_id}}", status_code=204, dependencies=[Depends(writer)],
                name=f"delete_{side}")
    def delete(record_id: str) -> Response:
        if not service.delete(side, record_id):
            raise HTTPException(404, f"unknown {side} id {record_id!r}")
        return Response(status_code=204)

    @app.get(f"/v1/{plural}/{{record_id}}", name=f"get_{side}")
    def get(record_id: str) -> dict[str, Any]:
        return service.record(side, record_id)

    @app.get(f"/v1/{plural}/{{record_id}}/recommendations", name=f"recommend_for_{side}",
             response_model=Recommendations)
    async def recommend(record_id: str, k: int = Query(10, ge=1, le=100)) -> Response:
        # short and CPU-bound: run on the event loop (a thread pool only adds GIL
        # switching); the model built here is already valid, so it is dumped directly
        return Response(service.recommendations(side, record_id, k).model_dump_json(), media_type="application/json")


def _version() -> str:
    from matcher import __version__

    return __version__
