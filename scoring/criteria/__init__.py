"""The scoring criteria, one module each, all keeping the contract of
:mod:`scoring.criteria.base`; :data:`CRITERIA` registers them in display order."""

from __future__ import annotations

from scoring.criteria import area, facilities, industry, location, price, timing

__all__ = ["CRITERIA"]

CRITERIA = {m.name: m for m in (area, location, price, industry, facilities, timing)}
