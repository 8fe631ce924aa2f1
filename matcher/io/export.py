"""Write tables and records: CSV (UTF-8 with BOM, for Excel on Chinese Windows), XLSX,
JSON and JSON Lines, chosen by the file's suffix.

Safe to open and to forward
---------------------------
* **No formulas from data.** A text cell that starts with ``=``, ``+``, ``-``, ``@``, a
  tab or a carriage return would become a live formula in a spreadsheet. In CSV such a
  cell is written with a leading apostrophe (as OWASP recommends; Excel shows the text
  without it, and :mod:`matcher.io.tables` drops it again when it reads a CSV back); in
  XLSX every text cell is a string cell, never a formula. Numbers stay numbers.
* **Text that XML cannot hold** (control characters other than tab and newline) is
  dropped from XLSX cells, which would otherwise make the file unreadable.
* **Whole files only.** Every file is written under a temporary name beside the target
  and renamed over it when complete (:func:`atomic_path`); files are created with the
  user's umask.
* **The same rows give the same bytes**: workbooks carry a fixed creation date.

Workbooks are written with XlsxWriter, in constant-memory mode for large tables: rows go
to disk as they are written, header row frozen and bold, an autofilter over the table,
number formats per column and wrapped text in long text columns. A sheet longer than
Excel's row limit continues on further sheets (``配对结果 (2)`` ...).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import re
import signal
import sys
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from matcher.io.ingest import REPORT_COLUMNS, Problem, Report
from matcher.io.tables import FORMULA_START

__all__ = ["EXCEL_MAX_ROWS", "FORMULA_START", "BackgroundWorkbook", "Column", "SheetStream", "WorkbookWriter",
           "atomic_path", "csv_cell", "csv_formatter", "csv_text", "sheet_parts", "umask", "write_records",
           "write_report", "write_table", "write_workbook", "xlsx_text"]


EXCEL_MAX_ROWS = 1_048_576


def sheet_parts(n_rows: int, max_rows: int | None = None) -> int:
    """How many sheets a table of ``n_rows`` rows (header not counted) takes at
    ``max_rows`` rows a sheet (default :data:`EXCEL_MAX_ROWS`), the header on each."""
    per = max(1, (EXCEL_MAX_ROWS if max_rows is None else max_rows) - 1)
    return max(1, -(-int(n_rows) // per))
"""Rows in one worksheet, the header included."""

_XLSX_MAX_CHARS = 32_767  # characters Excel keeps in one cell
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FIXED_DATE = _dt.datetime(2026, 1, 1)  # workbook properties: no clock in the output


@dataclass(frozen=True)
class Column:
    """One column of an output table.

    Attributes
    ----------
    name : str
        Canonical name (the CSV header).
    zh : str
        Chinese header (the workbook's).
    kind : {"text", "number"}
        A number cell is written as a number (in CSV with ``digits`` decimals, trailing
        zeros dropped); anything else as text.
    digits : int
        Decimals kept for a number.
    wrap : bool
        Long free text (reasons): wrapped in the workbook, in a wide column.
    """

    name: str
    zh: str = ""
    kind: Literal["text", "number"] = "text"
    digits: int = 0
    wrap: bool = False


def _newlines(value: str) -> str:
    """Line breaks inside a cell as ``\n`` (a lone ``\r`` would split the row for some readers)."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def csv_text(value: str) -> str:
    """A text cell as CSV holds it: a leading apostrophe when it would read as a formula,
    line breaks as ``\n``.

    >>> csv_text("=HYPERLINK(1)"), csv_text("慈溪")
    ("'=HYPERLINK(1)", '慈溪')
    """
    value = _newlines(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def _num(v: float, digits: int) -> str:
    """Fixed decimals, trailing zeros dropped (``12.5``, ``3``, ``0``); empty for NaN."""
    if math.isnan(v) or math.isinf(v):
        return ""
    s = f"{v:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{v:.0f}"
    return "0" if s in ("-0", "") else s


class _RawNumber(str):
    """Canonical text of a number (``"-1"``): written as it is, never escaped."""


def csv_cell(value: Any, col: Column | None) -> str:
    """One value as CSV text (see :func:`csv_text`; numbers with the column's decimals)."""
    if value is None:
        return ""
    if isinstance(value, _RawNumber):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if col is not None and col.kind == "number":
            return _num(float(value), col.digits)
        return str(value) if isinstance(value, int) else repr(float(value))
    return csv_text(str(value))


def csv_formatter(col: Column) -> Callable[[Any], str]:
    """:func:`csv_cell` for one column, with the column's case decided once (a table's
    rows format many cells)."""
    if col.kind == "number":
        digits = col.digits

        def number(value: Any) -> str:
            if value is None:
                return ""
            if isinstance(value, float | int) and not isinstance(value, bool):
                return _num(float(value), digits)
            return csv_cell(value, col)

        return number

    def text(value: Any) -> str:
        if type(value) is str:
            return csv_text(value) if value[:1] in _SPECIAL_START or "\r" in value else value
        return csv_cell(value, col)

    return text


_SPECIAL_START = frozenset(FORMULA_START)


def _columns(headers: Sequence[str | Column]) -> list[Column]:
    return [h if isinstance(h, Column) else Column(str(h)) for h in headers]


def write_table(path: str | os.PathLike[str], headers: Sequence[str | Column],
                rows: Iterable[Sequence[Any]], *, sheet: str = "Sheet1") -> Path:
    """Write rows under ``headers`` to ``path``; the suffix picks the format.

    Parameters
    ----------
    path : path-like
        ``.csv`` (UTF-8 with BOM), ``.xlsx``, ``.json`` (array of objects) or
        ``.jsonl``.
    headers : sequence of str or Column
        Column names (a :class:`Column` also says which columns hold numbers).
    rows : iterable of sequences, each of ``len(headers)`` values
        Text (``str``), numbers (``int``/``float``; NaN is empty) or None (empty).
        Rows are consumed as they are written.
    sheet : str
        Worksheet title for XLSX.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".json", ".jsonl"):
        raise ValueError(f"cannot write {suffix!r} files; use .csv, .xlsx, .json or .jsonl")
    cols = _columns(headers)
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            _csv(tmp, cols, rows)
        elif suffix == ".xlsx":
            with WorkbookWriter(tmp, constant_memory=True) as wb:
                wb.write_sheet(sheet, cols, rows, zh_headers=False)
        else:
            _json(tmp, cols, rows, lines=suffix == ".jsonl")
    return path


def umask() -> int:
    """The process's umask (read without changing it where Linux allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: the classic read-and-restore
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary file beside ``path`` to write; renamed over ``path`` when the block
    ends normally, removed when it raises (or is interrupted). The file ends up with the
    mode a plain ``open`` gives (``0o666`` less the umask)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _csv(tmp: Path, cols: list[Column], rows: Iterable[Sequence[Any]]) -> None:
    fmts = [csv_formatter(c) for c in cols]
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([csv_text(c.name) for c in cols])
        w.writerows([f(v) for f, v in zip(fmts, r)] for r in rows)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json(tmp: Path, cols: list[Column], rows: Iterable[Sequence[Any]], lines: bool) -> None:
    names = [c.name for c in cols]
    with open(tmp, "w", encoding="utf-8") as fh:
        if lines:
            for r in rows:
                fh.write(json.dumps(dict(zip(names, map(_json_value, r))), ensure_ascii=False) + "\n")
        else:
            json.dump([dict(zip(names, map(_json_value, r))) for r in rows], fh, ensure_ascii=False, indent=1)
            fh.write("\n")


def _width(value: Any) -> int:
    """Display width of a cell: CJK characters count two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def xlsx_text(value: str) -> str:
    """Text as a workbook cell can hold it: no XML-illegal characters, at most 32,767."""
    if value.isprintable() and len(value) <= _XLSX_MAX_CHARS:
        return value  # no control or non-character code point: nothing to change (most cells)
    value = _ILLEGAL_XML.sub("", _newlines(value))
    return value[:_XLSX_MAX_CHARS]


class WorkbookWriter:
    """An XLSX workbook written sheet by sheet, rows streamed (XlsxWriter).

    Parameters
    ----------
    path : path-like
        The file to create (write it under :func:`atomic_path`).
    constant_memory : bool
        Stream rows to disk as they are written (large tables); sheets must then be
        written one after another.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.xlsx"
    >>> with WorkbookWriter(p) as wb:
    ...     wb.write_sheet("配对", [Column("id", "编号"), Column("score", "总分", "number", 4)], [["=1", 0.5]])
    1
    """

    def __init__(self, path: str | os.PathLike[str], constant_memory: bool = False) -> None:
        import xlsxwriter

        self.path = Path(path)
        self.book = xlsxwriter.Workbook(str(self.path), {
            "constant_memory": constant_memory, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "nan_inf_to_errors": False,
        })
        self.book.set_properties({"created": _FIXED_DATE})
        self.bold = self.book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#F2F2F2"})
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.top = self.book.add_format({"valign": "top"})
        self._numbers: dict[int, Any] = {}
        self.titles: list[str] = []

    def __enter__(self) -> WorkbookWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Finish the file (every sheet written)."""
        self.book.close()

    def number_format(self, digits: int) -> Any:
        """The cell format of a number with ``digits`` decimals."""
        if digits not in self._numbers:
            fmt = "0" if digits == 0 else "0." + "0" * digits
            self._numbers[digits] = self.book.add_format({"num_format": fmt, "valign": "top"})
        return self._numbers[digits]

    def sheet_title(self, title: str, part: int) -> str:
        """A sheet name not used yet: ``title``, or ``title (part)`` for a continuation."""
        base = re.sub(r"[\[\]:*?/\\]", "_", title)[:25] or "Sheet"
        name = base if part == 1 else f"{base} ({part})"
        k = 2
        while name in self.titles:
            name = f"{base}_{k}"
            k += 1
        self.titles.append(name)
        return name

    def sheet(self, title: str, columns: Sequence[str | Column], zh_headers: bool = True,
              max_rows: int | None = None, reserve: bool = False) -> SheetStream:
        """A sheet to fill row by row (:meth:`SheetStream.add`, then :meth:`SheetStream.close`).

        Parameters
        ----------
        title : str
            Sheet name (Excel's forbidden characters replaced, at most 31 characters).
        columns : sequence of str or Column
        zh_headers : bool
            Use each column's Chinese header (else its canonical name).
        max_rows : int, optional
            Rows per sheet, the header included; the table continues on further sheets
            named ``title (2)`` ... (default :data:`EXCEL_MAX_ROWS`, Excel's own limit).
        reserve : bool
            Add the (first) sheet to the workbook now, so that it keeps its place among
            the sheets whatever order the tables' rows come in (sheets of a workbook
            written with ``constant_memory`` may be filled in any order).
        """
        rows = EXCEL_MAX_ROWS if max_rows is None else max_rows
        return SheetStream(self, title, _columns(columns), zh_headers, rows, reserve)

    def write_sheet(self, title: str, columns: Sequence[str | Column], rows: Iterable[Sequence[Any]],
                    zh_headers: bool = True, max_rows: int | None = None) -> int:
        """Write one table at once (see :meth:`sheet`); returns the rows written."""
        stream = self.sheet(title, columns, zh_headers, max_rows)
        for r in rows:
            stream.add(r)
        return stream.close()

    def writer(self, c: Column) -> Callable[[Any, int, int, Any], None]:
        """:meth:`cell` for column ``c``, as a function of (sheet, row, column, value)
        that takes the common cases (text, a float) first: a table writes it per cell."""
        number, top, cell = c.kind == "number", self.top, self.cell

        def write(ws: Any, r: int, k: int, v: Any) -> None:
            t = type(v)
            if t is str:
                if v:
                    ws.write_string(r, k, xlsx_text(v))
            elif t is float and math.isfinite(v):
                if number:
                    ws.write_number(r, k, v)
                else:
                    ws.write_number(r, k, v, top)
            else:
                cell(ws, r, k, v, c)

        return write

    def cell(self, ws: Any, r: int, k: int, v: Any, c: Column) -> None:
        """Write one value: numbers as numbers, text as string cells, None as nothing."""
        if v is None:
            return
        if isinstance(v, bool):
            ws.write_string(r, k, "是" if v else "否")
        elif isinstance(v, (int, float)):
            f = float(v)
            if math.isfinite(f):
                if c.kind == "number":
                    ws.write_number(r, k, f)
                else:
                    ws.write_number(r, k, f, self.top)
        else:
            s = str(v)
            if s:
                ws.write_string(r, k, xlsx_text(s))


class SheetStream:
    """One table being written to a workbook, row by row (see :meth:`WorkbookWriter.sheet`).

    The first rows are held back until :data:`WIDTH_SAMPLE` have come, to size the
    columns; after that every row goes straight to the file.
    """

    WIDTH_SAMPLE = 200

    def __init__(self, wb: WorkbookWriter, title: str, cols: list[Column], zh_headers: bool, max_rows: int,
                 reserve: bool = False) -> None:
        self.wb, self.title, self.cols = wb, title, cols
        self.head = [(c.zh or c.name) if zh_headers else c.name for c in cols]
        self.per_sheet = max(1, max_rows - 1)
        self.pending: list[Sequence[Any]] = []
        self.ws: Any = None
        self.writers: list[Callable[[Any, int, int, Any], None]] = []
        self.part = 0
        self.n = 0  # rows on the current sheet
        self.written = 0
        self.reserved: Any = wb.book.add_worksheet(wb.sheet_title(title, 1)) if reserve else None

    def _open(self) -> None:
        self.part += 1
        if self.reserved is not None:
            ws = self.ws = self.reserved
            self.reserved = None
        else:
            ws = self.ws = self.wb.book.add_worksheet(self.wb.sheet_title(self.title, self.part))
        widths = [max([_width(h)] + [_width(r[k]) for r in self.pending if r[k] is not None])
                  for k, h in enumerate(self.head)]
        for k, c in enumerate(self.cols):
            wide = min(max(widths[k], 6), 60 if c.wrap else 40) + 2
            fmt = self.wb.number_format(c.digits) if c.kind == "number" else (self.wb.wrap if c.wrap else self.wb.top)
            ws.set_column(k, k, wide, fmt)
        self.writers = [self.wb.writer(c) for c in self.cols]
        for k, h in enumerate(self.head):
            ws.write_string(0, k, xlsx_text(h), self.wb.bold)
        ws.freeze_panes(1, 0)
        self.n = 0

    def _finish_sheet(self) -> None:
        self.ws.autofilter(0, 0, max(self.n, 1), max(len(self.cols) - 1, 0))
        self.written += self.n

    def _put(self, row: Sequence[Any]) -> None:
        if self.ws is None:
            self._open()
        elif self.n == self.per_sheet:
            self._finish_sheet()
            self._open()
        self.n += 1
        n, ws = self.n, self.ws
        for k, (v, write) in enumerate(zip(row, self.writers)):
            if v is not None:
                write(ws, n, k, v)

    def add_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Write these rows (values in column order)."""
        for r in rows:
            self.add(r)

    def add(self, row: Sequence[Any]) -> None:
        """Write one row (values in column order)."""
        if self.ws is None and len(self.pending) < self.WIDTH_SAMPLE:
            self.pending.append(row)
            return
        if self.ws is None:
            self._open()  # sized by the rows held back
        if self.pending:
            held, self.pending = self.pending, []
            for r in held:
                self._put(r)
        self._put(row)

    def close(self) -> int:
        """Finish the table; returns the rows written."""
        if self.ws is None:
            self._open()  # sized by the rows held back
            held, self.pending = self.pending, []
            for r in held:
                self._put(r)
        self._finish_sheet()
        return self.written


def write_workbook(path: str | os.PathLike[str],
                   sheets: Sequence[tuple[str, Sequence[str | Column], Iterable[Sequence[Any]]]]) -> Path:
    """Write several tables to one XLSX workbook, one sheet each (rows streamed).

    Each sheet has its header row frozen and bold, an autofilter, number formats and
    wrapped reason columns (see :class:`WorkbookWriter`).

    Parameters
    ----------
    path : path-like
    sheets : sequence of (title, columns, rows)

    Returns
    -------
    pathlib.Path
    """
    with atomic_path(path) as tmp, WorkbookWriter(tmp, constant_memory=True) as wb:
        for title, columns, rows in sheets:
            wb.write_sheet(title, columns, rows)
    return Path(path)


_RECORD_NUMBERS = frozenset({"float"})


def write_records(records: Any, path: str | os.PathLike[str]) -> Path:
    """Write :class:`~matcher.records.Listings` or :class:`~matcher.records.Demands`
    with canonical headers and canonical text (see :func:`matcher.records.to_text`):
    list fields joined with ``|``, booleans ``true``/``false``, empty for unknown,
    unknown input columns last. Reading the file back gives the same records (a text
    cell escaped against formulas reads back without its apostrophe).
    """
    cols: Mapping[str, list[str]] = records.text_columns()
    kinds = {f.name: f.kind for f in records.FIELDS}
    # numbers are already canonical text: mark them so that they are never escaped
    headers = [Column(name, kind="text") for name in cols]
    numeric = [kinds.get(name) in _RECORD_NUMBERS for name in cols]
    rows = ([_RawNumber(v) if num and v else v for v, num in zip(row, numeric)] for row in zip(*cols.values()))
    return write_table(path, headers, rows if headers else [], sheet=type(records).__name__)


def write_report(problems: Report | Iterable[Problem], path: str | os.PathLike[str]) -> Path:
    """Write an ingestion report (or any problems) with the columns of :data:`REPORT_COLUMNS`."""
    cols = [Column(c, kind="number") if c == "row" else Column(c) for c in REPORT_COLUMNS]
    return write_table(path, cols, ([getattr(p, c) for c in REPORT_COLUMNS] for p in problems), sheet="rejects")


class _RemoteSheet:
    """A sheet of a :class:`BackgroundWorkbook`: rows are sent to the writing process."""

    def __init__(self, book: BackgroundWorkbook, key: int) -> None:
        self.book, self.key = book, key

    def add_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Write these rows (values in column order)."""
        if rows:
            self.book.send(("rows", self.key, [list(r) for r in rows]))

    def close(self) -> None:
        """Finish the table."""
        self.book.send(("close", self.key, None))


def _workbook_process(path: str, constant_memory: bool, inbox: Any, outbox: Any,
                      job: Callable[[SheetStream], None] | None) -> None:
    """The child: write what arrives until told to stop; report how it ended. It ends
    quietly when its parent is gone (killed: nobody will send the rest)."""
    import queue
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # (not the parent's handler, inherited at the fork)
    sys.unraisablehook = lambda _: None  # a file left half-written says nothing on the terminal
    parent = os.getppid()
    try:
        sheets: dict[int, SheetStream] = {}
        with WorkbookWriter(path, constant_memory=constant_memory) as wb:
            while True:
                try:
                    kind, key, payload = inbox.get(timeout=1.0)
                except queue.Empty:
                    if os.getppid() != parent:
                        os._exit(0)
                    continue
                if kind == "sheet":
                    title, columns, zh, reserve = payload
                    sheets[key] = wb.sheet(title, columns, zh_headers=zh, reserve=reserve)
                elif kind == "job" and job is not None:
                    job(sheets.pop(key))  # fills the table itself (and closes it)
                elif kind == "rows":
                    for r in payload:
                        sheets[key].add(r)
                elif kind == "close":
                    sheets.pop(key).close()
                elif kind == "stop":
                    for s in sheets.values():
                        s.close()
                    break
        outbox.send(("ok", 0, ""))
    except MemoryError:
        outbox.send(("memory", 0, "MemoryError"))
    except BaseException as exc:
        os_error = _os_error(exc)
        if os_error is not None:
            outbox.send(("oserror", os_error.errno or 0, os_error.strerror or type(os_error).__name__))
        else:
            outbox.send(("error", 0, type(exc).__name__))


def _os_error(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc``: itself, its cause or context, or the one XlsxWriter
    wraps (its ``FileCreateError`` carries the OSError as its argument)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, OSError):
            return seen
        wrapped = seen.args[0] if seen.args and isinstance(seen.args[0], OSError) else None
        seen = wrapped or seen.__cause__ or seen.__context__
    return None


class BackgroundWorkbook:
    """A workbook written by a second process while this one goes on.

    The rows of a run's tables are explained and written to CSV here, and to the
    workbook there: on two cores the two take about as long as the slower of them, not
    their sum. Messages go through a bounded queue, so the rows in flight stay few.

    Parameters
    ----------
    path : path-like
    constant_memory : bool
        As for :class:`WorkbookWriter`.
    job : callable, optional
        ``job(table)``: run in the writing process when :meth:`run_job` asks, to fill one
        table itself (rows the process makes from what it inherited at the fork,
        instead of rows sent to it); it closes the table.

    Raises
    ------
    OSError
        From :meth:`close`, when the writing process could not write the file.
    MemoryError
        From :meth:`close`, when the writing process ran out of memory.
    RuntimeError
        From :meth:`close`, when it failed otherwise.
    """

    def __init__(self, path: str | os.PathLike[str], constant_memory: bool = True,
                 job: Callable[[SheetStream], None] | None = None) -> None:
        import multiprocessing as mp

        if job is not None and not self.takes_jobs():
            raise ValueError("a job needs the fork start method (the process inherits what it works on)")
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        self._inbox = ctx.Queue(maxsize=16)
        self._result, child_end = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_workbook_process,
                                 args=(str(path), constant_memory, self._inbox, child_end, job), daemon=True)
        self._proc.start()
        child_end.close()
        self._keys = 0
        self._done = False
        self._stopped = False

    @staticmethod
    def takes_jobs() -> bool:
        """Whether this platform can give the writing process a ``job`` (it needs fork)."""
        import multiprocessing as mp

        return "fork" in mp.get_all_start_methods()

    def send(self, message: tuple[str, int, Any]) -> None:
        """Hand a message to the writing process (waits while the queue is full)."""
        if not self._proc.is_alive():
            self._finish()  # raises the child's error
            raise RuntimeError("the workbook writer stopped early")
        self._inbox.put(message)

    def sheet(self, title: str, columns: Sequence[str | Column], zh_headers: bool = True,
              reserve: bool = False) -> _RemoteSheet:
        """A table to fill with :meth:`_RemoteSheet.add_rows` (see :meth:`WorkbookWriter.sheet`)."""
        self._keys += 1
        self.send(("sheet", self._keys, (title, _columns(columns), zh_headers, reserve)))
        return _RemoteSheet(self, self._keys)

    def run_job(self, sheet: _RemoteSheet) -> None:
        """Have the writing process fill ``sheet`` with its ``job`` (and close it)."""
        self.send(("job", sheet.key, None))

    def _finish(self) -> None:
        self._proc.join()
        self._done = True
        self._inbox.cancel_join_thread()  # the reader is gone: nothing left to deliver
        self._inbox.close()
        try:
            kind, errno, what = self._result.recv() if self._result.poll() else ("error", 0, "exited")
        except EOFError:  # it died without a word: killed
            kind, errno, what = "error", 0, "exited"
        if kind == "error" and self._proc.exitcode == -signal.SIGKILL:
            # nobody here sends SIGKILL but the kernel's OOM killer (or a person): the
            # run is out of memory, which says what to do (exit 2), not an internal error
            raise MemoryError("the workbook's process was killed (SIGKILL: out of memory?)")
        if kind == "oserror":
            raise OSError(errno, what)
        if kind == "memory":
            raise MemoryError("the workbook's process ran out of memory")
        if kind != "ok":
            raise RuntimeError(f"the workbook writer failed ({what})")

    def stop(self) -> None:
        """Say every sheet is written: the writing process finishes the file (its
        slowest part, the zip) while this one goes on; :meth:`close` waits for it."""
        if not self._stopped:
            self.send(("stop", 0, None))
            self._stopped = True

    def close(self) -> None:
        """Finish every sheet and the file; raises what went wrong in the writing process.

        Interrupted while it waits (Ctrl-C while the child finishes the file), it stops
        the child as :meth:`abort` does before the interrupt goes on: otherwise the
        queue's feeder thread, blocked on a pipe nobody reads, would hold the exit.
        """
        if not self._done:
            try:
                self.stop()
                self._finish()
            except BaseException:
                self.abort()
                raise

    def abort(self) -> None:
        """Stop the writing process at once (the file it leaves is incomplete).

        Safe to call at any point, more than once, and after :meth:`close`.
        """
        # rows still queued have no reader now: drop them rather than wait at exit
        # (first, so that an interrupt inside this method cannot leave the join armed)
        self._inbox.cancel_join_thread()
        if self._proc.is_alive() or not self._done:
            self._done = True
            self._proc.kill()
            self._proc.join()
        self._inbox.close()

    def __enter__(self) -> BackgroundWorkbook:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
