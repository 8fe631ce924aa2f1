"""The service's request and response bodies (pydantic models): the HTTP contract.

Everything here is data; the behaviour lives in :mod:`matcher.service.domain` and the
routes in :mod:`matcher.service.app`. The record models (:data:`Listing`,
:data:`Demand`) are built from the canonical fields of :mod:`matcher.records`, so the
document the service publishes always names every field the records have, with its
unit.
"""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, create_model

from matcher.records import DEMAND_FIELDS, ID_MAX_CHARS, LISTING_FIELDS, TEXT_MAX_CHARS
from scoring.conventions import FIRE_CLASSES, RATINGS
from scoring.profile import override_schema

__all__ = [
    "CURSOR_PATTERN",
    "FIELD_NAME_MAX_CHARS",
    "ID_PATTERN",
    "LIST_ITEM_MAX_CHARS",
    "LIST_MAX_ITEMS",
    "MAX_FIELDS",
    "NUMBER_MAX",
    "PRIVATE_FIELDS",
    "PROFILE_NUMBER_MAX",
    "RUN_ID_PATTERN",
    "Criterion",
    "Demand",
    "DemandPage",
    "Error",
    "Explanation",
    "FailedRule",
    "FeedbackItem",
    "FeedbackPage",
    "FeedbackRequest",
    "Health",
    "Listing",
    "ListingPage",
    "Liveness",
    "MatchRequest",
    "NearMiss",
    "NearMisses",
    "Problem",
    "Recommendation",
    "Recommendations",
    "RecordsBody",
    "Rule",
    "RuleValues",
    "Run",
    "RunFile",
    "RunFiles",
    "RunPage",
    "RunPair",
    "RunRecommendation",
    "RunSummary",
    "RunUnmatched",
    "Skipped",
    "UploadProblem",
    "UploadResult",
    "UpsertResult",
    "ValidationError",
    "ValidationErrors",
    "Whoami",
]

PRIVATE_FIELDS = ("contact",)
"""Canonical fields served only with the token (staff): the contact on both sides. The
carried-through columns a record came with (``extra``: headers the readers do not know,
which may hold a WeChat id or an e-mail address) are served only with the token too."""

# -------------------------------------------------------------------- what a request may hold

MAX_FIELDS = 200
"""Distinct field names in one upsert request (a sheet has a few dozen columns)."""

FIELD_NAME_MAX_CHARS = 100
"""Longest field name (header) in an upsert request, characters."""

LIST_MAX_ITEMS = 40
"""Longest array value (towns, industry codes), items."""

LIST_ITEM_MAX_CHARS = 50
"""Longest text item of an array value, characters (so an array, as text, stays within
:data:`~matcher.records.TEXT_MAX_CHARS`)."""

NUMBER_MAX = 1e15
"""Largest magnitude of a number in a record (areas, prices, integer ids)."""

ID_PATTERN = r"^[A-Za-z0-9_\-.·#()（）\u4e00-\u9fff]*[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9_\-.·#()（）\u4e00-\u9fff]*$"
"""Ids made only of these characters always pass the id rule (documentation: the
service checks the rule itself, :func:`matcher.io.normalise.parse_id`)."""

CURSOR_PATTERN = r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$"
"""A page cursor: URL-safe base64 without padding."""

RUN_ID_PATTERN = r"^[0-9a-f]{32}$"

_ID_RULE = (f"An id is text (or an integer): trimmed and NFKC-normalised, 1–{ID_MAX_CHARS} characters, "
            "without `/`, `\\`, line breaks or control characters, and not `.` or `..`.")

_text_value: dict[str, Any] = {"type": "string", "maxLength": TEXT_MAX_CHARS}
_number_value: dict[str, Any] = {"type": "number", "minimum": -NUMBER_MAX, "maximum": NUMBER_MAX}
_cell: dict[str, Any] = {"anyOf": [
    _text_value, _number_value, {"type": "boolean"}, {"type": "null"},
    {"type": "array", "maxItems": LIST_MAX_ITEMS, "items": {"anyOf": [
        {"type": "string", "maxLength": LIST_ITEM_MAX_CHARS}, _number_value]}},
]}


