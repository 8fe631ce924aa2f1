"""Write tables and records: CSV (UTF-8 with BOM, for Excel on Chinese Windows),
XLSX, JSON and JSON Lines, chosen by the file's suffix.

Every write goes to a temporary file in the same folder that is renamed over the
target at the end, so an interrupted run never leaves a half-written file that looks
complete.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from matcher.io.ingest import REPORT_COLUMNS, Problem, Report

__all__ = ["atomic_path", "write_records", "write_report", "write_table", "write_workbook"]


def write_table(path: str | os.PathLike[str], headers: Sequence[str],
                rows: Iterable[Sequence[Any]], *, sheet: str = "Sheet1") -> Path:
    """Write rows under ``headers`` to ``path``; the suffix picks the format.

    Parameters
    ----------
    path : path-like
        ``.csv`` (UTF-8 with BOM), ``.xlsx``, ``.json`` (array of objects) or
        ``.jsonl``.
    headers : sequence of str
    rows : iterable of sequences, each of ``len(headers)`` values
    sheet : str
        Worksheet title for XLSX.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    writer = _WRITERS.get(suffix)
    if writer is None:
        raise ValueError(f"cannot write {suffix!r} files; use .csv, .xlsx, .json or .jsonl")
    with atomic_path(path) as tmp:
        writer(tmp, list(headers), rows, sheet)
    return path


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary file beside ``path`` to write; renamed over ``path`` when the block
    ends normally, removed when it raises (or is interrupted)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _width(value: Any) -> int:
    """Display width of a cell: CJK characters count two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def write_workbook(path: str | os.PathLike[str],
                   sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]],
                   max_width: int = 60) -> Path:
    """Write several tables to one XLSX workbook, one sheet each.

    Each sheet has its header row frozen and bold, and columns as wide as their
    widest cell (CJK characters counted twice) up to ``max_width`` characters.

    Parameters
    ----------
    path : path-like
    sheets : sequence of (title, headers, rows)

    Returns
    -------
    pathlib.Path
    """
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, headers, rows in sheets:
        ws = wb.create_sheet(title)
        ws.append(list(headers))
        widths = [_width(h) for h in headers]
        for row in rows:
            ws.append(list(row))
            widths = [max(w, _width(v)) for w, v in zip(widths, row)]
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for k, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(k)].width = min(w, max_width) + 2
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return Path(path)


def _csv(tmp: Path, headers: list[str], rows: Iterable[Sequence[Any]], sheet: str) -> None:
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(headers)
        w.writerows(rows)


def _xlsx(tmp: Path, headers: list[str], rows: Iterable[Sequence[Any]], sheet: str) -> None:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(headers)
    for r in rows:
        ws.append(list(r))
    wb.save(tmp)


def _json(tmp: Path, headers: list[str], rows: Iterable[Sequence[Any]], sheet: str) -> None:
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump([dict(zip(headers, r)) for r in rows], fh, ensure_ascii=False, indent=1)
        fh.write("\n")


def _jsonl(tmp: Path, headers: list[str], rows: Iterable[Sequence[Any]], sheet: str) -> None:
    with open(tmp, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(dict(zip(headers, r)), ensure_ascii=False) + "\n")


_WRITERS = {".csv": _csv, ".xlsx": _xlsx, ".json": _json, ".jsonl": _jsonl}


def write_records(records: Any, path: str | os.PathLike[str]) -> Path:
    """Write :class:`~matcher.records.Listings` or :class:`~matcher.records.Demands`
    with canonical headers and canonical text (see :func:`matcher.records.to_text`):
    list fields joined with ``|``, booleans ``true``/``false``, empty for unknown,
    unknown input columns last. Reading the file back gives the same records.
    """
    cols: Mapping[str, list[str]] = records.text_columns()
    headers = list(cols)
    return write_table(path, headers, zip(*cols.values()) if headers else [], sheet=type(records).__name__)


def write_report(problems: Report | Iterable[Problem], path: str | os.PathLike[str]) -> Path:
    """Write an ingestion report (or any problems) with the columns of :data:`REPORT_COLUMNS`."""
    return write_table(path, REPORT_COLUMNS,
                       ([getattr(p, c) for c in REPORT_COLUMNS] for p in problems), sheet="rejects")
