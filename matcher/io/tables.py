"""Load a raw table (headers and cells, nothing interpreted) from a file or an object.

Supported sources: CSV/TSV text in UTF-8 (with or without BOM), UTF-16 with BOM or
GB18030 (a superset of GBK and GB2312: what Excel on Chinese Windows saves); XLSX
(first sheet, or the one named); JSON (an array of objects); JSON Lines; and in
memory a list of dicts, a dict of columns, or a pandas DataFrame.

Spreadsheet row numbers are kept as a user sees them: the header is row 1 (or the
row it really is in a sheet with a title above it), the first record row 2. For JSON
and in-memory tables the k-th record is row k + 1, as if it were a sheet. Fully
blank rows are skipped.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matcher.errors import InputFileError
from matcher.io.normalise import is_blank

__all__ = ["RawTable", "load_table"]

_HEADER_SCAN_ROWS = 10


@dataclass(frozen=True)
class RawTable:
    """Headers and raw cells of one table.

    Attributes
    ----------
    source : str
        File path or a short description of the object.
    headers : list of str
        Column names as written.
    rows : list of (int, list)
        Each record's row number (header = row 1) and its cells, one per header.
    """

    source: str
    headers: list[str]
    rows: list[tuple[int, list[Any]]]


def load_table(source: Any, *, sheet: str | None = None,
               header_score: Callable[[str], bool] | None = None) -> RawTable:
    """Read ``source`` into a :class:`RawTable`.

    Parameters
    ----------
    source : str, os.PathLike, list of dict, dict of list or pandas.DataFrame
    sheet : str, optional
        Worksheet of an XLSX file; default the first.
    header_score : callable, optional
        Tells whether a cell is a known header; the first of the first ten rows
        with two known headers is the header row (a title row above it is
        skipped). Default: the first non-blank row.

    Raises
    ------
    InputFileError
        The source is missing, unreadable, not a table, or empty.
    """
    if isinstance(source, (str, os.PathLike)):
        return _load_path(Path(source), sheet, header_score)
    if hasattr(source, "columns") and hasattr(source, "to_dict"):  # pandas.DataFrame
        records = source.to_dict(orient="records")
        headers = [str(c) for c in source.columns]
        return _from_records(f"<{type(source).__name__}>", records, headers)
    if isinstance(source, Mapping):
        cols = {str(k): list(v) for k, v in source.items()}
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise InputFileError("<dict>", "columns have different lengths")
        n = lengths.pop() if lengths else 0
        records = [{k: v[i] for k, v in cols.items()} for i in range(n)]
        return _from_records("<dict>", records, list(cols))
    if isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray)):
        return _from_records("<list>", list(source), None)
    raise InputFileError(f"<{type(source).__name__}>",
                         "not a path, a list of records, a dict of columns or a DataFrame")


def _from_records(label: str, records: list[Any], headers: list[str] | None) -> RawTable:
    if not records:
        raise InputFileError(label, "no records (the table is empty)")
    if headers is None:
        seen: dict[str, None] = {}
        for k, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise InputFileError(label, f"record {k + 1} is a {type(rec).__name__}, not an object")
            seen.update(dict.fromkeys(str(key) for key in rec))
        headers = list(seen)
    rows = []
    for k, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise InputFileError(label, f"record {k + 1} is a {type(rec).__name__}, not an object")
        by_str = {str(key): v for key, v in rec.items()}
        cells = [by_str.get(h) for h in headers]
        if not all(is_blank(c) for c in cells):
            rows.append((k + 2, cells))
    if not rows:
        raise InputFileError(label, "no records (every row is blank)")
    return RawTable(label, headers, rows)


def _load_path(path: Path, sheet: str | None, header_score: Callable[[str], bool] | None) -> RawTable:
    label = str(path)
    if not path.exists():
        raise InputFileError(label, "file not found")
    if path.is_dir():
        raise InputFileError(label, "is a folder, not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(label, f"cannot read the file ({exc.strerror or exc})") from None
    if not data.strip():
        raise InputFileError(label, "file is empty")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise InputFileError(label, "old .xls workbooks are not supported: save it as .xlsx or CSV")
    if suffix in (".xlsx", ".xlsm") or data[:4] == b"PK\x03\x04":
        grid = _xlsx_grid(label, data, sheet)
        return _from_grid(label, grid, header_score)
    text = _decode(label, data)
    if suffix == ".json" or (suffix not in (".jsonl", ".ndjson") and text.lstrip().startswith("[")):
        return _from_records(label, _json_array(label, text), None)
    if suffix in (".jsonl", ".ndjson") or (suffix != ".csv" and text.lstrip().startswith("{")):
        return _from_records(label, _json_lines(label, text), None)
    return _from_grid(label, _csv_grid(text), header_score)


def _decode(label: str, data: bytes) -> str:
    """Decode UTF-8 (BOM or not), UTF-16 with BOM, or GB18030; else fail."""
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        if b"\x00" in data[:4096]:
            raise InputFileError(label, "not a text table (binary data)")
        encodings = ("utf-8", "gb18030")
    for enc in encodings:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputFileError(label, "text is neither UTF-8 nor GB18030/GBK")


def _csv_grid(text: str) -> list[tuple[int, list[Any]]]:
    sample = "\n".join(text.splitlines()[:20])
    delimiter = max(",\t;|", key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [(k, [_unescape(c) for c in row]) for k, row in enumerate(reader, start=1)]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (the writers in
:mod:`matcher.io.export` put an apostrophe before such text in CSV)."""


