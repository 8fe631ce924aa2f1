"""Read listing and demand tables as they really arrive, and account for every row.

:func:`read_listings` and :func:`read_demands` take a path (CSV in UTF-8 or
GB18030, XLSX, JSON, JSON Lines) or an in-memory table (list of dicts, dict of
columns, pandas DataFrame), recognise Chinese or canonical headers, normalise every
cell (:mod:`matcher.io.normalise`), and return the records with a report.

Whole-file rules (an :class:`~matcher.errors.InputFileError`, exit 2 on the command line)
----------------------------------------------------------------------------------------
* A file without a required column is refused: listings need an id, a deal type, an
  area and a location (a town column, latitude and longitude columns, or an address
  column); demands need an id, a deal type and an area. The message names the
  missing columns (缺少必填列 …) and any unrecognised header that looks like one of
  them.
* A file of the other side is refused: a demands file whose headers are listing
  headers (业主, 可入驻日期, 产权证 …), or whose deal column mostly holds the other
  side's types (出租 / 出售 on a demand sheet), and the other way round.

Row rules
---------
* A required field that is missing or not understood rejects the row (severity
  ``error``): listings need an id, a deal type, an area and a location (a known
  town, coordinates, an address naming a town, or a geocoded address); demands need
  an id, a deal type and an area.
* Any other field not understood or out of range is left empty and reported as a
  ``warning``; the row is kept. Nothing is guessed. The text is kept in the
  records' ``unread`` so that an explanation never calls the field blank.
* One bad cell gives one line of the report, never more (a town that is not
  understood is the row's location error, not a warning and an error).
* Ids (:func:`~matcher.io.normalise.parse_id`): text trimmed and NFKC-normalised;
  numbers in CSV and XLSX cells as written (Excel's ``12.0`` is ``"12"``); in JSON and
  in-memory records only text and integers. Empty ids, ids longer than
  :data:`~matcher.records.ID_MAX_CHARS`, and ids holding ``/``, ``\\``, line breaks or
  control characters, or equal to ``.`` / ``..``, reject the row.
* Duplicate ids, whatever the row order:

  - copies identical in every field read (and every carried column): one is kept,
    the others are reported as merged (a warning naming the rows; ``n_merged``);
  - copies that differ: with a 登记日期 / 更新日期 column (see
    :data:`~matcher.io.schema.UPDATED_ALIASES`) readable on every copy, the copy with
    the latest date is kept when no other copy shares that date with different
    content; otherwise every copy is rejected ("编号重复且内容不一致（第 12、40 行）").
  Only copies that are otherwise acceptable take part: a copy rejected for another
  reason does not make the others duplicates.
* Text: line breaks and tabs inside a cell become spaces; control and invisible
  characters are removed with a warning; text cells (and carried columns) longer
  than :data:`~matcher.records.TEXT_MAX_CHARS` are cut there with a warning. A cell
  of another field that long cannot be a value and is rejected unread.
* Unknown columns are carried through untouched (``records.extra``) and listed once
  in the report (severity ``info``, row 1).
* ``accepted + rejected + merged == rows``, always (fully blank rows are not records).

Row-level conventions
---------------------
* A total price ("月租5万", "总价800万", "每月1万2") is divided by the listing's area; a
  total budget by the demand's largest wanted area (``area_max_m2``, or
  ``area_min_m2`` for an open range): the per-㎡ budget is then never overstated.
* A budget written as a range ("15-20元") keeps its upper end; a listing price
  written as a range, a lower bound ("15元起") or an upper bound is not understood (a
  warning). A budget "面议" gives no value (kept in ``unread``).
* Given coordinates win over a town's centroid; ``loc_approx_km`` is 0 for given
  coordinates, the town's ``approx_km`` otherwise, NaN for a geocoded address.
* ``needs_certificate`` left blank means yes for a demand that would buy (buy or
  either) and unknown for a lease-only demand.
* A demand's ``origin`` and ``anchor`` are kept as written and located as
  coordinates ("30.17,121.12"), a town name, the one full town name they mention,
  or through the optional geocoder; otherwise a warning.
* A crane written without a tonnage ("带行车", "需要行车") sets ``crane_any`` and
  leaves ``crane_t`` unknown; "2000平（可分割）" sets ``divisible_any``; "2000平，最小
  500平" fills ``min_unit_m2`` (a ``最小分割面积`` column wins over it).
"""

from __future__ import annotations

import gc
import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import numpy as np

from matcher.errors import InputFileError
from matcher.io import normalise as nz
from matcher.io.schema import (
    DEMAND_COLUMNS,
    LISTING_COLUMNS,
    REQUIRED,
    UPDATED_ALIASES,
    Column,
    column_lookup,
    fold_header,
    header_unit,
    near_misses,
    resolve_header,
)
from matcher.io.tables import Formula, RawTable, load_table
from matcher.records import DEAL_SALE, EMPTY, TEXT_MAX_CHARS, Demands, Listings
from scoring.reference import covering, gazetteer

__all__ = ["REPORT_COLUMNS", "REPORT_VALUE_CHARS", "Problem", "ReadResult", "Report", "read_demands",
           "read_listings"]

REPORT_COLUMNS = ("file", "row", "id", "field", "value", "severity", "reason_zh", "reason_en")
REPORT_VALUE_CHARS = 200
"""A report line quotes at most this much of a cell."""

