"""What staff recorded about proposed pairs, and what it means for the next proposals.

Feedback is a sequence of ``(demand_id, listing_id, action)`` rows, oldest first, with
``action`` one of :data:`ACTIONS`: ``contacted`` (已联系), ``signed`` (已签约) or
``refused`` (不合适). The matching page records it (``POST /v1/feedback``) and a batch
run reads it from a file (``changfang match --feedback``); both settle it the same way
(:func:`settle`): the last row of a pair counts, a signed pair is locked and a refused
one excluded, a contact changes nothing.

What the locks take off the market (:func:`taken_listings`): a listing signed by a firm
leaves every other firm's recommendations, unless it is a divisible plant whose
remaining area still holds one of its units; that remaining area stays on offer.

>>> settle([("D1", "L1", "refused"), ("D2", "L2", "signed"), ("D1", "L1", "contacted"), ("D3", "L1", "refused")])
([('D2', 'L2')], [('D3', 'L1')])
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

import scoring

__all__ = ["ACTIONS", "ACTIONS_ZH", "settle", "taken_listings"]

ACTIONS = ("contacted", "signed", "refused")
"""The actions of a piece of feedback."""

ACTIONS_ZH = {"contacted": "已联系", "signed": "已签约", "refused": "不合适"}
"""Their Chinese names, as the page's buttons and the feedback file say them."""


def settle(rows: Iterable[tuple[str, str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The locks and exclusions that feedback rows amount to.

    Parameters
    ----------
    rows : iterable of (demand_id, listing_id, action)
        Oldest first; ``action`` one of :data:`ACTIONS`.

    Returns
    -------
    locks, exclude : list of (demand_id, listing_id)
        The pairs whose last row says ``signed``, and those whose last row says
        ``refused``, in the order of those last rows.

    Raises
    ------
    ValueError
        An action that is not one of :data:`ACTIONS`.
    """
    last: dict[tuple[str, str], str] = {}
    for d, l, action in rows:
        if action not in ACTIONS:
            raise ValueError(f"action == {action!r}, must be one of {', '.join(ACTIONS)}")
        last.pop((d, l), None)  # the latest row of a pair goes last
        last[(d, l)] = action
    return [p for p, a in last.items() if a == "signed"], [p for p, a in last.items() if a == "refused"]


def taken_listings(area_min: np.ndarray, hi: np.ndarray, area: np.ndarray, unit: np.ndarray,
                   rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The listings that signed pairs take off the market, and the area left in each.

    Parameters
    ----------
    area_min, hi : ndarray of float64, shape (n_demands,)
        Each demand's wanted minimum and upper tolerant bound, ㎡
        (:attr:`scoring.DemandSide.area_min`, :attr:`scoring.DemandSide.hi`).
    area, unit : ndarray of float64, shape (n_listings,)
        Each listing's floor area and smallest unit, ㎡ (unit 0: indivisible).
    rows, cols : ndarray of int64, shape (n_signed,)
        The signed pairs (demand rows, listing rows).

    Returns
    -------
    taken : ndarray of bool, shape (n_listings,)
        Listings no other firm may be offered: signed, and indivisible or without
        room for another whole unit.
    room : ndarray of float64, shape (n_listings,)
        Area left, ㎡, once each signed pair has the whole units its reasons state
        (:func:`scoring.offered_area`).

    Examples
    --------
    >>> import numpy as np
    >>> taken, room = taken_listings(np.array([700.0]), np.array([1300.0]), np.array([2000.0, 900.0]),
    ...                              np.array([200.0, 0.0]), np.array([0]), np.array([0]))
    >>> taken.tolist(), room.tolist()   # 4 units of 200 m2 taken, 1200 m2 left on offer
    ([False, False], [1200.0, 900.0])
    """
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    room = np.asarray(area, dtype=np.float64).copy()
    used = scoring.offered_area(area_min[rows], hi[rows], room[cols], unit[cols])
    np.subtract.at(room, cols, np.asarray(used, dtype=np.float64))
    taken = np.zeros(room.size, dtype=bool)
    u = unit[cols]
    with np.errstate(invalid="ignore"):
        full = (u <= 0) | (room[cols] < u) | np.isnan(u)
    taken[cols[full]] = True
    return taken, room