def _unescape(cell: str) -> str:
    """A CSV cell without the apostrophe a writer put before text that would read as a
    formula (``'=SUM(1)`` is the text ``=SUM(1)``), as Excel shows it."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_START and len(cell) > 1 else cell


def _xlsx_grid(label: str, data: bytes, sheet: str | None) -> list[tuple[int, list[Any]]]:
    import openpyxl  # deferred: only XLSX needs it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputFileError(label, f"not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            raise InputFileError(label, f"no sheet named {sheet!r}; sheets: {', '.join(wb.sheetnames)}")
        return [(k, list(row)) for k, row in enumerate(ws.iter_rows(values_only=True), start=1)]
    finally:
        wb.close()


def _json_array(label: str, text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(label, f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(value, list):
        raise InputFileError(label, "JSON must be an array of objects")
    return value


def _json_lines(label: str, text: str) -> list[Any]:
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputFileError(label, f"invalid JSON on line {n}: {exc.msg}") from None
    return out


def _from_grid(label: str, grid: list[tuple[int, list[Any]]],
               header_score: Callable[[str], bool] | None) -> RawTable:
    grid = [(k, cells) for k, cells in grid if not all(is_blank(c) for c in cells)]
    if not grid:
        raise InputFileError(label, "no rows (the table is empty)")
    header_at = 0
    if header_score is not None:
        for pos, (_, cells) in enumerate(grid[:_HEADER_SCAN_ROWS]):
            if sum(1 for c in cells if c is not None and header_score(str(c))) >= 2:
                header_at = pos
                break
    _, header_cells = grid[header_at]
    headers = ["" if is_blank(c) else str(c).strip() for c in header_cells]
    body = grid[header_at + 1 :]
    width = max([len(headers), *(len(c) for _, c in body)])
    headers += [""] * (width - len(headers))
    # name unnamed columns that hold data; drop the rest
    keep = []
    for j, h in enumerate(headers):
        if h or any(j < len(c) and not is_blank(c[j]) for _, c in body):
            keep.append(j)
            if not h:
                headers[j] = f"列{j + 1}"
    rows = [(k, [c[j] if j < len(c) else None for j in keep]) for k, c in body]
    if not rows:
        raise InputFileError(label, "no records below the header row")
    return RawTable(label, [headers[j] for j in keep], rows)
