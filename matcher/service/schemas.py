"""The service's request and response bodies (pydantic models): the HTTP contract.

Everything here is data; the behaviour lives in :mod:`matcher.service.domain` and the
routes in :mod:`matcher.service.app`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["MatchRequest", "Problem", "Recommendation", "Recommendations", "RunSummary", "UpsertResult"]


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
    method: Literal["auto", "one_to_one", "divisible", "stable"] = Field(
        "auto", description="auto: divisible when any listing is divisible, else one_to_one")
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