_UNREAD_CHARS = 60  # text kept in ``records.unread`` per cell
# fields whose cell is needed again after the pass (in a warning about it)
_RAW_KEPT = frozenset({"rent", "sale_price", "max_rent", "max_sale_price", "min_unit_m2", "lat", "lon", "origin_lat",
                       "origin_lon", "anchor_lat", "anchor_lon", "crane_t", "area_m2"})
_FIELD_ZH = {"lat": "纬度", "lon": "经度"}
_CACHE_MAX = 200_000  # distinct cells parsed and remembered per table


class Problem(NamedTuple):
    """One problem found in one cell, row or column (immutable; a named tuple, so that a
    file of bad cells costs little more than its lines)."""

    file: str
    row: int
    id: str
    field: str
    value: str
    severity: str  # "error" (row rejected), "warning" (field emptied or changed) or "info"
    reason_zh: str
    reason_en: str

    def as_row(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in REPORT_COLUMNS}


@dataclass(frozen=True)
class Report:
    """Every problem found while reading one table.

    Attributes
    ----------
    problems : tuple of Problem
        In row order, then field order.
    n_rows : int
        Records (non-blank rows) in the input.
    n_accepted : int
        Records kept.
    n_merged : int
        Rows that repeat another row exactly (same id, same content), kept once.
    """

    problems: tuple[Problem, ...]
    n_rows: int
    n_accepted: int
    n_merged: int = 0

    @property
    def n_rejected(self) -> int:
        """Rows rejected (``n_rows - n_accepted - n_merged``)."""
        return self.n_rows - self.n_accepted - self.n_merged

    @property
    def rejected_rows(self) -> list[int]:
        """Row numbers of the rejected rows, ascending."""
        return sorted({p.row for p in self.problems if p.severity == "error"})

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def by_severity(self, severity: str) -> list[Problem]:
        return [p for p in self.problems if p.severity == severity]

    def most_common(self, n: int = 5) -> list[tuple[tuple[str, str, str], int]]:
        """The ``n`` most frequent (severity, field, reason_en) with their counts."""
        return Counter((p.severity, p.field, _reason_kind(p.reason_en))
                       for p in self.problems if p.severity != "info").most_common(n)


def _reason_kind(reason: str) -> str:
    """A reason without the value it quotes, to count alike problems together."""
    for sep in (": ", " from ", " got ", " '", " ("):
        if sep in reason:
            reason = reason.split(sep)[0]
    return reason.rstrip(" ,;")


R = TypeVar("R", Listings, Demands)


@dataclass(frozen=True)
class ReadResult(Generic[R]):
    """Records read from one source, and the report of everything found wrong."""

    records: R
    report: Report
    source: str
    unknown_columns: tuple[str, ...] = field(default=())


class Geocoder(Protocol):
    """Anything with geopy's ``geocode(query)`` returning an object with
    ``latitude`` and ``longitude`` (or None)."""

    def geocode(self, query: str) -> Any: ...


def read_listings(source: Any, *, sheet: str | None = None,
                  geocoder: Geocoder | Callable[[str], Any] | None = None) -> ReadResult[Listings]:
    """Read listings (房源) from a file or an in-memory table.

    Parameters
    ----------
    source : str, os.PathLike, list of dict, dict of list or pandas.DataFrame
        See :func:`matcher.io.tables.load_table` for the formats.
    sheet : str, optional
        Worksheet of an XLSX workbook (default: the first visible one with data).
    geocoder : geopy geocoder or callable, optional
        Locates an address when neither a town nor coordinates are known. Called
        once per distinct address; never needed (nothing uses the network unless
        you pass one).

    Returns
    -------
    ReadResult
        ``records`` (:class:`~matcher.records.Listings`) and ``report``.

    Raises
    ------
    InputFileError
        The whole source cannot be read (missing, unreadable, not a table, empty),
        lacks a required column, or is a demands table.
    """
    return _read(source, "listing", sheet, geocoder)


def read_demands(source: Any, *, sheet: str | None = None,
                 geocoder: Geocoder | Callable[[str], Any] | None = None) -> ReadResult[Demands]:
    """Read demands (需求) from a file or an in-memory table.

    Parameters and errors as :func:`read_listings`; ``records`` is a
    :class:`~matcher.records.Demands`.
    """
    return _read(source, "demand", sheet, geocoder)


RecordsType = type[Listings] | type[Demands]

_SIDES: dict[str, tuple[tuple[Column, ...], RecordsType]] = {
    "listing": (LISTING_COLUMNS, Listings),
    "demand": (DEMAND_COLUMNS, Demands),
}
_SIDE_ZH = {"listing": "房源", "demand": "需求"}
_SIDE_EN = {"listing": "listings", "demand": "demands"}


