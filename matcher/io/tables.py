"""Load a raw table (headers and cells, nothing interpreted) from a file or an object.

Supported sources: CSV/TSV text in UTF-8 (with or without BOM), UTF-16 with BOM or
GB18030 (a superset of GBK and GB2312: what Excel on Chinese Windows saves); XLSX;
JSON (an array of objects); JSON Lines; and in memory a list of dicts, a dict of
columns, or a pandas DataFrame.

Files as they come
------------------
* CSV: the delimiter (``,`` tab ``;`` ``|``) is the one whose header row holds the
  most known headers, then the one that gives the header's column count on most
  rows, so a remark column full of semicolons cannot make ``;`` win.
* XLSX: the first visible sheet that has any data, or the one named (hidden sheets
  are skipped unless named). Merged cells are filled from their top-left value, with
  a note per merged range; a formula cell the file holds no computed value for (the
  workbook was written by a program and never opened in Excel) is a :class:`Formula`,
  reported as such, not as a blank. A workbook or sheet that cannot be parsed is an
  :class:`~matcher.errors.InputFileError`, like every other whole-file problem.
* Blank cells ("", "-", "N/A", "未填" …, see :func:`~matcher.io.normalise.is_blank`)
  become None here, once, so nothing downstream checks them again.

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
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher.errors import InputFileError
from matcher.io.normalise import clean_text, is_blank

__all__ = ["Formula", "RawTable", "TableNote", "load_table"]

_HEADER_SCAN_ROWS = 10
_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_LINES = 60
_MEMO_MAX = 50_000  # short texts whose blankness is remembered (a file's repeated values fit)
# the characters a blank placeholder ("-", "N/A", "无数据", "未填" …) or the spaces around it
# may start with, in any width or case (see matcher.io.normalise.is_blank; a test checks
# that every character whose NFKC form starts a placeholder is here)
_BLANK_FIRST = frozenset("-—/\\nN#无空未暂?？.…0－／＼＃Ｎｎ．０"
                         "ǊǋǌᴺNJ․‥⁇⁈⁰ⁿ₀ₙℕ№↉Ⓝⓝ⓪⽆㍘㎁㎋㎚㎱㎵㎻︖︙︰︱﹒﹖﹘﹟﹣﹨"
                         "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                         "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


@dataclass(frozen=True)
class Formula:
    """A formula cell with no computed value stored in the file."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class TableNote:
    """Something the table layer did to one cell or range (a merged range filled)."""

    row: int
    column: int  # position in the raw grid, 0-based (mapped to a header by the reader)
    value: str
    zh: str
    en: str
    severity: str = "warning"  # "error" rejects the row


@dataclass(frozen=True)
class RawTable:
    """Headers and raw cells of one table.

    Attributes
    ----------
    source : str
        File path or a short description of the object.
    headers : list of str
        Column names as written (control characters removed).
    rows : list of (int, list)
        Each record's row number (header = row 1) and its cells, one per header;
        blank cells are None.
    kind : {"grid", "records"}
        ``"grid"`` for CSV and XLSX (numbers are cells as written), ``"records"`` for
        JSON and in-memory tables (numbers are typed values).
    notes : list of (str, TableNote)
        The header of the cell each note is about, and the note.
    sheet : str
        The worksheet read ("" for other formats).
    other_sheets : tuple of str
        The workbook's other visible sheets.
    """

    source: str
    headers: list[str]
    rows: list[tuple[int, list[Any]]]
    kind: str = "grid"
    notes: list[tuple[str, TableNote]] = field(default_factory=list)
    sheet: str = ""
    other_sheets: tuple[str, ...] = ()