def records_body(side: str, id_field: str) -> dict[str, Any]:
    """The JSON schema of an upsert body (the service checks it itself, before
    reading, so that a record over a limit gets 422 naming its field)."""
    return {
        "type": "array",
        "description": (f"{side}s: objects with the fields, aliases and Chinese headers a file takes "
                        f"(`README.md`, Reading files). Limits: text values at most {TEXT_MAX_CHARS} "
                        f"characters, numbers within ±{NUMBER_MAX:.0e}, arrays of at most {LIST_MAX_ITEMS} "
                        f"items of at most {LIST_ITEM_MAX_CHARS} characters, field names 1–{FIELD_NAME_MAX_CHARS} "
                        f"characters without control characters, at most {MAX_FIELDS} distinct field names "
                        f"per request; the id field is text of at most {ID_MAX_CHARS} characters or an "
                        f"integer. A request breaking one gets 422 naming the record and field. {_ID_RULE} "
                        "A record breaking that rule, or any rule of reading, is reported in `rejected`."),
        "items": {
            "type": "object",
            "maxProperties": MAX_FIELDS,
            "propertyNames": {"minLength": 1, "maxLength": FIELD_NAME_MAX_CHARS,
                              "pattern": "^[^\\u0000-\\u001f\\u007f]+$"},
            "properties": {id_field: {"anyOf": [{"type": "string", "maxLength": ID_MAX_CHARS},
                                                {"type": "integer", "minimum": -NUMBER_MAX, "maximum": NUMBER_MAX}]}},
            "additionalProperties": _cell,
        },
    }


RecordsBody = list[dict[str, Any]]
"""What an upsert body is once checked."""


# -------------------------------------------------------------------- records

def _annotation(kind: str) -> Any:
    return {
        "id": str, "text": str, "code": str, "float": float | None, "tri": bool | None, "flag": bool,
        "ldeal": Literal["lease", "sale", "lease_or_sale"] | None, "ddeal": Literal["lease", "buy", "either"] | None,
        "fire": Literal[tuple(FIRE_CLASSES)] | None, "rating": Literal[tuple(RATINGS)] | None,
        "date": _dt.date | Literal["now"] | None, "town": str | None, "towns": list[str], "codes": list[str],
    }[kind]


def _record_model(name: str, fields: Any, doc: str) -> type[BaseModel]:
    spec: dict[str, Any] = {}
    for f in fields:
        unit = f" [{f.unit}]" if f.unit else ""
        desc = f"{f.doc}{unit}".strip() or f.name
        if f.kind == "float":
            desc += "; null when unknown" + (" (or an open range)" if f.name == "area_max_m2" else "")
        if f.name in PRIVATE_FIELDS:
            spec[f.name] = (str | None, Field(None, description=desc + "; staff only (with the token)"))
        else:
            spec[f.name] = (_annotation(f.kind), Field(description=desc))
    spec["extra"] = (dict[str, str] | None, Field(None, description="columns the readers do not know, as "
                                                                       "written; staff only (with the token)"))
    spec["unread"] = (dict[str, str], Field(description="what the record said where a field has no value "
                                                        "(\"面议\", \"尽快\", text not understood)"))
    return create_model(name, __doc__=doc, __config__=ConfigDict(extra="forbid"), **spec)


Listing = _record_model("Listing", LISTING_FIELDS, "A listing (房源) as the service holds it.")
Demand = _record_model("Demand", DEMAND_FIELDS, "A demand (需求) as the service holds it.")


class ListingPage(BaseModel):
    items: list[Listing]  # type: ignore[valid-type]
    total: int = Field(description="records matching the filters, on every page")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class DemandPage(BaseModel):
    items: list[Demand]  # type: ignore[valid-type]
    total: int = Field(description="records matching the filters, on every page")
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