def _read(source: Any, side: str, sheet: str | None, geocoder: Any) -> ReadResult[Any]:
    columns, cls = _SIDES[side]
    other = "demand" if side == "listing" else "listing"
    lookup, other_lookup = column_lookup(columns), column_lookup(_SIDES[other][0])
    known: dict[str, bool] = {}

    def header_score(h: str) -> bool:
        if h not in known:
            known[h] = resolve_header(h, lookup) is not None or resolve_header(h, other_lookup) is not None
        return known[h]

    with _gc_paused():
        table = load_table(source, sheet=sheet, header_score=header_score)
        return _Reader(table, side, cls, lookup, other_lookup, geocoder).run()


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a table is read, and put back after.

    Reading allocates a few objects per cell and frees almost none until the end, so
    the collector would walk the whole growing table again and again for nothing
    (40 % of the time of a 10^5-row read); the reader makes no reference cycles.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Bad(NamedTuple):
    """Why a cell could not be read (a :class:`~matcher.io.normalise.CellError`, kept light)."""

    zh: str
    en: str


_SPECIAL = frozenset({_Bad, nz.Reading})  # cached readings that need more than storing
_new_tuple = tuple.__new__


def _short(raw: Any, limit: int = REPORT_VALUE_CHARS) -> str:
    s = "" if raw is None else str(raw)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _cell_text(raw: Any) -> str:
    """A cell of a carried column as text: numbers as written (``12.0`` → ``"12"``)."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _bare_number(raw: Any) -> str | None:
    """The text of a cell that is a bare number or a bare range of numbers, else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return _cell_text(raw) if math.isfinite(raw) else None
    if isinstance(raw, str):
        s = raw.strip()
        if s and all(c.isdigit() or c in ".-~～到至 " for c in s) and s[0].isdigit():
            return s
    return None


def _with_header_unit(col: Column, unit: str) -> Callable[[Any], Any]:
    """``col.parse`` with the header's unit given to bare numbers, when it is a unit."""

    def attempt(text: str) -> Any:
        try:
            return col.parse(text)
        except nz.CellError:
            return None

    real = False
    for probe in ("1", "10", "100", "1000"):
        with_unit = attempt(probe + unit)
        if with_unit is not None and with_unit != attempt(probe):
            real = True
            break
    if not real:
        return col.parse

    def parse(raw: Any) -> Any:
        bare = _bare_number(raw)
        return col.parse(raw if bare is None else bare + unit)

    return parse


