"""How records store deals, hazard classes, ratings and "now".

These are the storage conventions shared by :mod:`matcher.records` (which builds the
records) and the scoring engine (which reads them). They live here, in the lower
layer, so both import one definition.
"""

from __future__ import annotations

import numpy as np

__all__ = ["AVAILABLE_NOW", "DEAL_BOTH", "DEAL_LEASE", "DEAL_SALE", "FIRE_CLASSES", "RATINGS"]

DEAL_LEASE = 1
DEAL_SALE = 2  # a listing for sale, or a demand to buy
DEAL_BOTH = DEAL_LEASE | DEAL_SALE
FIRE_CLASSES = "甲乙丙丁戊"  # codes 1..5, 甲 the most hazardous
RATINGS = "DCBA"  # codes 1..4, A the best 亩均评价 class
AVAILABLE_NOW = np.datetime64("1900-01-01", "D")
"""Sentinel date for "现房 / 即可入驻": available (or wanted) now, whatever the day."""
