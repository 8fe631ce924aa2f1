"""The area a listing offers a demand, written out plainly from the documented rule
(``scoring.units``) as the tests' independent reference."""

import math


def plain_offered(area_min: float, hi: float, area: float, unit: float) -> float:
    """Whole units for a divisible listing (0 when one unit is larger than it), else its area."""
    if not unit > 0:
        return area
    k = max(math.ceil(area_min / unit - 1e-9), 1)
    if k * unit > hi and k > 1:
        k -= 1
    k = min(k, math.floor(area / unit + 1e-9))
    return k * unit
