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
                                                records and recommendations (token)
``GET /v1/runs/{id}/files[/{name}]``            a run's result.xlsx and per-party workbooks (token)
``GET /v1/demands/{id}/near-misses`` (listings)  the best infeasible partners and the rules they fail
``GET /v1/demands/{id}/map`` (and listings)     the record's map, inline SVG of the towns
``POST /v1/feedback``, ``GET /v1/feedback``     contacted / signed / refused on a pair (token)
``POST /v1/upload/listings`` (and demands)      a staff file (Excel, CSV) read and stored (token)
``GET /v1/whoami``                              whether the request carries a staff token, its name
``GET /v1/health``, ``GET /healthz``            health (with the stored records skipped), liveness
``GET /docs``, ``GET /openapi.json``            the docs page (served offline) and the document
``GET /``, ``/demands/{id}``, ``/listings/{id}``, the matching page, in Chinese (:mod:`matcher.service.page`)
``/runs``, ``/runs/{id}``, ``/upload``
==============================================  ==================================================

Who sees what: without the token, records come without their private fields
(:data:`~matcher.service.schemas.PRIVATE_FIELDS`: contacts) and without the columns
the readers do not know (``extra``); every other response holds neither; runs,
feedback and uploads answer 401. With a token (``Authorization: Bearer``; the
service's own or a named staff token), everything. A request carrying a wrong token
gets 401, also on a read.

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
from typing import Annotated, Any, Literal

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
    FeedbackItem,
    FeedbackPage,
    FeedbackRequest,
    Health,
    Listing,
    ListingPage,
    Liveness,
    MatchRequest,
    NearMisses,
    Recommendations,
    Run,
    RunFiles,
    RunPage,
    RunSummary,
    UploadResult,
    UpsertResult,
    ValidationErrors,
    Whoami,
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
               profile: Any = None, cors_origins: tuple[str, ...] = (), busy_timeout: float | None = None,
               staff_tokens: tuple[tuple[str, str], ...] = ()) -> FastAPI:
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
    staff_tokens : tuple of (name, token)
        More tokens, one per member of staff; feedback records the name (the single
        ``token`` is named :data:`~matcher.service.middleware.DEFAULT_STAFF_NAME`).
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

    def staff_only(request: Request) -> None:
        if not staff(request):
            raise StarletteHTTPException(401, "a valid bearer token is needed to read this (staff only)",
                                         headers={"WWW-Authenticate": "Bearer"})

    def who(request: Request) -> str:
        """The name of the staff token the request carried (empty for none)."""
        return str(request.scope.get(STAFF) or "")

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

    @app.get("/v1/runs", response_model=RunPage, responses=_errors(422), dependencies=[Depends(staff_only)],
             openapi_extra=_WRITE)
    def list_runs(cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN, min_length=1, max_length=600)] = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
        """Runs, newest first, by pages (pass ``next_cursor`` as ``cursor``)."""
        return service.runs(cursor, limit)

    @app.get("/v1/runs/{run_id}", response_model=Run, responses=_errors(404, 422),
             dependencies=[Depends(staff_only)], openapi_extra=_WRITE)
    def get_run(run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)]) -> Response:
        """A run's summary, request, pairs (with reasons), unmatched records (with
        reasons) and recommendations."""
        return Response(service.run_json(run_id), media_type="application/json")

    @app.get("/v1/runs/{run_id}/files", response_model=RunFiles, responses=_errors(404, 422),
             dependencies=[Depends(staff_only)], openapi_extra=_WRITE)
    def run_files(run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)]) -> RunFiles:
        """A run's files: ``result.xlsx``, ``parties.zip`` and each party's workbook
        (``parties/业主_….xlsx``, ``parties/企业_….xlsx``, with contacts)."""
        return service.run_files(run_id)

    @app.get("/v1/runs/{run_id}/files/{name:path}", responses={
        200: {"content": {XLSX: {}, "application/zip": {}}, "description": "the file"}, **_errors(404, 422)},
        response_class=Response, dependencies=[Depends(staff_only)], openapi_extra=_WRITE)
    def run_file(run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN)],
                 name: Annotated[str, Path(max_length=200)]) -> Response:
        """One file of a run, to download."""
        data = service.run_file(run_id, name)
        base = name.rsplit("/", 1)[-1]
        return Response(data, media_type="application/zip" if base.endswith(".zip") else XLSX,
                        headers={"Content-Disposition": _attachment(base)})

    # ------------------------------------------------------------------ feedback and staff

    @app.get("/v1/whoami", response_model=Whoami, responses=_errors(), openapi_extra=_READ)
    def whoami(request: Request) -> Whoami:
        """Whether the request carries a staff token, and its name (the page asks once)."""
        name = who(request)
        return Whoami(staff=bool(name), name=name or None)

    @app.post("/v1/feedback", status_code=201, response_model=FeedbackItem, responses=_errors(404, 422, 503),
              dependencies=[Depends(writer)], openapi_extra=_WRITE)
    def add_feedback(req: FeedbackRequest, request: Request) -> FeedbackItem:
        """Record what happened to a proposed pair: ``contacted`` (已联系), ``signed``
        (已签约: locked in every later run; the firm leaves the landlords' lists and the
        plant the other firms', unless a divisible plant has room left) or ``refused``
        (不合适: never proposed again), with a note; stored with the time and the staff
        token's name. A firm signs one plant at a time (422 otherwise)."""
        return service.add_feedback(req, who(request))

    @app.get("/v1/feedback", response_model=FeedbackPage, responses={
        200: {"content": {"text/csv": {}}, "description": "a page of feedback, or (format=csv) all of it"},
        **_errors(422)}, dependencies=[Depends(staff_only)], openapi_extra=_WRITE)
    def list_feedback(
            demand_id: Annotated[str | None, Query(max_length=ID_MAX_CHARS)] = None,
            listing_id: Annotated[str | None, Query(max_length=ID_MAX_CHARS)] = None,
            cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN, min_length=1, max_length=600)] = None,
            limit: Annotated[int, Query(ge=1, le=500)] = 100,
            format: Annotated[Literal["json", "csv"], Query()] = "json") -> Any:
        """Feedback, oldest first (of one demand or listing when named), by pages; with
        ``format=csv`` all of it as the file ``changfang match --feedback`` reads."""
        if format == "csv":
            return Response(service.feedback_csv(demand_id, listing_id), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": _attachment("feedback.csv")})
        return service.feedback_page(demand_id, listing_id, cursor, limit)

    app.add_middleware(ServerErrors)  # added first: innermost
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    from matcher.service.page import add_page_routes

    add_page_routes(app)
    app.add_middleware(BearerToken, token=token, staff=staff_tokens)
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
            industry: str | None = Query(None, pattern=r"^[A-Za-z]?[0-9]{0,4}$", min_length=1, max_length=5,
                                         description="GB/T 4754 code or prefix: demands of it, listings admitting it"),
            q: str | None = Query(None, min_length=1, max_length=50,
                                  description="text in the id, the company (demands) or the owner (listings)"),
            cursor: str | None = Query(None, pattern=CURSOR_PATTERN, min_length=1, max_length=600,
                                       description="`next_cursor` of the page before"),
            limit: int = Query(50, ge=1, le=500),
            is_staff: bool = Depends(staff)) -> dict[str, Any]:
        """A page of records in id order. Filters: ``town`` (a listing's town, or one of a
        demand's wanted towns), ``deal`` (records whose deal includes it: ``lease`` keeps
        lease and lease_or_sale listings), ``area_min`` / ``area_max`` (a listing's area
        within them; a demand's wanted range overlapping them), ``industry`` (a demand's
        code under it; a listing admitting it), ``q`` (text in the id, company or
        owner). Without the token, no contacts and no unknown columns."""
        return service.records(side, town=town, deal=deal, area_min=area_min, area_max=area_max, cursor=cursor,
                               limit=limit, staff=is_staff, industry=industry, q=q)

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

    @app.get(f"/v1/{plural}/{{record_id}}/near-misses", name=f"near_misses_for_{side}",
             response_model=NearMisses, responses=_errors(404, 422), openapi_extra=_READ)
    def near(record_id: str = Path(**_ID_PATH), k: int = Query(5, ge=1, le=50)) -> NearMisses:
        """The best partners this record cannot have: fewest failed hard rules first, then
        the score with those rules relaxed; each with the rules it fails and the values
        compared (what staff could ask a party to relax)."""
        return service.near_misses(side, record_id, k)

    @app.get(f"/v1/{plural}/{{record_id}}/map", name=f"map_of_{side}", response_class=Response,
             responses={200: {"content": {"image/svg+xml": {}}, "description": "an <svg> element"},
                        **_errors(404, 422)}, openapi_extra=_READ)
    def record_map(record_id: str = Path(**_ID_PATH),
                   proposed: list[str] = Query([], max_length=100, description="partners' ids, best first"),
                   near: list[str] = Query([], max_length=100, description="near misses' ids")) -> Response:
        """The record's map: the county's towns by name (a demand's wanted towns in red),
        its places and the partners named; inline SVG, no tiles."""
        svg = service.record_map(side, record_id, [x[:ID_MAX_CHARS] for x in proposed],
                                 [x[:ID_MAX_CHARS] for x in near])
        return Response(svg, media_type="image/svg+xml")

    @app.post(f"/v1/upload/{plural}", response_model=UploadResult, responses=_errors(400, 422, 503),
              dependencies=[Depends(writer)], name=f"upload_{plural}",
              openapi_extra={**_WRITE, "requestBody": {"required": True, "content": {
                  "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def upload(request: Request, filename: str = Query(..., min_length=1, max_length=200,
                                                             description="the file's name (its type: .xlsx, .csv …)")
                     ) -> UploadResult:
        """Read a file staff upload (Excel, CSV in UTF-8 or GB18030, JSON) as the file
        readers do, store its accepted rows, and report every rejected row with its row
        number (as in Excel), field, value and reason. A file that cannot be read as the
        side's table (its type, a required column missing, another side's table) is one
        rejection of row 0, field ``file``, nothing stored."""
        raw = await request.body()
        if not raw:
            raise RequestError(("body",), "the request body is empty: it must be the file",
                               "请求体为空：应为上传的文件")
        return await run_in_threadpool(lambda: service.upload(side, filename, raw))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment(name: str) -> str:
    """A Content-Disposition naming a download (RFC 6266: an ASCII fallback, then UTF-8)."""
    from urllib.parse import quote

    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(name)}'


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
        from scoring import fast

        fast.limit_threads(1)  # (the compiled drivers, on every thread: requests run on others)
    app = create_app(settings.db, token=settings.token, max_body_bytes=settings.max_body_bytes,
                     profile=settings.profile, cors_origins=settings.cors_origins, busy_timeout=settings.busy_timeout,
                     staff_tokens=settings.staff)
    gc.freeze()  # the loaded market is long-lived: keep it out of every later collection
    return app


def _version() -> str:
    from matcher import __version__

    return __version__