class _Reader:
    """One pass over one raw table."""

    def __init__(self, table: RawTable, side: str, cls: RecordsType, lookup: dict[str, Column],
                 other_lookup: dict[str, Column], geocoder: Any) -> None:
        self.table = table
        self.source = table.source
        self.side = side
        self.cls = cls
        self.geocoder = geocoder
        self.fields = {f.name for f in cls.FIELDS}
        self.text_fields = {f.name for f in cls.FIELDS if f.kind == "text"}
        self.problems: list[Problem] = []
        self.cache: dict[tuple[str, type, Any], Any] = {}
        self.reasons: dict[_Bad, _Bad] = {}
        self.texts: dict[str, str] = {}  # each distinct reason held once
        self.geo_cache: dict[str, tuple[float, float] | None] = {}
        self.mapped: list[tuple[int, Column, Callable[[Any], Any]]] = []
        self.extra: list[tuple[int, str]] = []
        self.updated_at: int | None = None
        taken: dict[str, str] = {}
        for j, header in enumerate(table.headers):
            col = resolve_header(header, lookup)
            if col is None:
                self.extra.append((j, header))
                if self.updated_at is None and fold_header(header) in UPDATED_ALIASES:
                    self.updated_at = j
                    self._info(header, "登记/更新日期列：原样保留，并用于处理重复编号",
                               "registration/update date column: carried through, and used for duplicate ids")
                else:
                    self._info(header, "未识别的列，原样保留", "unknown column, carried through unchanged")
            elif col.field in taken:
                self.extra.append((j, header))
                self._info(header, f"与“{taken[col.field]}”列重复（均为 {col.field}），原样保留",
                           f"duplicates column {taken[col.field]!r} (both {col.field}); carried through unchanged")
            else:
                taken[col.field] = header
                self.mapped.append((j, col, self._parser(col, header)))
        self._check_side(lookup, other_lookup)
        self._check_required(taken)
        self._check_deal_values()

    # -- whole-file checks ------------------------------------------------
    def _where(self) -> str:
        t = self.table
        if not t.sheet:
            return ""
        others = f"，其他工作表：{'、'.join(t.other_sheets)}" if t.other_sheets else ""
        return f"（工作表“{t.sheet}”{others}）"

    def _refuse(self, zh: str, en: str) -> None:
        raise InputFileError(self.table.source, f"{zh}{self._where()}；{en}")

    def _check_side(self, lookup: dict[str, Column], other_lookup: dict[str, Column]) -> None:
        own, other = [], []
        for h in self.table.headers:
            k = fold_header(h)
            if k in other_lookup and k not in lookup:
                other.append(h)
            elif k in lookup and k not in other_lookup:
                own.append(h)
        if len(other) >= 2 and len(other) > len(own):
            o = "demand" if self.side == "listing" else "listing"
            self._refuse(f"这像是{_SIDE_ZH[o]}表，不是{_SIDE_ZH[self.side]}表（{_SIDE_ZH[o]}的列：{'、'.join(other[:6])}）",
                         f"this looks like a {_SIDE_EN[o]} table, not {_SIDE_EN[self.side]} "
                         f"({_SIDE_EN[o]} columns: {', '.join(other[:6])})")

    def _check_required(self, have: dict[str, str]) -> None:
        missing = [(name, alternatives, zh, en) for name, alternatives, zh, en in REQUIRED[self.side]
                   if not any(all(f in have for f in alt) for alt in alternatives)]
        if not missing:
            return
        unknown = [h for _, h in self.extra]
        hints_zh, hints_en = [], []
        for name, alternatives, zh, en in missing:
            for alt in alternatives:  # half of a pair: a longitude without a latitude
                given = [f for f in alt if f in have]
                if given and len(given) < len(alt):
                    lack = [f for f in alt if f not in have]
                    hints_zh.append(f"有“{have[given[0]]}”列，但缺少{'、'.join(_FIELD_ZH.get(f, f) for f in lack)}列")
                    hints_en.append(f"column {have[given[0]]!r} is there but not {', '.join(lack)}")
            for h in near_misses(name, unknown):
                hints_zh.append(f"未识别的列“{h}”可能是{zh}")
                hints_en.append(f"unrecognised column {h!r} may be the {en}")
        names_zh = "、".join(zh for _, _, zh, _ in missing)
        names_en = ", ".join(en for _, _, _, en in missing)
        hint_zh = f"（{'；'.join(hints_zh)}）" if hints_zh else ""
        hint_en = f" ({'; '.join(hints_en)})" if hints_en else ""
        self._refuse(f"缺少必填列：{names_zh}{hint_zh}",
                     f"missing required columns: {names_en}{hint_en}; columns: {', '.join(self.table.headers[:30])}")

    def _check_deal_values(self) -> None:
        at = next((j for j, col, _ in self.mapped if col.field == "deal"), None)
        if at is None:
            return
        values = [cells[at] for _, cells in self.table.rows if cells[at] is not None]
        other = sum(1 for v in values if nz.other_side_deal(v, self.side))
        if other >= 2 and other > len(values) / 2:
            o = "demand" if self.side == "listing" else "listing"
            self._refuse(f"租售类型一栏 {len(values)} 个值中有 {other} 个是{_SIDE_ZH[o]}的类型，这像是{_SIDE_ZH[o]}表，"
                         f"不是{_SIDE_ZH[self.side]}表",
                         f"{other} of {len(values)} deal types are {o} types: this looks like a {_SIDE_EN[o]} table, "
                         f"not {_SIDE_EN[self.side]}")

    def _parser(self, col: Column, header: str) -> Callable[[Any], Any]:
        if col.field == self.cls.ID:
            as_written = self.table.kind == "grid"
            return lambda raw: nz.parse_id(raw, numbers_as_written=as_written)
        unit = header_unit(header) if col.takes_unit else ""
        return _with_header_unit(col, unit) if unit else col.parse

    def _info(self, header: str, zh: str, en: str) -> None:
        self.problems.append(Problem(self.table.source, 1, "", header, "", "info", zh, en))

    # -- one cell ---------------------------------------------------------
    def _parse(self, field: str, parse: Callable[[Any], Any], raw: Any) -> Any:
        try:
            key = (field, type(raw), raw)  # the type too: True == 1 but they read differently
            hit = self.cache.get(key)
        except TypeError:  # unhashable cell (a JSON list): parse uncached
            key, hit = None, None
        if hit is None:
            try:
                hit = parse(raw)
            except nz.CellError as exc:
                hit = self._bad(exc.zh, exc.en)
            if key is not None:
                if len(self.cache) >= _CACHE_MAX:
                    self.cache.clear()
                self.cache[key] = hit
        return hit

    def _screen(self, kind: str) -> tuple[frozenset[str], _Bad] | None:
        scr = nz.screen(kind)
        return None if scr is None else (scr.chars, self._bad(scr.zh, scr.en))

    def _miss(self, f: str, kind: type, raw: Any, parse: Callable[[Any], Any],
              scr: tuple[frozenset[str], _Bad] | None) -> Any:
        """Parse a cell not seen before (a number or short printable text) and remember it.

        Text holding a character no reading of the field uses is rejected unparsed
        (:class:`~matcher.io.normalise.Screen`), with the parser's own reason.
        """
        if scr is not None and kind is str and not (scr[0].issuperset(raw) or scr[0].issuperset(
                unicodedata.normalize("NFKC", raw).lower())):
            return scr[1]  # not remembered: junk rarely repeats, and the screen is cheaper than the cache
        try:
            hit = parse(raw)
        except nz.CellError as exc:
            hit = self._bad(exc.zh, exc.en)
        if len(self.cache) >= _CACHE_MAX:
            self.cache.clear()
        self.cache[(f, kind, raw)] = hit
        return hit

    def _required(self, row: _Row, required: list[str]) -> None:
        for f in required:
            if f not in row.values and not row.failed(f):
                row.missing(f)

    def _cell(self, row: _Row, col: Column, parse: Callable[[Any], Any], raw: Any) -> None:
        f = col.field
        if isinstance(raw, Formula):
            row.problem(f, raw, nz.CellError(f"公式单元格没有计算结果：{raw}（请在 Excel 中打开、保存后再导入）",
                                             f"formula cell with no computed value: {raw} (open and save the "
                                             f"workbook in Excel, then read it again)"), col.required)
            return
        written = raw
        removed = 0
        if isinstance(raw, str) and f != self.cls.ID:  # an id is taken as written, or rejected
            if not raw.isprintable():
                raw, removed = nz.clean_text(raw)
                if not raw.strip():
                    return
            if len(raw) > TEXT_MAX_CHARS:
                if f in self.text_fields:
                    raw = self._cut(row, f, raw)
                else:
                    row.problem(f, raw, nz.CellError(
                        f"内容过长（{len(raw)} 个字符），不是有效的值", f"cell too long ({len(raw)} characters) "
                        f"to be a value"), col.required)
                    return
        value = self._parse(f, parse, raw)
        if type(value) is _Bad:
            row.bad(f, written, value, col.required)  # one line for the cell: why it was not read
            return
        if removed:
            self._removed(row, f, raw, removed)
        if isinstance(value, nz.Reading):
            if value.note_zh:
                row.add(f, raw, value.severity, value.note_zh, value.note_en)
            row.implied.extend(value.also)
            if value.value is None:
                row.unread_text(f, raw)
                return
            value = value.value
        row.values[f] = value
        row.raw[f] = raw
        if f == self.cls.ID:
            row.record_id = value

    def _bad(self, zh: str, en: str) -> _Bad:
        """One shared object per distinct reason: a file of bad cells costs a line each."""
        key = _Bad(zh, en)
        return self.reasons.setdefault(key, key)

    def _clean(self, row: _Row, f: str, raw: str) -> str:
        cleaned, removed = nz.clean_text(raw)
        if removed:
            self._removed(row, f, cleaned, removed)
        return cleaned

    def _removed(self, row: _Row, f: str, cleaned: str, removed: int) -> None:
        row.add(f, cleaned, "warning", f"已删除 {removed} 个控制字符或不可见字符",
                f"{removed} control or invisible character(s) removed")

    def _cut(self, row: _Row, f: str, raw: str) -> str:
        row.add(f, raw[:50] + "…", "warning", f"文字过长（{len(raw)} 个字符），已截断为前 {TEXT_MAX_CHARS} 个字符",
                f"text too long ({len(raw)} characters): cut to the first {TEXT_MAX_CHARS}")
        return raw[:TEXT_MAX_CHARS]

    def _extra_text(self, row: _Row, header: str, raw: Any) -> str:
        if raw is None:
            return ""
        if isinstance(raw, Formula):
            row.add(header, raw, "warning", f"公式单元格没有计算结果：{raw}",
                    f"formula cell with no computed value: {raw}")
            return ""
        s = _cell_text(raw)
        if not s.isprintable():
            s = self._clean(row, header, s)
        if len(s) > TEXT_MAX_CHARS:
            s = self._cut(row, header, s)
        return s

    # -- the pass -----------------------------------------------------------
    def run(self) -> ReadResult[Any]:
        id_field = self.cls.ID
        # the id column first, so that every problem of a row names its record
        mapped = sorted(self.mapped, key=lambda m: m[1].field != id_field)
        finish = _finish_listing if self.side == "listing" else _finish_demand
        notes: dict[int, list[tuple[str, Any]]] = {}
        for header, note in self.table.notes:
            notes.setdefault(note.row, []).append((header, note))
        kept: list[_Row] = []
        cache, cell = self.cache, self._cell
        required = [col.field for _, col, _ in mapped if col.required]
        # the common case inline: a short printable text or a number seen before
        plain = [(j, col.field, col, parse, col.field in _RAW_KEPT, col.field == id_field,
                  self._screen(col.screen), "error" if col.required else "warning", col.field in self.fields)
                 for j, col, parse in mapped]
        source = self.source
        for row_no, cells in self.table.rows:
            row = _Row(self, row_no)
            values = row.values
            for j, f, col, parse, keep_raw, is_id, scr, severity, a_field in plain:
                raw = cells[j]
                if raw is None:
                    continue
                kind = type(raw)
                if kind is str:
                    if len(raw) > TEXT_MAX_CHARS or not raw.isprintable():
                        cell(row, col, parse, raw)
                        continue
                elif kind is not int and kind is not float:
                    cell(row, col, parse, raw)
                    continue
                hit = cache.get((f, kind, raw))
                if hit is None:
                    hit = self._miss(f, kind, raw, parse, scr)
                if type(hit) in _SPECIAL:
                    if type(hit) is not _Bad:
                        cell(row, col, parse, raw)
                        continue
                    # a cell that cannot be read, inline (a corrupted file has one in three)
                    text = raw if kind is str else _cell_text(raw)
                    row.problems.append(_new_tuple(Problem, (
                        source, row_no, row.record_id, f, text if len(text) <= REPORT_VALUE_CHARS else _short(text),
                        severity, hit.zh, hit.en)))
                    if severity == "error":
                        row.has_error = True
                    row.failed_fields.add(f)
                    if a_field:
                        row.unread[f] = text if len(text) <= _UNREAD_CHARS else _short(text, _UNREAD_CHARS)
                    continue
                values[f] = hit
                if keep_raw:
                    row.raw[f] = raw
                if is_id:
                    row.record_id = hit
            # what the table layer did to this row (merged cells filled, a stray quote), once its id is known
            for header, note in notes.pop(row_no, ()):
                row.add(header, note.value, note.severity, note.zh, note.en)
            self._required(row, required)
            finish(row)
            if not row.has_error:
                row.extras = [self._extra_text(row, h, cells[j]) for j, h in self.extra]
                kept.append(row)
            self.problems.extend(row.problems)
        n_merged = 0
        if len(kept) > len({r.record_id for r in kept}):
            kept, n_merged = self._duplicates(kept)
            self.problems.sort(key=itemgetter(1))  # by row (stable: then the order found)
        records = _build(self.cls, kept, [h for _, h in self.extra])
        report = Report(tuple(self.problems), len(self.table.rows), len(kept), n_merged)
        return ReadResult(records, report, self.table.source, tuple(h for _, h in self.extra))

    # -- duplicate ids --------------------------------------------------------
    def _duplicates(self, kept: list[_Row]) -> tuple[list[_Row], int]:
        by_id: dict[str, list[_Row]] = {}
        for r in kept:
            by_id.setdefault(r.record_id, []).append(r)
        dropped: set[int] = set()
        n_merged = 0
        id_field = self.cls.ID
        for rid, copies in by_id.items():
            if len(copies) == 1:
                continue
            rows_zh = "、".join(str(r.row_no) for r in copies)
            rows_en = ", ".join(str(r.row_no) for r in copies)
            keys = {id(r): self._content(r) for r in copies}
            if len(set(keys.values())) == 1:
                first = min(copies, key=lambda r: r.row_no)
                for r in copies:
                    if r is not first:
                        dropped.add(id(r))
                        n_merged += 1
                        self._problem(r, id_field, rid, "warning",
                                      f"编号重复，与第 {first.row_no} 行内容相同，只保留一条（第 {rows_zh} 行）",
                                      f"duplicate id, same content as row {first.row_no}: kept once (rows {rows_en})")
                continue
            latest = self._latest(copies, keys)
            if latest is not None:
                for r in copies:
                    if keys[id(r)] == keys[id(latest)]:
                        if r is not latest:
                            dropped.add(id(r))
                            n_merged += 1
                        continue
                    dropped.add(id(r))
                    self._problem(r, id_field, rid, "error",
                                  f"编号重复，保留登记日期最新的第 {latest.row_no} 行（第 {rows_zh} 行）",
                                  f"duplicate id: row {latest.row_no} has the latest date and is kept "
                                  f"(rows {rows_en})")
                continue
            for r in copies:
                dropped.add(id(r))
                self._problem(r, id_field, rid, "error", f"编号重复且内容不一致（第 {rows_zh} 行）",
                              f"duplicate id with different content (rows {rows_en})")
        return [r for r in kept if id(r) not in dropped], n_merged

    def _problem(self, r: _Row, field: str, value: str, severity: str, zh: str, en: str) -> None:
        self.problems.append(Problem(self.table.source, r.row_no, r.record_id, field, _short(value), severity, zh, en))

    def _content(self, r: _Row) -> tuple[Any, ...]:
        values = tuple(_hashable(r.values.get(f.name)) for f in self.cls.FIELDS)
        extras = tuple(x for (j, _), x in zip(self.extra, r.extras) if j != self.updated_at)
        return (*values, *extras)

    def _latest(self, copies: list[_Row], keys: dict[int, tuple[Any, ...]]) -> _Row | None:
        """The copy with the latest 登记日期, when that date picks one content."""
        if self.updated_at is None:
            return None
        pos = next(k for k, (j, _) in enumerate(self.extra) if j == self.updated_at)
        dates = []
        for r in copies:
            try:
                d = nz.parse_date(r.extras[pos])
            except nz.CellError:
                return None
            if not isinstance(d, np.datetime64) or np.isnat(d):
                return None
            dates.append(d)
        top = max(dates)
        at_top = [r for r, d in zip(copies, dates) if d == top]
        if len({keys[id(r)] for r in at_top}) != 1:
            return None
        return min(at_top, key=lambda r: r.row_no)

    def locate(self, text: str) -> tuple[float, float, float, int] | None:
        """Coordinates, precision (km) and town of a place written as text."""
        try:
            pair = nz.parse_coordinate_pair(text)
        except nz.CellError:
            pair = None
        if pair is not None:
            return pair[0], pair[1], 0.0, -1
        i = nz.find_town(text)
        if i is not None:
            g = covering(i)
            return float(g.lat[i]), float(g.lon[i]), float(g.approx_km[i]), i
        if self.geocoder is None:
            return None
        if text not in self.geo_cache:
            self.geo_cache[text] = _geocode(self.geocoder, text)
        hit = self.geo_cache[text]
        return None if hit is None else (hit[0], hit[1], math.nan, -1)