def load_table(source: Any, *, sheet: str | None = None,
               header_score: Callable[[str], bool] | None = None) -> RawTable:
    """Read ``source`` into a :class:`RawTable`.

    Parameters
    ----------
    source : str, os.PathLike, list of dict, dict of list or pandas.DataFrame
    sheet : str, optional
        Worksheet of an XLSX file; default the first visible one with data.
    header_score : callable, optional
        Tells whether a cell is a known header; the first of the first ten rows
        with two known headers is the header row (a title row above it is
        skipped), and it picks a CSV file's delimiter. Default: the first non-blank
        row.

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
            raise InputFileError("<dict>", "各列长度不同；columns have different lengths")
        n = lengths.pop() if lengths else 0
        records = [{k: v[i] for k, v in cols.items()} for i in range(n)]
        return _from_records("<dict>", records, list(cols))
    if isinstance(source, Sequence) and not isinstance(source, (bytes, bytearray, str)):
        return _from_records("<list>", list(source), None)
    raise InputFileError(f"<{type(source).__name__}>",
                         "不是文件路径、记录列表、列字典或 DataFrame；"
                         "not a path, a list of records, a dict of columns or a DataFrame")


def _header(raw: Any) -> str:
    return clean_text(str(raw).strip())[0].strip()


def _blank_to_none(cells: list[Any], memo: dict[str, bool] | None = None) -> bool:
    """Blank cells become None, in place; True when any cell is left.

    ``memo`` remembers the answer for short texts: a table repeats them all the time.
    """
    any_value = False
    for j, c in enumerate(cells):
        if c is None:
            continue
        if type(c) is str:
            if c and c[0] not in _BLANK_FIRST:  # most cells: no placeholder starts this way
                any_value = True
                continue
            if len(c) > 16:  # longer than any placeholder, unless spaces pad it
                blank = len(c.strip()) <= 16 and is_blank(c)
            elif memo is not None:
                seen = memo.get(c)
                if seen is None:
                    seen = is_blank(c)
                    if len(memo) < _MEMO_MAX:
                        memo[c] = seen
                blank = seen
            else:
                blank = is_blank(c)
        else:
            blank = is_blank(c)
        if blank:
            cells[j] = None
        else:
            any_value = True
    return any_value


def _from_records(label: str, records: list[Any], headers: list[str] | None) -> RawTable:
    if not records:
        raise InputFileError(label, "没有记录（表为空）；no records (the table is empty)")
    if headers is None:
        seen: dict[str, None] = {}
        for k, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                raise InputFileError(label, f"第 {k + 1} 条记录是 {type(rec).__name__}，不是对象；"
                                            f"record {k + 1} is a {type(rec).__name__}, not an object")
            seen.update(dict.fromkeys(str(key) for key in rec))
        headers = list(seen)
    rows = []
    memo: dict[str, bool] = {}
    for k, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise InputFileError(label, f"第 {k + 1} 条记录是 {type(rec).__name__}，不是对象；"
                                        f"record {k + 1} is a {type(rec).__name__}, not an object")
        by_str = {str(key): v for key, v in rec.items()}
        cells = [by_str.get(h) for h in headers]
        if _blank_to_none(cells, memo):
            rows.append((k + 2, cells))
    if not rows:
        raise InputFileError(label, "没有记录（每一行都是空的）；no records (every row is blank)")
    return RawTable(label, [_header(h) for h in headers], rows, kind="records")


def _load_path(path: Path, sheet: str | None, header_score: Callable[[str], bool] | None) -> RawTable:
    label = str(path)
    if not path.exists():
        raise InputFileError(label, "找不到文件；file not found")
    if path.is_dir():
        raise InputFileError(label, "这是文件夹，不是文件；is a folder, not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(label, f"无法读取文件；cannot read the file ({exc.strerror or exc})") from None
    if not data.strip():
        raise InputFileError(label, "文件是空的；file is empty")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise InputFileError(label, "不支持旧版 .xls 工作簿，请另存为 .xlsx 或 CSV；"
                                    "old .xls workbooks are not supported: save it as .xlsx or CSV")
    if suffix in (".xlsx", ".xlsm") or data[:4] == b"PK\x03\x04":
        return _load_xlsx(label, data, sheet, header_score)
    text = _decode(label, data)
    del data
    if suffix == ".json" or (suffix not in (".jsonl", ".ndjson") and text.lstrip().startswith("[")):
        return _from_records(label, _json_array(label, text), None)
    if suffix in (".jsonl", ".ndjson") or (suffix != ".csv" and text.lstrip().startswith("{")):
        return _from_records(label, _json_lines(label, text), None)
    notes: list[TableNote] = []
    grid = _csv_grid(label, text, header_score, notes)
    return _from_grid(label, grid, header_score, notes)


def _decode(label: str, data: bytes) -> str:
    """Decode UTF-8 (BOM or not), UTF-16 with BOM, or GB18030; else fail."""
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        if b"\x00" in data[:4096]:
            raise InputFileError(label, "不是文本表格（二进制数据）；not a text table (binary data)")
        encodings = ("utf-8", "gb18030")
    for enc in encodings:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputFileError(label, "编码既不是 UTF-8 也不是 GB18030/GBK；text is neither UTF-8 nor GB18030/GBK")


def _pick_delimiter(text: str, header_score: Callable[[str], bool] | None) -> str:
    """The delimiter that reads the header best, then gives its column count on most rows."""
    sample = "\n".join(text.splitlines()[:_SNIFF_LINES])
    best, best_key = ",", (-1, -1.0, -1)
    for d in _DELIMITERS:
        if d not in sample:
            continue
        try:
            rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=d) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not rows:
            continue
        at, known = 0, 0
        if header_score is not None:
            for k, r in enumerate(rows[:_HEADER_SCAN_ROWS]):
                n = sum(1 for c in r if c.strip() and header_score(c))
                if n >= 2:
                    at, known = k, n
                    break
        width = len(rows[at])
        body = rows[at + 1:]
        agree = sum(1 for r in body if len(r) == width) / len(body) if body else 1.0
        key = (known, agree if width > 1 else -1.0, width)
        if key > best_key:
            best, best_key = d, key
    return best


def _csv_grid(label: str, text: str, header_score: Callable[[str], bool] | None,
              notes: list[TableNote] | None = None) -> list[tuple[int, list[Any]]]:
    """The records of a CSV text, numbered from 1; a stray quote is noted in ``notes``
    (see :func:`_records`)."""
    delimiter = _pick_delimiter(text, header_score)
    # a cell may be as long as the file (the reader cuts long text later, with a warning);
    # the csv module's limit is process-wide, so it is put back at once
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        # the common case at full speed: every record on one line, no quote open at the end
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            grid = [(k, [_unescape(c) for c in row]) for k, row in enumerate(reader, start=1)]
        except csv.Error as exc:
            raise InputFileError(label, f"CSV 格式错误（第 {reader.line_num} 行）；"
                                        f"malformed CSV at line {reader.line_num}: {exc}") from None
        if reader.line_num == len(grid) and not _open_at_end(text, delimiter):
            return grid
        del grid
        return [(k, [_unescape(c) for c in row]) for k, row in _records(label, text, delimiter,
                                                                        [] if notes is None else notes)]
    finally:
        csv.field_size_limit(limit)


def _open_at_end(text: str, delimiter: str) -> bool:
    """Whether the last line of ``text`` leaves a quote open."""
    end = len(text)
    while end and text[end - 1] in "\r\n":
        end -= 1
    last = text[max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1 : end]  # no copy of the rest
    if '"' not in last:
        return False
    try:
        list(csv.reader([last], delimiter=delimiter, strict=True))
    except csv.Error:
        return True
    return False


_WIDTH_SCAN = 20  # records read to learn a file's usual column count


def _records(label: str, text: str, delimiter: str, notes: list[TableNote]) -> list[tuple[int, list[str]]]:
    """Every record of ``text``, guarding against a stray quote.

    A quoted cell may hold line breaks (Excel writes a cell of several lines that way).
    A quote that is never closed instead swallows every following line into one cell,
    and the rows there vanish without a word. So a record spread over several lines is
    kept only when no line after its first looks like a whole row (read alone, it has
    the file's usual column count) and, at the end of the file, its quote is closed.
    Otherwise its first line is read alone (the stray quote runs to the end of that
    line), noted (a warning when that gives the usual column count, else an error that
    rejects the row), and reading starts again on the next line, so every line ends up
    a record, accepted or rejected with a reason.
    """
    lines = list(io.StringIO(text, newline=""))
    out: list[tuple[int, list[str]]] = []
    width = 0
    at = 0  # index of the first line not yet read
    while at < len(lines):
        reader = csv.reader(_From(lines, at), delimiter=delimiter)  # no copy: many stray quotes stay linear
        start = 0  # lines of this reader consumed before the current record
        restart = False
        try:
            for row in reader:
                first, end = at + start, at + reader.line_num  # the record's lines: [first, end)
                start = reader.line_num
                if not width and len(out) >= _WIDTH_SCAN:
                    width = _usual_width(out)
                w = width or _usual_width(out)
                if (end - first > 1 or end == len(lines)) and _stray(lines, first, end, delimiter, w):
                    out.append(_stray_row(label, lines[first], delimiter, len(out) + 1, w, notes))
                    at, restart = first + 1, True
                    break
                out.append((len(out) + 1, row))
        except csv.Error as exc:
            line = at + reader.line_num
            raise InputFileError(label, f"CSV 格式错误（第 {line} 行）；"
                                        f"malformed CSV at line {line}: {exc}") from None
        if not restart:
            break
    return out


class _From:
    """The lines of a list from position ``at`` on, without copying the list."""

    def __init__(self, lines: list[str], at: int) -> None:
        self.lines, self.at = lines, at

    def __iter__(self) -> _From:
        return self

    def __next__(self) -> str:
        if self.at >= len(self.lines):
            raise StopIteration
        self.at += 1
        return self.lines[self.at - 1]


def _usual_width(records: list[tuple[int, list[str]]]) -> int:
    """The most common column count of the first records with more than one cell."""
    counts: dict[int, int] = {}
    for _, r in records[:_WIDTH_SCAN]:
        if len(r) > 1:
            counts[len(r)] = counts.get(len(r), 0) + 1
    return max(counts, key=lambda w: (counts[w], w)) if counts else 0


def _alone(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])


def _stray(lines: list[str], first: int, end: int, delimiter: str, width: int) -> bool:
    """Whether the record on ``lines[first:end]`` is a quote left open (see :func:`_records`)."""
    if width > 1 and any(len(_alone(lines[k], delimiter)) == width for k in range(first + 1, end)):
        return True
    if end == len(lines):  # reaches the end of the file: is its quote closed?
        try:
            list(csv.reader(iter(lines[first:end]), delimiter=delimiter, strict=True))
        except csv.Error:
            return True
    return False


def _stray_row(label: str, line: str, delimiter: str, k: int, width: int,
               notes: list[TableNote]) -> tuple[int, list[str]]:
    row = _alone(line, delimiter)
    column = max(len(row) - 1, 0)
    ok = width <= 1 or len(row) == width
    zh = ("引号未闭合：此格从引号起读到行尾，以下各行分别读取" + ("" if ok else "；本行列数不对，不予读取")
          + "（请检查这一格的引号）")
    en = ("a quote is never closed: this cell is read from the quote to the end of the line, and the lines "
          "below are read one by one" + ("" if ok else "; the row has the wrong number of columns and is "
                                          "rejected") + " (check the quote in this cell)")
    notes.append(TableNote(k, column, row[column] if row else "", zh, en, "warning" if ok else "error"))
    return k, row


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (the writers in
:mod:`matcher.io.export` put an apostrophe before such text in CSV)."""


def _unescape(cell: str) -> str:
    """A CSV cell without the apostrophe a writer put before text that would read as a
    formula (``'=SUM(1)`` is the text ``=SUM(1)``), as Excel shows it."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in FORMULA_START and len(cell) > 1 else cell


# ---------------------------------------------------------------------------
# XLSX

_ROW_END = re.compile(rb"</(?:\w+:)?row>")
_HAS_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_FORMULA_TEXT = re.compile(rb"<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
_VALUE = re.compile(rb"<(?:\w+:)?v\b[^>]*>[^<]")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+\d+)(?::([A-Z]+\d+))?"')


def _scan_sheet_xml(data: bytes, path: str) -> tuple[list[tuple[str, str]], dict[tuple[int, int], str]]:
    """Merged ranges and formula cells without a value, from the sheet's XML.

    openpyxl's streaming reader shows neither, so the XML is read once more as a
    stream of bytes (about a tenth of the time of parsing it).

    Returns
    -------
    merges : list of (first, last) cell names ("A2", "A5")
    formulas : dict of (row, column) (1-based) to formula text
    """
    from openpyxl.utils.cell import column_index_from_string

    merges: list[tuple[str, str]] = []
    formulas: dict[tuple[int, int], str] = {}

    def scan(part: bytes) -> None:
        if _HAS_FORMULA.search(part):
            for m in _CELL.finditer(part):
                inner = m.group(2) or b""
                if not _HAS_FORMULA.search(inner) or _VALUE.search(inner):
                    continue
                ref = _REF.search(m.group(1))
                if ref is None:
                    continue
                f = _FORMULA_TEXT.search(inner)
                text = (f.group(1) or b"").decode("utf-8", "replace") if f else ""
                key = (int(ref.group(2)), column_index_from_string(ref.group(1).decode()))
                formulas[key] = "=" + text if text else "=（共享公式）"
        merges.extend((m.group(1).decode(), (m.group(2) or m.group(1)).decode()) for m in _MERGE.finditer(part))

    with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open(path) as fh:
        carry = b""
        while chunk := fh.read(1 << 20):
            buf = carry + chunk
            ends = list(_ROW_END.finditer(buf))
            if ends:
                cut = ends[-1].end()
                scan(buf[:cut])
                carry = buf[cut:]
            else:
                carry = buf
        scan(carry)
    return merges, formulas


def _load_xlsx(label: str, data: bytes, sheet: str | None,
               header_score: Callable[[str], bool] | None) -> RawTable:
    import openpyxl  # deferred: only XLSX needs it

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except MemoryError:
        raise
    except Exception as exc:  # a damaged workbook can fail anywhere inside openpyxl
        raise InputFileError(label, f"不是可读取的 XLSX 工作簿；not a readable XLSX workbook ({type(exc).__name__})"
                             ) from None
    try:
        visible = [ws for ws in wb.worksheets if ws.sheet_state == "visible"]
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise InputFileError(label, f"没有名为“{sheet}”的工作表（现有：{'、'.join(wb.sheetnames)}）；"
                                            f"no sheet named {sheet!r}; sheets: {', '.join(wb.sheetnames)}")
            candidates = [wb[sheet]]
        else:
            if not visible:
                raise InputFileError(label, "没有可见的工作表；no visible sheet")
            candidates = visible
        grid: list[tuple[int, list[Any]]] = []
        ws = candidates[0]
        for ws in candidates:  # the first with data (a blank cover sheet is passed over)
            grid = _sheet_rows(label, ws)
            if any(c is not None and not is_blank(c) for _, cells in grid for c in cells):
                break
        path = getattr(ws, "_worksheet_path", None)
        title = ws.title
        others = tuple(w.title for w in visible if w.title != title)
    finally:
        wb.close()
    notes: list[TableNote] = []
    if path:
        try:
            merges, formulas = _scan_sheet_xml(data, path)
        except (KeyError, zipfile.BadZipFile, OSError, EOFError):
            merges, formulas = [], {}
        _fill_merges(grid, merges, notes)
        _mark_formulas(grid, formulas)
    table = _from_grid(label, grid, header_score, notes)
    return RawTable(table.source, table.headers, table.rows, "grid", table.notes, title, others)


def _sheet_rows(label: str, ws: Any) -> list[tuple[int, list[Any]]]:
    try:
        ws.reset_dimensions()  # some writers record wrong dimensions; read every row there is
        return [(k, list(row)) for k, row in enumerate(ws.iter_rows(values_only=True), start=1)]
    except MemoryError:
        raise
    except Exception as exc:
        raise InputFileError(label, f"工作表“{ws.title}”无法解析；sheet {ws.title!r} cannot be parsed "
                                    f"({type(exc).__name__})") from None


def _fill_merges(grid: list[tuple[int, list[Any]]], merges: list[tuple[str, str]], notes: list[TableNote]) -> None:
    from openpyxl.utils.cell import range_boundaries

    if not merges or not grid:
        return
    width = max(len(c) for _, c in grid)
    for first, last in merges:
        c1, r1, c2, r2 = range_boundaries(f"{first}:{last}")
        r2, c2 = min(r2, len(grid)), min(c2, width)
        if r1 > len(grid) or c1 > width or (r1 == r2 and c1 == c2):
            continue
        top = grid[r1 - 1][1]
        value = top[c1 - 1] if c1 - 1 < len(top) else None
        if value is None:
            continue
        for r in range(r1, r2 + 1):
            cells = grid[r - 1][1]
            if len(cells) < c2:
                cells.extend([None] * (c2 - len(cells)))
            for c in range(c1, c2 + 1):
                if (r, c) != (r1, c1) and cells[c - 1] is None:
                    cells[c - 1] = value
        shown = str(value)
        shown = shown if len(shown) <= 40 else shown[:39] + "…"
        rows_zh = f"第 {r1}–{r2} 行" if r2 > r1 else f"第 {r1} 行"
        notes.append(TableNote(r1, c1 - 1, shown,
                               f"合并单元格 {first}:{last}（{rows_zh}）已按左上角的值“{shown}”填充",
                               f"merged cells {first}:{last} filled from their top-left value {shown!r}"))


def _mark_formulas(grid: list[tuple[int, list[Any]]], formulas: dict[tuple[int, int], str]) -> None:
    for (r, c), text in formulas.items():
        if r > len(grid):
            continue
        cells = grid[r - 1][1]
        if len(cells) < c:
            cells.extend([None] * (c - len(cells)))
        if cells[c - 1] is None:
            cells[c - 1] = Formula(text)


def _json_array(label: str, text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(label, f"JSON 格式错误（第 {exc.lineno} 行）；invalid JSON at line {exc.lineno}: "
                                    f"{exc.msg}") from None
    except RecursionError:
        raise InputFileError(label, "JSON 嵌套过深；invalid JSON: nested too deeply") from None
    if not isinstance(value, list):
        raise InputFileError(label, "JSON 必须是对象数组；JSON must be an array of objects")
    return value


def _json_lines(label: str, text: str) -> list[Any]:
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InputFileError(label, f"JSON 格式错误（第 {n} 行）；invalid JSON on line {n}: {exc.msg}") from None
        except RecursionError:
            raise InputFileError(label, f"JSON 嵌套过深（第 {n} 行）；invalid JSON on line {n}: nested too deeply"
                                 ) from None
    return out


def _from_grid(label: str, grid: list[tuple[int, list[Any]]], header_score: Callable[[str], bool] | None,
               notes: Sequence[TableNote] = ()) -> RawTable:
    memo: dict[str, bool] = {}
    grid = [(k, cells) for k, cells in grid if _blank_to_none(cells, memo)]
    if not grid:
        raise InputFileError(label, "没有数据行（表为空）；no rows (the table is empty)")
    header_at = 0
    if header_score is not None:
        for pos, (_, cells) in enumerate(grid[:_HEADER_SCAN_ROWS]):
            if sum(1 for c in cells if c is not None and header_score(str(c))) >= 2:
                header_at = pos
                break
    header_row, header_cells = grid[header_at]
    headers = ["" if c is None else _header(c) for c in header_cells]
    body = grid[header_at + 1 :]
    width = max([len(headers), *(len(c) for _, c in body)])
    headers += [""] * (width - len(headers))
    # name unnamed columns that hold data; drop the rest
    has_data = [False] * width
    for _, cells in body:
        for j, c in enumerate(cells):
            if c is not None:
                has_data[j] = True
    keep = [j for j in range(width) if headers[j] or has_data[j]]
    for j in keep:
        if not headers[j]:
            headers[j] = f"列{j + 1}"
    if len(keep) == width:
        rows = [(k, c if len(c) == width else c + [None] * (width - len(c))) for k, c in body]
    else:
        rows = [(k, [c[j] if j < len(c) else None for j in keep]) for k, c in body]
    if not rows:
        raise InputFileError(label, "表头下没有记录；no records below the header row")
    kept = {j: headers[j] for j in keep}
    placed = [(kept[n.column], n) for n in notes if n.column in kept and n.row > header_row]
    return RawTable(label, [headers[j] for j in keep], rows, "grid", placed)
