"""Lock, exclusion and feedback files: tables of (demand_id, listing_id) pairs."""

from __future__ import annotations

import math
import os
from typing import Any

from matcher.errors import InputFileError
from matcher.feedback import settle
from matcher.io.schema import DEMAND_COLUMNS, LISTING_COLUMNS, Column, fold_header, resolve_header
from matcher.io.tables import load_table

__all__ = ["FEEDBACK_ACTIONS", "read_feedback_file", "read_pairs_file"]

FEEDBACK_ACTIONS = {"contacted": "contacted", "signed": "signed", "refused": "refused",
                    "已联系": "contacted", "已签约": "signed", "不合适": "refused"}
"""What a feedback row's ``action`` may say (the service's words, or the page's buttons)."""

_ACTION = Column("action", ("反馈", "动作", "反馈结果", "结果", "状态"), str)


def _id_lookup() -> dict[str, Column]:
    """Folded header → column, for the headers a pairs file may give its columns: every
    alias the record readers accept for ``demand_id`` and ``listing_id`` except those
    both sides share (``编号``, ``id``: in a file of pairs they name neither), and the
    feedback file's ``action``."""
    d = next(c for c in DEMAND_COLUMNS if c.field == "demand_id")
    l_ = next(c for c in LISTING_COLUMNS if c.field == "listing_id")
    shared = {fold_header(a) for a in d.aliases} & {fold_header(a) for a in l_.aliases}
    out: dict[str, Column] = {}
    for col in (d, l_, _ACTION):
        for name in (col.field, *col.aliases):
            key = fold_header(name)
            if key not in shared:
                out.setdefault(key, col)
    return out


_LOOKUP = _id_lookup()
_NEEDS = {"demand_id": ("需求编号（demand_id）", "demand_id"), "listing_id": ("房源编号（listing_id）", "listing_id"),
          "action": ("反馈（action）", "action")}


def _columns(path: str | os.PathLike[str], headers: list[str], fields: tuple[str, ...]) -> dict[str, int]:
    """Column index of each of ``fields`` among ``headers`` (the first that names it);
    :class:`InputFileError` in both languages naming the columns missing."""
    found: dict[str, int] = {}
    for k, h in enumerate(headers):
        col = resolve_header(str(h), _LOOKUP)
        if col is not None and col.field in fields:
            found.setdefault(col.field, k)
    missing = [f for f in fields if f not in found]
    if missing:
        raise InputFileError(str(path), "needs the columns " + " and ".join(_NEEDS[f][1] for f in fields)
                             + " (missing: " + ", ".join(missing) + ")",
                             "缺少必填列：" + "、".join(_NEEDS[f][0] for f in missing))
    return found


def _text(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else str(x)


def read_pairs_file(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Read a lock or exclusion file: a table with ``demand_id`` and ``listing_id`` columns.

    The columns may have any header the record readers accept for the two ids (需求编号,
    房源编号, 需求编码, 房源id, ...), except the bare 编号 and id, which name neither.

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
    col = _columns(path, table.headers, ("demand_id", "listing_id"))
    di, li = col["demand_id"], col["listing_id"]
    out = []
    for row, cells in table.rows:
        d, l = _text(cells[di]).strip(), _text(cells[li]).strip()
        if d or l:
            if not (d and l):
                raise InputFileError(str(path), f"row {row}: needs both demand_id and listing_id",
                                     f"第 {row} 行须同时填写需求编号和房源编号")
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
    col = _columns(path, table.headers, ("demand_id", "listing_id", "action"))
    rows: list[tuple[str, str, str]] = []
    for row, cells in table.rows:
        d, l = _text(cells[col["demand_id"]]).strip(), _text(cells[col["listing_id"]]).strip()
        a = _text(cells[col["action"]]).strip()
        if not (d or l or a):
            continue
        if not (d and l):
            raise InputFileError(str(path), f"row {row}: needs both demand_id and listing_id",
                                 f"第 {row} 行须同时填写需求编号和房源编号")
        action = FEEDBACK_ACTIONS.get(a.lower(), FEEDBACK_ACTIONS.get(a))
        if action is None:
            raise InputFileError(str(path), f"row {row}: action must be contacted, signed or refused",
                                 f"第 {row} 行的反馈须为 已联系、已签约 或 不合适（contacted、signed、refused）")
        rows.append((d, l, action))
    return settle(rows)
