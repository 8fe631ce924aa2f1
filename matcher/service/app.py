"""The HTTP service for the portal's matching page (FastAPI, the ``[server]`` extra).

:func:`create_app` builds the application: thin routes over the domain layer
(:class:`~matcher.service.domain.Service`), which raises the project's own errors;
the exception handlers here map them to status codes. Endpoints, all under ``/v1``
except the liveness check:

==============================================  ==================================================
``PUT /v1/listings``, ``PUT /v1/demands``       bulk upsert (token); per-record errors
``DELETE /v1/listings/{id}`` (and demands)      remove one record (token)
``GET /v1/listings``, ``GET /v1/demands``       a page of records (filters: town, deal, area range)
``GET /v1/listings/{id}`` (and demands)         one record
``GET /v1/demands/{id}/recommendations``        the best listings, with explanations
``GET /v1/listings/{id}/recommendations``       the best demands, with explanations
``GET /v1/explain``                             one pair, every rule and criterion
``POST /v1/match``                              a global allocation (token); a run id
``GET /v1/runs``, ``GET /v1/runs/{id}``         runs, newest first; a run's pairs, unmatched
                                                records and recommendations
``GET /v1/health``, ``GET /healthz``            health (with the stored records skipped), liveness
``GET /docs``, ``GET /openapi.json``            the docs page (served offline) and the document
==============================================  ==================================================

Who sees what: without the token, records come without their private fields
(:data:`~matcher.service.schemas.PRIVATE_FIELDS`: contacts) and without the columns
the readers do not know (``extra``); every other response holds neither. With the
token (``Authorization: Bearer``), everything. A request carrying a wrong token gets
401, also on a read.

Errors and their statuses: :class:`~matcher.errors.UnknownIdError` 404,
:class:`~matcher.errors.RequestError` 422 (in FastAPI's validation shape, with the
field's path), a missing or wrong token 401 (checked before the body is read:
:class:`~matcher.service.middleware.BearerToken`), a body over ``max_body_bytes`` 413
(:class:`~matcher.service.middleware.BodyLimit`); anything unexpected is a bare 500
(the exception's type in the server's log). Record contents are never logged; ids are
logged escaped (:func:`~matcher.service.checks.escape`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher.errors import RequestError, StoreBusyError, UnknownIdError
from matcher.records import ID_MAX_CHARS
from matcher.service.config import DEFAULT_MAX_BODY, KEEPALIVE_REQUESTS, Settings, busy_timeout_s
from matcher.service.domain import DEALS, Service
from matcher.service.middleware import STAFF, BearerToken, BodyLimit, ConnectionRequests, ServerErrors
from matcher.service.schemas import (
    CURSOR_PATTERN,
    ID_PATTERN,
    RUN_ID_PATTERN,
    Demand,
    DemandPage,
    Error,
    Explanation,
    Health,
    Listing,
    ListingPage,
    Liveness,
    MatchRequest,
    Recommendations,
    Run,
    RunPage,
    RunSummary,
    UpsertResult,
    ValidationErrors,
    records_body,
)
from matcher.service.store import Store
from scoring.reference import gazetteer

__all__ = ["app_from_env", "create_app"]

log = logging.getLogger("changfang.service")

BEARER = "bearer"
"""The security scheme's name in the OpenAPI document."""