def _hashable(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, np.datetime64):
        return str(v)
    return v


def _geocode(geocoder: Any, text: str) -> tuple[float, float] | None:
    try:
        loc = geocoder.geocode(text) if hasattr(geocoder, "geocode") else geocoder(text)
    except Exception:
        return None
    if loc is None:
        return None
    lat, lon = (loc.latitude, loc.longitude) if hasattr(loc, "latitude") else loc
    try:
        return nz.check_coordinates(float(lat), float(lon), text)
    except (nz.CellError, TypeError, ValueError):
        return None


class _Row:
    """Values and problems of one input row while it is read."""

    __slots__ = ("extras", "failed_fields", "has_error", "implied", "problems", "raw", "reader", "record_id",
                 "row_no", "unread", "values")

    def __init__(self, reader: _Reader, row_no: int) -> None:
        self.reader = reader
        self.row_no = row_no
        self.values: dict[str, Any] = {}
        self.raw: dict[str, Any] = {}
        self.problems: list[Problem] = []
        self.failed_fields: set[str] = set()
        self.implied: list[tuple[str, Any]] = []
        self.unread: dict[str, str] = {}
        self.extras: list[str] = []
        self.record_id = ""
        self.has_error = False

    def add(self, field: str, raw: Any, severity: str, zh: str, en: str) -> None:
        texts = self.reader.texts
        self.problems.append(Problem(self.reader.table.source, self.row_no, self.record_id, field, _short(raw),
                                     severity, texts.setdefault(zh, zh), texts.setdefault(en, en)))
        if severity == "error":
            self.has_error = True

    def bad(self, field: str, raw: Any, why: _Bad, error: bool) -> None:
        """A cell of a field that could not be read (``why`` is shared: nothing to intern)."""
        text = raw if type(raw) is str else _cell_text(raw)
        # tuple.__new__: the named tuple's own __new__ is Python, and this runs once per bad cell
        self.problems.append(_new_tuple(Problem, (self.reader.source, self.row_no, self.record_id, field,
                                                  text if len(text) <= REPORT_VALUE_CHARS else _short(text),
                                                  "error" if error else "warning", why.zh, why.en)))
        if error:
            self.has_error = True
        self.failed_fields.add(field)
        if field in self.reader.fields:
            self.unread[field] = text if len(text) <= _UNREAD_CHARS else _short(text, _UNREAD_CHARS)

    def problem(self, field: str, raw: Any, exc: nz.CellError | _Bad, error: bool) -> None:
        self.add(field, raw, "error" if error else "warning", exc.zh, exc.en)
        self.failed_fields.add(field)
        self.unread_text(field, raw)

    def unread_text(self, field: str, raw: Any) -> None:
        if field in self.reader.fields:
            self.unread[field] = _short(raw, _UNREAD_CHARS)

    def failed(self, field: str) -> bool:
        return field in self.failed_fields

    def error(self, field: str, raw: Any, zh: str, en: str) -> None:
        self.add(field, raw, "error", zh, en)

    def warn(self, field: str, raw: Any, zh: str, en: str) -> None:
        self.add(field, raw, "warning", zh, en)
        self.unread_text(field, raw)

    def upgrade(self, field: str) -> bool:
        """Make the warning of ``field`` an error (the row cannot stand without it)."""
        for i, p in enumerate(self.problems):
            if p.field == field and p.severity == "warning":
                self.problems[i] = Problem(p.file, p.row, p.id, p.field, p.value, "error", p.reason_zh, p.reason_en)
                self.has_error = True
                return True
        return False

    def missing(self, field: str) -> None:
        self.error(field, "", f"缺少必填项 {field}", f"required field {field} is missing")

    def drop(self, *fields: str) -> None:
        for f in fields:
            self.values.pop(f, None)


