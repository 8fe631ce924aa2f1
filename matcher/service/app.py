"""The HTTP service for the portal's matching page (FastAPI, the ``[server]`` extra).

:func:`create_app` builds the application: thin routes over the domain layer
(:class:`~matcher.service.domain.Service`), which raises the project's own errors;
the exception handlers here map them to status codes. Endpoints, all under ``/v1``
except the health check:

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

Errors and their statuses: :class:`~matcher.errors.UnknownIdError` 404,
:class:`~matcher.errors.RequestError` 422 (in FastAPI's validation shape, with the
field's path), a missing or wrong token 401, a body over ``max_body_bytes`` 413
(:class:`~matcher.service.middleware.BodyLimit`); anything unexpected is a bare 500
(the traceback stays in the server's log). Record contents are never logged; only
counts and ids.
"""

from __future__ import annotations

import hmac
import logging
import sys
from typing import Any

from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from matcher.errors import RequestError, UnknownIdError
from matcher.service.config import DEFAULT_MAX_BODY, Settings
from matcher.service.domain import Service
from matcher.service.middleware import BodyLimit
from matcher.service.schemas import MatchRequest, Recommendations, RunSummary, UpsertResult
from matcher.service.store import Store

__all__ = ["app_from_env", "create_app"]

log = logging.getLogger("changfang.service")


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

    @app.exception_handler(UnknownIdError)
    async def _not_found(request: Request, exc: UnknownIdError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(RequestError)
    async def _invalid(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse({"detail": [{"loc": list(exc.loc), "msg": exc.reason, "type": "value_error"}]},
                            status_code=422)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return JSONResponse({"detail": "internal server error"}, status_code=500)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Liveness, the market's size, and which server process answered."""
        return service.health()

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
        return service.run(run_id)

    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
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
            raise UnknownIdError(side, record_id)
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


def app_from_env() -> FastAPI:
    """:func:`create_app` configured from the environment (:meth:`Settings.from_env`), for
    the server processes that uvicorn starts (``changfang serve --workers N``)."""
    import gc

    settings = Settings.from_env()
    if settings.log_level and not log.handlers:  # the service's own log lines, beside uvicorn's
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(settings.log_level)
    app = create_app(settings.db, token=settings.token, max_body_bytes=settings.max_body_bytes,
                     profile=settings.profile)
    gc.freeze()  # the loaded market is long-lived: keep it out of every later collection
    return app


def _version() -> str:
    from matcher import __version__

    return __version__