_READ: dict[str, Any] = {"security": [{}, {BEARER: []}]}  # the token is optional on reads
_WRITE: dict[str, Any] = {"security": [{BEARER: []}]}
_ID_PATH: dict[str, Any] = {"min_length": 1, "max_length": ID_MAX_CHARS,
                            "json_schema_extra": {"pattern": ID_PATTERN},
                            "description": "the record's id (any id by the file readers' rule: the pattern shows "
                                           "ids that always pass it)"}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error statuses a route can answer, each with its body's model: 401 and 413
    (every route: a wrong token, a body too large) and ``codes``."""
    what = {400: "the body is not UTF-8 text", 401: "missing or wrong bearer token", 404: "unknown id",
            413: "request body too large", 422: "invalid request: the field's path and the reason",
            503: "another process kept the database locked longer than the busy timeout: nothing was stored"}
    return {c: {"model": ValidationErrors if c == 422 else Error, "description": what[c]}
            for c in sorted({401, 413, *codes})}


def _safe(text: str) -> str:
    """Text that JSON-encodes as UTF-8 whatever a client sent (lone surrogates escaped)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def create_app(db: str = "changfang.db", token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY,
               profile: Any = None, cors_origins: tuple[str, ...] = (), busy_timeout: float | None = None) -> FastAPI:
    """The FastAPI application over the database ``db``.

    Parameters
    ----------
    db : str
        SQLite file (created if missing) or ``":memory:"``.
    token : str, optional
        Bearer token for the write endpoints and the private fields; without one every
        write gets 401.
    max_body_bytes : int
        Larger request bodies get 413; writers wait for other processes' writes as
        long as the largest body needs (:func:`~matcher.service.config.busy_timeout_s`).
    profile : path, mapping or scoring.Profile, optional
        Scoring profile (default the bundled one).
    cors_origins : tuple of str
        Origins whose browser pages may call every route (CORS, with preflight).
    busy_timeout : float, optional
        Seconds a writer waits for another process's write (default: long enough for
        the largest body); past it the write is refused with 503, nothing stored.
    """
    service = Service(Store(db, busy_timeout if busy_timeout is not None else busy_timeout_s(max_body_bytes)),
                      profile)
    # no redirect from "/v1/listings/" to "/v1/listings": a path with an empty id is unknown
    # (404), never the list under another route's name
    app = FastAPIOffline(title="changfang", version=_version(), redoc_url=None, redirect_slashes=False,
                         swagger_ui_parameters={"validatorUrl": None},
                         description="Factory space (厂房) on offer matched with the firms that need it. Reads "
                                     "need no token; with `Authorization: Bearer <token>` records also show "
                                     "their contacts and unknown columns, and writes are allowed.")
    app.state.service = service

    def staff(request: Request) -> bool:
        """Whether the request carried the token (checked by BearerToken)."""
        return bool(request.scope.get(STAFF))

    def writer(request: Request) -> None:
        if not staff(request):  # BearerToken answers first; this keeps a route safe without it
            raise StarletteHTTPException(401, "a valid bearer token is needed to write",
                                         headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(UnknownIdError)
    async def _not_found(request: Request, exc: UnknownIdError) -> JSONResponse:
        return JSONResponse({"detail": _safe(str(exc))}, status_code=404)

    @app.exception_handler(RequestError)
    async def _invalid(request: Request, exc: RequestError) -> JSONResponse:
        item: dict[str, Any] = {"loc": [_safe(x) if isinstance(x, str) else x for x in exc.loc],
                                "msg": _safe(exc.reason), "type": "value_error"}
        if exc.reason_zh:
            item["msg_zh"] = exc.reason_zh
        return JSONResponse({"detail": [item]}, status_code=422)

    @app.exception_handler(StoreBusyError)
    async def _busy(request: Request, exc: StoreBusyError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def _unreadable(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's shape without the input (it may be long, or private) and the docs links
        items = [{"loc": [_safe(x) if isinstance(x, str) else x for x in e.get("loc", ())],
                  "msg": _safe(str(e.get("msg", ""))), "type": str(e.get("type", "value_error"))}
                 for e in exc.errors()]
        return JSONResponse({"detail": items}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only those of the first route matched
            path = request.scope.get("path", "")
            allowed = {m for r in app.routes if isinstance(r, APIRoute) and r.path_regex.match(path)
                       for m in r.methods or ()}
            headers["Allow"] = ", ".join(sorted(allowed))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.get("/healthz", response_model=Liveness, responses=_errors(), openapi_extra=_READ)
    def healthz() -> Liveness:
        """Liveness, the market's size, and which server process answered."""
        return service.liveness()

    @app.get("/v1/health", response_model=Health, responses=_errors(), openapi_extra=_READ)
    def health() -> Health:
        """Health: the market's size, the process that answered, and the stored records
        this process could not prepare (skipped, by id, with the reason)."""
        return service.health()

    for side, plural, model, page in (("listing", "listings", Listing, ListingPage),
                                      ("demand", "demands", Demand, DemandPage)):
        _routes(app, service, side, plural, model, page, writer, staff)

    @app.get("/v1/explain", response_model=Explanation, responses=_errors(404, 422), openapi_extra=_READ)
    def explain(demand_id: Annotated[str, Query(min_length=1, max_length=ID_MAX_CHARS,
                                                json_schema_extra={"pattern": ID_PATTERN})],
                listing_id: Annotated[str, Query(min_length=1, max_length=ID_MAX_CHARS,
                                                 json_schema_extra={"pattern": ID_PATTERN})],
                ) -> dict[str, Any]:
        """One pair: every hard rule (passed or failed, with the values compared) and every
        criterion (inputs, score, weight, contribution), in Chinese and English."""
        return service.explain(demand_id, listing_id)

    @app.post("/v1/match", status_code=201, response_model=RunSummary,
              responses=_errors(400, 404, 422, 503),
              dependencies=[Depends(writer)], openapi_extra=_WRITE)
    def run_match(req: MatchRequest) -> RunSummary:
        """A global allocation over the current market; its result (pairs, unmatched
        records and their reasons, and ``top_k`` recommendations per demand) is kept
        under the run id. Up to 10^8 pairs (a county). A lock or an exclusion naming an
        unknown id: 404."""
        return service.match(req)

    @app.get("/v1/runs", response_model=RunPage, responses=_errors(422), openapi_extra=_READ)
    def list_runs(cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN, min_length=1, max_length=600)] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
        """Runs, newest first, by pages (pass ``next_cursor`` as ``cursor``)."""
        return service.runs(cursor, limit)

    @app.get("/v1/runs/{run_id}", response_model=Run, responses=_errors(404, 422), openapi_extra=_READ)
    def get_run(run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)]) -> Response:
        """A run's summary, request, pairs (with reasons), unmatched records (with
        reasons) and recommendations."""
        return Response(service.run_json(run_id), media_type="application/json")

    app.add_middleware(ServerErrors)  # added first: innermost
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(BearerToken, token=token)
    app.add_middleware(ConnectionRequests, limit=KEEPALIVE_REQUESTS)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_credentials=False,
                           allow_methods=["GET", "PUT", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600,
                           expose_headers=["Retry-After", "WWW-Authenticate"])
    app.openapi_schema = None
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _routes(app: FastAPI, service: Service, side: str, plural: str, model: Any, page: Any, writer: Any,
            staff: Any) -> None:
    @app.put(f"/v1/{plural}", response_model=UpsertResult, responses=_errors(422, 503),
             dependencies=[Depends(writer)], name=f"upsert_{plural}",
             openapi_extra={**_WRITE, "requestBody": {"required": True, "content": {"application/json": {
                 "schema": records_body(side, f"{side}_id")}}}})
    async def upsert(request: Request) -> UpsertResult:
        """Insert or replace records: a JSON array of objects with the fields, aliases and
        Chinese headers files take. Returns the ids stored and, per bad record, its
        index, field, value and reason; a record over a limit fails the request (422)."""
        raw = await request.body()
        return await run_in_threadpool(lambda: service.upsert(side, _decode(raw)))

    @app.delete(f"/v1/{plural}/{{record_id}}", status_code=204, responses=_errors(404, 422, 503),
                dependencies=[Depends(writer)], name=f"delete_{side}", openapi_extra=_WRITE)
    def delete(record_id: str = Path(**_ID_PATH)) -> Response:
        """Remove one record."""
        service.delete(side, record_id)
        return Response(status_code=204)

    # private fields are left unset without the token: never in the body, not even as null
    @app.get(f"/v1/{plural}", response_model=page, response_model_exclude_unset=True,
             responses=_errors(422), name=f"list_{plural}", openapi_extra=_READ)
    def list_records(
            town: str | None = Query(None, json_schema_extra={"enum": [str(x) for x in gazetteer().names]},
                                     description="a town (镇街) by its full name"),
            deal: str | None = Query(None, json_schema_extra={"enum": list(DEALS[side])},
                                     description="records whose deal includes it"),
            area_min: float | None = Query(None, ge=0, le=1e9, description="㎡"),
            area_max: float | None = Query(None, ge=0, le=1e9, description="㎡"),
            cursor: str | None = Query(None, pattern=CURSOR_PATTERN, min_length=1, max_length=600,
                                       description="`next_cursor` of the page before"),
            limit: int = Query(50, ge=1, le=500),
            is_staff: bool = Depends(staff)) -> dict[str, Any]:
        """A page of records in id order. Filters: ``town`` (a listing's town, or one of a
        demand's wanted towns), ``deal`` (records whose deal includes it: ``lease`` keeps
        lease and lease_or_sale listings), ``area_min`` / ``area_max`` (a listing's area
        within them; a demand's wanted range overlapping them). Without the token, no
        contacts and no unknown columns."""
        return service.records(side, town=town, deal=deal, area_min=area_min, area_max=area_max, cursor=cursor,
                               limit=limit, staff=is_staff)

    @app.get(f"/v1/{plural}/{{record_id}}", response_model=model, response_model_exclude_unset=True,
             responses=_errors(404, 422), name=f"get_{side}", openapi_extra=_READ)
    def get(record_id: str = Path(**_ID_PATH), is_staff: bool = Depends(staff)) -> dict[str, Any]:
        """One record; without the token, no contact and no unknown columns."""
        return service.record(side, record_id, is_staff)

    @app.get(f"/v1/{plural}/{{record_id}}/recommendations", name=f"recommend_for_{side}",
             response_model=Recommendations, responses=_errors(404, 422), openapi_extra=_READ)
    async def recommend(record_id: str = Path(**_ID_PATH), k: int = Query(10, ge=1, le=100)) -> Response:
        """The best {others} for this {side}, each with its score, criterion scores and
        reasons in Chinese and English."""

        def answer() -> Response:  # the model built here is valid: dumped directly
            return Response(service.recommendations(side, record_id, k).model_dump_json(),
                            media_type="application/json")

        # short and CPU-bound: on the event loop (a thread pool only adds GIL switching),
        # unless another process's writes must be replayed first
        return answer() if service.current() else await run_in_threadpool(answer)

    recommend.__doc__ = (recommend.__doc__ or "").format(side=side,
                                                         others="demands" if side == "listing" else "listings")


def _decode(raw: bytes) -> Any:
    """A request body as JSON (NaN and Infinity refused); RequestError otherwise."""
    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(raw, parse_constant=constant)
    except (ValueError, RecursionError) as exc:  # also UnicodeDecodeError, too many digits
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deep" \
            if isinstance(exc, RecursionError) else str(exc)[:200]
        raise RequestError(("body",), f"the body is not valid JSON: {why}", "请求体不是有效的 JSON") from None


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the bearer scheme the routes name."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        doc.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER] = {
            "type": "http", "scheme": "bearer",
            "description": "the service's token (`--token` / `$CHANGFANG_TOKEN`): writes, and contacts on reads"}
        app.openapi_schema = doc
    return app.openapi_schema


def app_from_env() -> FastAPI:
    """:func:`create_app` configured from the environment (:meth:`Settings.from_env`), for
    the server processes that uvicorn starts (``changfang serve --workers N``).

    With as many server processes as cores, each scores on one numba thread: a
    parallel query waits for its second thread when the machine is busy (17–44 ms where
    one thread takes 0.3 ms, ``benchmarks/README.md``), and the processes already use
    every core."""
    import gc
    import importlib.util

    settings = Settings.from_env()
    if settings.log_level and not log.handlers:  # the service's own log lines, beside uvicorn's
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(settings.log_level)
    if settings.workers >= (os.cpu_count() or 1) and importlib.util.find_spec("numba") is not None:
        import numba

        numba.set_num_threads(1)
    app = create_app(settings.db, token=settings.token, max_body_bytes=settings.max_body_bytes,
                     profile=settings.profile, cors_origins=settings.cors_origins, busy_timeout=settings.busy_timeout)
    gc.freeze()  # the loaded market is long-lived: keep it out of every later collection
    return app


def _version() -> str:
    from matcher import __version__

    return __version__