# -------------------------------------------------------------------- writes

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


# -------------------------------------------------------------------- scoring

class Recommendation(BaseModel):
    rank: int
    id: str
    score: float
    reasons_zh: str
    reasons_en: str
    criteria: dict[str, float]
    distance_km: float | None = Field(None, description="from the nearest place the demand named, km")
    summary: dict[str, Any] = Field(default_factory=dict, description=(
        "the other record's headline fields (never a contact): a listing's town, address, park, area_m2, "
        "min_unit_m2, rent, sale_price, negotiable, deal, owner; a demand's company, deal, area_min_m2, "
        "area_max_m2, towns, max_rent, max_sale_price, industry_code"))


class Recommendations(BaseModel):
    id: str
    k: int
    recommendations: list[Recommendation]


class RuleValues(BaseModel):
    """A hard rule as a pair meets it: its name and labels, the values compared and what
    it says (the fields :class:`Rule` and :class:`FailedRule` share)."""

    name: str
    label_zh: str
    label_en: str
    demand: Any = Field(description="the demand's value the rule compares (null: unknown)")
    listing: Any = Field(description="the listing's value the rule compares (null: unknown)")
    zh: str
    en: str


class FailedRule(RuleValues):
    """A hard rule a near miss fails (the values compared and what the rule says)."""


class NearMiss(BaseModel):
    rank: int
    id: str
    score: float = Field(description="what the pair would score were its failed rules relaxed")
    failed: list[FailedRule] = Field(description="the hard rules the pair fails, with the values compared")
    distance_km: float | None = None
    summary: dict[str, Any] = Field(default_factory=dict, description="as in a recommendation")


class NearMisses(BaseModel):
    id: str
    k: int
    items: list[NearMiss] = Field(description="the best infeasible partners: fewest failed rules first, then "
                                              "the best score with those rules relaxed")


class Rule(RuleValues):
    """A hard rule in a pair's explanation, passed or not."""

    passed: bool


class Criterion(BaseModel):
    name: str
    label_zh: str
    label_en: str
    score: float | None
    weight: float
    contribution: float | None
    inputs: dict[str, Any]
    zh: str
    en: str


class Explanation(BaseModel):
    demand_id: str
    listing_id: str
    feasible: bool
    failed: int = Field(description="bit mask of the failed rules")
    total: float | None = Field(description="the score; null when a hard rule fails")
    rules: list[Rule]
    criteria: list[Criterion]
    failed_rules: list[str]
    reasons_zh: str
    reasons_en: str


# -------------------------------------------------------------------- runs

PROFILE_NUMBER_MAX = 1e6
"""Largest number a profile change may hold (the TOML loader takes any finite number)."""

# the pattern shows ids that always pass the file readers' rule, which the service applies
_LockId = Annotated[str, Field(min_length=1, max_length=ID_MAX_CHARS, json_schema_extra={"pattern": ID_PATTERN})]


