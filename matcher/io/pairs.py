"""Lock and exclusion files: tables of (demand_id, listing_id) pairs."""

from __future__ import annotations

import math
import os
from typing import Any

from matcher.errors import InputFileError
from matcher.io.tables import load_table

__all__ = ["read_pairs_file"]


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
