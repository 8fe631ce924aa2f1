"""The workbooks of a service run, as ``changfang match`` writes them: ``result.xlsx``
(配对结果, 推荐, 未匹配 and an empty 问题行: the service stores only records it could
read) and, for markets up to :data:`PARTIES_MAX_RECORDS`, one workbook per landlord
and per firm (:func:`matcher.batch.parties.write_party_workbooks`), kept in the
database beside the run and served to staff only (they hold contacts)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matcher.batch.results import PAIRS, RECOMMENDATIONS, REJECTS, SHEETS_ZH, UNMATCHED, unmatched_rows, workbook_row
from matcher.io.export import WorkbookWriter

__all__ = ["PARTIES_MAX_RECORDS", "party_workbooks", "result_workbook", "zip_files"]

PARTIES_MAX_RECORDS = 3_000
"""Largest market (listings + demands) whose per-party workbooks a run writes: each
party's workbook takes a few milliseconds, so a county's ten thousands would hold the
run for minutes (``changfang match --per-party`` writes them for any market)."""


def result_workbook(pairs: Sequence[Sequence[Any]], recommendations: Sequence[Sequence[Any]], result: Any) -> bytes:
    """``result.xlsx`` of a run: its pair rows (columns :data:`~matcher.batch.results.PAIRS`),
    recommendation rows and the unmatched records of ``result`` (a MatchResult)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "result.xlsx"
        with WorkbookWriter(path) as wb:
            for name, columns, rows in (("pairs", PAIRS, pairs), ("recommendations", RECOMMENDATIONS, recommendations),
                                        ("unmatched", UNMATCHED, unmatched_rows(result)), ("rejects", REJECTS, [])):
                wb.write_sheet(SHEETS_ZH[name], columns, [workbook_row(columns, r) for r in rows])
        return path.read_bytes()


def party_workbooks(result: Any, listings: Any, demands: Any, top_k: int) -> dict[str, bytes]:
    """Each party's workbook by file name (``业主_….xlsx``, ``企业_….xlsx``)."""
    from matcher.batch.parties import write_party_workbooks

    with tempfile.TemporaryDirectory() as tmp:
        write_party_workbooks(Path(tmp), result, listings, demands, top_k)
        return {p.name: p.read_bytes() for p in sorted(Path(tmp).glob("*.xlsx"))}


def zip_files(files: Mapping[str, bytes]) -> bytes:
    """The files as one zip archive (names in UTF-8, as Windows' own unzip reads them)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.flag_bits |= 0x800  # the name is UTF-8
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()