def _json_integer(v: Any) -> Any:
    """An integer as JSON means it: ``5`` or ``5.0``, never ``true`` or ``"5"``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError("must be an integer")
    return v


_Integer = Annotated[int, BeforeValidator(_json_integer)]
_Profile = Annotated[dict[str, Any] | None, WithJsonSchema({
    "anyOf": [override_schema(PROFILE_NUMBER_MAX), {"type": "null"}],
    "description": "profile keys to change, as in a TOML profile (`scoring/data/default_profile.toml`); the "
                   "weights must not all be zero"})]


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["auto", "one_to_one", "divisible", "stable"] = Field(
        "auto", description="auto: divisible when any listing is divisible, else one_to_one")
    profile: _Profile = None
    locks: list[tuple[_LockId, _LockId]] = Field(default_factory=list, max_length=10_000,
                                                 description="(demand_id, listing_id) pairs signed")
    exclude: list[tuple[_LockId, _LockId]] = Field(default_factory=list, max_length=100_000,
                                                   description="(demand_id, listing_id) pairs refused")
    top_k: _Integer = Field(5, ge=0, le=100, description="recommendations kept per demand in the run (0: none)")
    per_party: bool = Field(False, strict=True,
                            description="also write one workbook per landlord and per firm (markets up to 3,000 "
                                        "records; GET /v1/runs/{id}/files)")


class RunSummary(BaseModel):
    id: str
    created: str
    method: str = Field(description="the method used (auto resolved)")
    objective: float
    gap: float
    counts: dict[str, int]


class RunPair(BaseModel):
    demand_id: str
    listing_id: str
    score: float | None = Field(description="null for a locked pair that fails a hard rule")
    allocated_area_m2: float | None
    locked: bool
    reasons_zh: str
    reasons_en: str


class RunUnmatched(BaseModel):
    side: Literal["demand", "listing"]
    id: str
    kind: str
    reason_zh: str
    reason_en: str


class RunRecommendation(BaseModel):
    demand_id: str
    rank: int
    listing_id: str
    score: float


class Run(RunSummary):
    request: dict[str, Any]
    pairs: list[RunPair]
    unmatched: list[RunUnmatched]
    recommendations: list[RunRecommendation] = Field(
        description="the request's top_k best listings of every demand, by demand id then rank")


class RunPage(BaseModel):
    items: list[RunSummary] = Field(description="newest first")
    next_cursor: str | None


# -------------------------------------------------------------------- feedback and staff

class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    demand_id: _LockId
    listing_id: _LockId
    action: Literal["contacted", "signed", "refused"] = Field(
        description="contacted 已联系, signed 已签约 (locked in later runs), refused 不合适 (never proposed again)")
    note: str = Field("", max_length=500, description="why (for refused), or anything staff want to keep")


class FeedbackItem(BaseModel):
    seq: int = Field(description="feedback is numbered in the order it was recorded")
    demand_id: str
    listing_id: str
    action: Literal["contacted", "signed", "refused"]
    note: str
    who: str = Field(description="the name of the staff token that recorded it")
    created: str = Field(description="when, UTC, ISO 8601")


class FeedbackPage(BaseModel):
    items: list[FeedbackItem] = Field(description="oldest first")
    next_cursor: str | None


class Whoami(BaseModel):
    staff: bool
    name: str | None = Field(description="the staff token's name; null without a token")


class UploadProblem(BaseModel):
    row: int = Field(description="the row as staff see it in Excel (the header is row 1 or below a title)")
    id: str
    field: str
    value: str
    severity: Literal["error", "warning", "info"]
    reason_zh: str
    reason_en: str


class UploadResult(BaseModel):
    rows: int = Field(description="data rows read")
    accepted: list[str] = Field(description="ids stored (new or replaced)")
    rejected: list[UploadProblem] = Field(description="errors: these rows were not stored")
    warnings: list[UploadProblem] = Field(description="stored, with a note")


class RunFile(BaseModel):
    name: str
    bytes: int


class RunFiles(BaseModel):
    files: list[RunFile] = Field(description="result.xlsx, parties.zip and each party's workbook "
                                             "(业主_….xlsx, 企业_….xlsx)")
    parties_note: str = Field("", description="why there are no per-party workbooks, when there are none")


# -------------------------------------------------------------------- health and errors

class Skipped(BaseModel):
    side: Literal["listing", "demand"]
    id: str
    reason: str


class Liveness(BaseModel):
    status: Literal["ok"]
    listings: int
    demands: int
    process: int = Field(description="the server process that answered")


class Health(Liveness):
    skipped_count: int = Field(description="stored records this process could not prepare (left in the "
                                           "database, not served)")
    skipped: list[Skipped] = Field(description="the first 100 of them")


class Error(BaseModel):
    detail: str


class ValidationError(BaseModel):
    loc: list[str | int] = Field(description="where: ['body', 3, 'owner'], ['path', 'record_id'], ['query', 'k']")
    msg: str
    type: str
    msg_zh: str | None = None


class ValidationErrors(BaseModel):
    detail: list[ValidationError]