def _implied(row: _Row) -> None:
    """Fields a cell of another field filled ("2000平，最小500平"): a column of their own wins."""
    for f, value in row.implied:
        have = row.values.get(f)
        if have is None:
            row.values[f] = value
        elif have != value and f != "crane_any":
            said = f"{value:g}" if isinstance(value, float) else str(value)
            row.warn(f, row.raw.get(f, have), f"与其他栏所写（{said}）不同，按本栏",
                     f"differs from what another cell says ({said}); this cell is kept")


def _price_per_m2(row: _Row, field: str, kind: str, area: float, range_pick: str | None) -> None:
    """Turn a parsed :class:`Price` into 元/㎡(/月), or warn and drop it."""
    price = row.values.pop(field, None)
    if price is None:
        return
    raw = row.raw[field]
    listing = row.reader.side == "listing"
    if price.negotiable and listing:
        row.values["negotiable"] = True
    if math.isnan(price.lo):
        if not listing:
            row.unread_text(field, raw)  # a budget "面议": written, but no value
        return
    if price.is_range and range_pick is None:
        row.warn(field, raw, "价格应为一个数值，不能是范围",
                 "price must be one value, not a range")
        return
    if price.at_least or (listing and price.at_most):
        row.warn(field, raw, "价格写的是起价或上下限，不是一个数值",
                 "price is a bound, not one value")
        return
    value = price.hi if range_pick == "hi" else price.lo
    if price.total:
        if not (area > 0 and math.isfinite(area)):
            row.warn(field, raw, "总价需要面积才能换算为单价",
                     "a total price needs the area")
            return
        value = value / area
        try:
            nz.check_unit_price(value, kind, raw)
        except nz.CellError as exc:
            row.problem(field, raw, exc, error=False)
            return
    row.values[field] = value


