"""Lock, exclusion and feedback files: tables of (demand_id, listing_id) pairs."""

from __future__ import annotations

import math
import os
from typing import Any

from matcher.errors import InputFileError
from matcher.feedback import settle
from matcher.io.tables import load_table

__all__ = ["FEEDBACK_ACTIONS", "read_feedback_file", "read_pairs_file"]

FEEDBACK_ACTIONS = {"contacted": "contacted", "signed": "signed", "refused": "refused",
                    "已联系": "contacted", "已签约": "signed", "不合适": "refused"}
"""What a feedback row's ``action`` may say (the service's words, or the page's buttons)."""

_FEEDBACK_HEADS = {"demand_id": ("demand_id", "需求编号"), "listing_id": ("listing_id", "房源编号"),
                   "action": ("action", "反馈", "动作")}


def _text(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else str(x)


def read_pairs_file(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Read a lock or exclusion file: a table with ``demand_id`` and ``listing_id`` columns.

    Any format the record readers take (CSV in UTF-8 or GB18030, XLSX, JSON). Blank rows
    are skipped.

    Returns
    -------
    list of (demand_id, listing_id)

    Raises
    ------
    matcher.errors.InputFileError
        Unreadable, or without the two columns.
    """
    table = load_table(path)
    heads = [h.strip().lower() for h in table.headers]
    if "demand_id" not in heads or "listing_id" not in heads:
        raise InputFileError(str(path), "needs the columns demand_id and listing_id")
    di, li = heads.index("demand_id"), heads.index("listing_id")
    out = []
    for _, cells in table.rows:
        d, l = _text(cells[di]).strip(), _text(cells[li]).strip()
        if d or l:
            if not (d and l):
                raise InputFileError(str(path), "a row has only one of demand_id and listing_id")
            out.append((d, l))
    return out


def read_feedback_file(path: str | os.PathLike[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Read a feedback file: ``demand_id``, ``listing_id`` and ``action`` columns (as
    ``GET /v1/feedback`` lists them; Chinese headers 需求编号, 房源编号, 反馈 too).

    ``action`` is ``contacted``, ``signed`` or ``refused`` (已联系, 已签约, 不合适): a
    signed pair is locked, a refused one excluded, a contact changes nothing. When a
    pair has several rows, the last one counts (the file is read in order, oldest
    first, as the service lists it): :func:`matcher.feedback.settle`, as the service
    settles what the page recorded.

    Returns
    -------
    locks, exclude : list of (demand_id, listing_id)

    Raises
    ------
    matcher.errors.InputFileError
        Unreadable, without the three columns, or a row with an unknown action (its
        row number is named, never its contents).
    """
    table = load_table(path)
    heads = [h.strip().lower() for h in table.headers]
    col = {}
    for key, names in _FEEDBACK_HEADS.items():
        found = [heads.index(n) for n in names if n in heads]
        if not found:
            raise InputFileError(str(path), "缺少 demand_id、listing_id、action 列；"
                                            "needs the columns demand_id, listing_id and action")
        col[key] = found[0]
    rows: list[tuple[str, str, str]] = []
    for row, cells in table.rows:
        d, l = _text(cells[col["demand_id"]]).strip(), _text(cells[col["listing_id"]]).strip()
        a = _text(cells[col["action"]]).strip()
        if not (d or l or a):
            continue
        if not (d and l):
            raise InputFileError(str(path), f"第 {row} 行须同时填写 demand_id 和 listing_id；"
                                            f"row {row}: needs both demand_id and listing_id")
        action = FEEDBACK_ACTIONS.get(a.lower(), FEEDBACK_ACTIONS.get(a))
        if action is None:
            raise InputFileError(str(path), f"第 {row} 行的 action 须为 contacted、signed 或 refused"
                                            f"（已联系、已签约、不合适）；row {row}: action must be contacted, "
                                            "signed or refused")
        rows.append((d, l, action))
    return settle(rows)