def _finish_listing(row: _Row) -> None:
    v = row.values
    _implied(row)
    area = v.get("area_m2", math.nan)
    _price_per_m2(row, "rent", "rent", area, None)
    _price_per_m2(row, "sale_price", "sale", area, None)
    unit = v.get("min_unit_m2")
    if unit is not None and not unit <= area:
        row.warn("min_unit_m2", row.raw.get("min_unit_m2", unit), f"最小分割面积大于房源面积 {area:g}㎡",
                 f"minimum unit is larger than the area {area:g} m2")
        row.drop("min_unit_m2")
    if "min_unit_m2" in v and v.pop("divisible_any", None):  # the unit is known after all: no hint
        row.problems = [p for p in row.problems if not (p.field == "area_m2" and p.severity == "info")]
    if "crane_t" in v:
        v.pop("crane_any", None)  # the tonnage is known
    _coordinates(row, "lat", "lon")
    if "lat" in v:
        v.setdefault("loc_approx_km", 0.0)
    town = v.get("town")
    if town is None and "address" in v:
        hits = gazetteer().mentioned(v["address"])
        if len(hits) == 1:
            town = v["town"] = hits[0]
    if "lat" not in v:
        if town is not None:
            g = covering(town)
            v["lat"], v["lon"], v["loc_approx_km"] = float(g.lat[town]), float(g.lon[town]), float(g.approx_km[town])
        elif "address" in v and (hit := row.reader.locate(v["address"])) is not None:
            v["lat"], v["lon"], v["loc_approx_km"] = hit[0], hit[1], hit[2]
    if "lat" in v:
        return
    # no location: the row's one error is the cell that failed, or the missing location
    if not (row.upgrade("town") or row.upgrade("lat")):
        if "address" in v:
            row.error("address", v["address"], "位置无法确定：地址中没有可识别的镇街，也没有经纬度",
                      "no location: the address names no known town and there are no coordinates")
        else:
            row.error("town", "", "缺少位置：需要已知镇街或有效经纬度",
                      "location missing: need a known town or valid coordinates")


def _coordinates(row: _Row, lat_f: str, lon_f: str) -> None:
    v = row.values
    if row.failed(lat_f) or row.failed(lon_f):
        row.drop(lat_f, lon_f)  # the bad cell is reported already
        return
    if lat_f not in v and lon_f not in v:
        return
    raw = f"{row.raw.get(lat_f, '')},{row.raw.get(lon_f, '')}"
    if lat_f not in v or lon_f not in v:
        row.warn(lat_f, raw, "经纬度只给了一个", "only one of latitude and longitude is given")
    else:
        try:
            nz.check_coordinates(v[lat_f], v[lon_f], raw)
            return
        except nz.CellError as exc:
            row.problem(lat_f, raw, exc, error=False)
    row.drop(lat_f, lon_f)


def _finish_demand(row: _Row) -> None:
    v = row.values
    _implied(row)
    if "crane_t" in v:
        v.pop("crane_any", None)
    area = v.pop("area", None)
    lo = hi = math.nan
    if area is not None:
        lo, hi = area.lo, area.hi
    if "area_min_m2" in v or "area_max_m2" in v:
        lo = v.get("area_min_m2", lo if area is not None else 0.0)
        hi = v.get("area_max_m2", hi if area is not None else math.inf)
    if math.isnan(lo):
        _area_missing(row)
    elif lo > hi:
        row.error("area_min_m2", f"{lo:g}-{hi:g}", f"最小面积 {lo:g} 大于最大面积 {hi:g}",
                  f"area_min_m2 {lo:g} is larger than area_max_m2 {hi:g}")
    else:
        v["area_min_m2"], v["area_max_m2"] = lo, hi
    budget_area = hi if math.isfinite(hi) else lo
    _price_per_m2(row, "max_rent", "rent", budget_area, "hi")
    _price_per_m2(row, "max_sale_price", "sale", budget_area, "hi")
    _coordinates(row, "origin_lat", "origin_lon")
    _coordinates(row, "anchor_lat", "anchor_lon")
    for place in ("origin", "anchor"):
        if place in v and f"{place}_lat" not in v:
            hit = row.reader.locate(v[place])
            if hit is None:
                row.add(place, v[place], "warning", f"无法定位：{_short(v[place], 40)}（请填写镇街或经纬度）",
                        f"cannot locate {_short(v[place], 40)!r}: give a town or coordinates")
            else:
                v[f"{place}_lat"], v[f"{place}_lon"] = hit[0], hit[1]
    if "needs_certificate" not in v and v.get("deal", 0) & DEAL_SALE:
        v["needs_certificate"] = 1


_AREA_FIELDS = ("area", "area_min_m2", "area_max_m2")


def _area_missing(row: _Row) -> None:
    """No area: reject the row, as missing or as not understood (it is required)."""
    upgraded = [row.upgrade(f) for f in _AREA_FIELDS]
    if not any(upgraded) and not any(row.failed(f) for f in _AREA_FIELDS):
        row.missing("area")


def _column(kept: list[_Row], name: str, empty: Any) -> list[Any]:
    return [r.values.get(name, empty) for r in kept]


def _build(cls: RecordsType, kept: list[_Row], extra_names: list[str]) -> Any:
    n = len(kept)
    columns = {f.name: _column(kept, f.name, EMPTY[f.kind]) for f in cls.FIELDS}
    extra = {}
    for k, name in enumerate(extra_names):
        col = np.empty(n, dtype=object)
        col[:] = [r.extras[k] for r in kept]
        extra[name] = col
    unread: dict[str, np.ndarray] = {}
    for i, r in enumerate(kept):
        for f, text in r.unread.items():
            if f in r.values:
                continue  # a value was read after all (a later column, an implied field)
            if f not in unread:
                unread[f] = np.empty(n, dtype=object)
                unread[f].fill("")
            unread[f][i] = text
    return cls.from_columns(columns, rows=np.array([r.row_no for r in kept], dtype=np.int64), extra=extra,
                            unread=unread)
