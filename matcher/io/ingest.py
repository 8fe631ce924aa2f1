"""Read listing and demand tables as they really arrive, and account for every row.

:func:`read_listings` and :func:`read_demands` take a path (CSV in UTF-8 or
GB18030, XLSX, JSON, JSON Lines) or an in-memory table (list of dicts, dict of
columns, pandas DataFrame), recognise Chinese or canonical headers, normalise every
cell (:mod:`matcher.io.normalise`), and return the records with a report.

Rules
-----
* A required field that is missing or not understood rejects the row (severity
  ``error``): listings need an id, a deal type, an area and a location (a known
  town, coordinates, an address naming a town, or a geocoded address); demands need
  an id, a deal type and an area.
* Any other field not understood or out of range is left empty and reported as a
  ``warning``; the row is kept. Nothing is guessed.
* A duplicate id rejects the later row, naming the row of the first.
* Unknown columns are carried through untouched (``records.extra``) and listed once
  in the report (severity ``info``, row 1).
* ``accepted + rejected == rows``, always (fully blank rows are not records).

Row-level conventions
---------------------
* A total price ("月租5万", "总价800万") is divided by the listing's area; a total
  budget by the demand's largest wanted area (``area_max_m2``, or ``area_min_m2``
  for an open range): the per-㎡ budget is then never overstated.
* A budget written as a range ("15-20元") keeps its upper end; a listing price
  written as a range is not understood (a warning).
* Given coordinates win over a town's centroid; ``loc_approx_km`` is 0 for given
  coordinates, the town's ``approx_km`` otherwise, NaN for a geocoded address.
* ``needs_certificate`` left blank means yes for a demand that would buy (buy or
  either) and unknown for a lease-only demand.
* A demand's ``origin`` and ``anchor`` are kept as written and located as
  coordinates ("30.17,121.12"), a town name, the one full town name they mention,
  or through the optional geocoder; otherwise a warning.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from matcher.errors import InputFileError
from matcher.io import normalise as nz
from matcher.io.schema import DEMAND_COLUMNS, LISTING_COLUMNS, Column, column_lookup, fold_header
from matcher.io.tables import RawTable, load_table
from matcher.records import DEAL_SALE, EMPTY, Demands, Listings
from scoring.reference import gazetteer

__all__ = ["REPORT_COLUMNS", "Problem", "ReadResult", "Report", "read_demands", "read_listings"]

REPORT_COLUMNS = ("file", "row", "id", "field", "value", "severity", "reason_zh", "reason_en")


@dataclass(frozen=True)
class Problem:
    """One problem found in one cell, row or column."""

    file: str
    row: int
    id: str
    field: str
    value: str
    severity: str  # "error" (row rejected), "warning" (field emptied) or "info"
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
    """

    problems: tuple[Problem, ...]
    n_rows: int
    n_accepted: int

    @property
    def n_rejected(self) -> int:
        """Rows rejected (``n_rows - n_accepted``)."""
        return self.n_rows - self.n_accepted

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
    for sep in (": ", " from ", " got ", " '"):
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
        Worksheet of an XLSX workbook (default: the first).
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
        The whole source cannot be read (missing, unreadable, not a table, empty,
        no id column).
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


def _read(source: Any, side: str, sheet: str | None, geocoder: Any) -> ReadResult[Any]:
    columns, cls = _SIDES[side]
    lookup = column_lookup(columns)
    table = load_table(source, sheet=sheet, header_score=lambda h: fold_header(h) in lookup)
    return _Reader(table, side, columns, cls, lookup, geocoder).run()


class _Reader:
    """One pass over one raw table."""

    def __init__(self, table: RawTable, side: str, columns: tuple[Column, ...], cls: RecordsType,
                 lookup: dict[str, Column], geocoder: Any) -> None:
        self.table = table
        self.side = side
        self.cls = cls
        self.geocoder = geocoder
        self.problems: list[Problem] = []
        self.cache: dict[tuple[str, type, Any], Any] = {}
        self.geo_cache: dict[str, tuple[float, float] | None] = {}
        self.mapped: list[tuple[int, Column]] = []
        self.extra: list[tuple[int, str]] = []
        taken: dict[str, str] = {}
        for j, header in enumerate(table.headers):
            col = lookup.get(fold_header(header))
            if col is None:
                self.extra.append((j, header))
                self._info(header, "未识别的列，原样保留", "unknown column, carried through unchanged")
            elif col.field in taken:
                self.extra.append((j, header))
                self._info(header, f"与“{taken[col.field]}”列重复（均为 {col.field}），原样保留",
                           f"duplicates column {taken[col.field]!r} (both {col.field}); carried through unchanged")
            else:
                taken[col.field] = header
                self.mapped.append((j, col))
        id_field = cls.ID
        if id_field not in taken:
            raise InputFileError(table.source, f"no id column (编号 / {id_field}); columns: {', '.join(table.headers)}")

    def _info(self, header: str, zh: str, en: str) -> None:
        self.problems.append(Problem(self.table.source, 1, "", header, "", "info", zh, en))

    # -- one cell ---------------------------------------------------------
    def _parse(self, col: Column, raw: Any) -> Any:
        try:
            key = (col.field, type(raw), raw)  # the type too: True == 1 but they read differently
            hit = self.cache.get(key)
        except TypeError:  # unhashable cell (a JSON list): parse uncached
            key, hit = None, None
        if hit is None:
            try:
                hit = col.parse(raw)
            except nz.CellError as exc:
                hit = exc
            if key is not None:
                self.cache[key] = hit
        return hit

    def run(self) -> ReadResult[Any]:
        accepted: list[dict[str, Any]] = []
        rows: list[int] = []
        extras: list[list[str]] = []
        first_row_of: dict[str, int] = {}
        id_field = self.cls.ID
        # the id column first, so that every problem of a row names its record
        mapped = sorted(self.mapped, key=lambda jc: jc[1].field != id_field)
        for row_no, cells in self.table.rows:
            row = _Row(self, row_no)
            for j, col in mapped:
                raw = cells[j]
                if nz.is_blank(raw):
                    continue
                value = self._parse(col, raw)
                if isinstance(value, nz.CellError):
                    row.problem(col.field, raw, value, error=col.required)
                else:
                    row.values[col.field] = value
                    row.raw[col.field] = raw
                    if col.field == id_field:
                        row.record_id = value
            for col in (c for _, c in mapped if c.required):
                if col.field not in row.values and not row.failed(col.field):
                    row.missing(col.field)
            (_finish_listing if self.side == "listing" else _finish_demand)(row)
            if not row.has_error and row.record_id in first_row_of:
                row.error(id_field, row.record_id, f"编号重复，首次出现在第 {first_row_of[row.record_id]} 行",
                          f"duplicate id; first seen in row {first_row_of[row.record_id]}")
            self.problems.extend(row.problems)
            if row.has_error:
                continue
            first_row_of[row.record_id] = row_no
            accepted.append(row.values)
            rows.append(row_no)
            extras.append(["" if nz.is_blank(cells[j]) else str(cells[j]) for j, _ in self.extra])
        records = _build(self.cls, accepted, rows, [h for _, h in self.extra], extras)
        report = Report(tuple(self.problems), len(self.table.rows), len(accepted))
        return ReadResult(records, report, self.table.source, tuple(h for _, h in self.extra))

    def locate(self, text: str) -> tuple[float, float, float, int] | None:
        """Coordinates, precision (km) and town of a place written as text."""
        try:
            pair = nz.parse_coordinate_pair(text)
        except nz.CellError:
            pair = None
        if pair is not None:
            return pair[0], pair[1], 0.0, -1
        g = gazetteer()
        i = g.find(text)
        if i is None:
            hits = g.mentioned(text)
            i = hits[0] if len(hits) == 1 else None
        if i is not None:
            return float(g.lat[i]), float(g.lon[i]), float(g.approx_km[i]), i
        if self.geocoder is None:
            return None
        if text not in self.geo_cache:
            self.geo_cache[text] = _geocode(self.geocoder, text)
        hit = self.geo_cache[text]
        return None if hit is None else (hit[0], hit[1], math.nan, -1)


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

    def __init__(self, reader: _Reader, row_no: int) -> None:
        self.reader = reader
        self.row_no = row_no
        self.values: dict[str, Any] = {}
        self.raw: dict[str, Any] = {}
        self.problems: list[Problem] = []
        self.record_id = ""
        self.has_error = False

    def _add(self, field: str, raw: Any, severity: str, zh: str, en: str) -> None:
        value = "" if raw is None else str(raw)
        self.problems.append(Problem(self.reader.table.source, self.row_no, self.record_id,
                                     field, value, severity, zh, en))
        if severity == "error":
            self.has_error = True

    def problem(self, field: str, raw: Any, exc: nz.CellError, error: bool) -> None:
        self._add(field, raw, "error" if error else "warning", exc.zh, exc.en)

    def failed(self, field: str) -> bool:
        return any(p.field == field for p in self.problems)

    def error(self, field: str, raw: Any, zh: str, en: str) -> None:
        self._add(field, raw, "error", zh, en)

    def warn(self, field: str, raw: Any, zh: str, en: str) -> None:
        self._add(field, raw, "warning", zh, en)

    def missing(self, field: str) -> None:
        self.error(field, "", f"缺少必填项 {field}", f"required field {field} is missing")

    def drop(self, *fields: str) -> None:
        for f in fields:
            self.values.pop(f, None)


def _price_per_m2(row: _Row, field: str, kind: str, area: float, range_pick: str | None) -> None:
    """Turn a parsed :class:`Price` into 元/㎡(/月), or warn and drop it."""
    price = row.values.pop(field, None)
    if price is None:
        return
    raw = row.raw[field]
    if price.negotiable and row.reader.side == "listing":
        row.values["negotiable"] = True
    if math.isnan(price.lo):
        return
    if price.is_range and range_pick is None:
        row.warn(field, raw, f"价格应为一个数值，不能是范围：{raw}",
                 f"price must be one value, not a range: {str(raw)!r}")
        return
    value = price.hi if range_pick == "hi" else price.lo
    if price.total:
        if not (area > 0 and math.isfinite(area)):
            row.warn(field, raw, f"总价需要面积才能换算为单价：{raw}", f"a total price needs the area: {str(raw)!r}")
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
    area = v.get("area_m2", math.nan)
    _price_per_m2(row, "rent", "rent", area, None)
    _price_per_m2(row, "sale_price", "sale", area, None)
    unit = v.get("min_unit_m2")
    if unit is not None and not unit <= area:
        row.warn("min_unit_m2", row.raw["min_unit_m2"], f"最小分割面积大于房源面积 {area:g}㎡",
                 f"minimum unit is larger than the area {area:g} m2")
        row.drop("min_unit_m2")
    _coordinates(row, "lat", "lon")
    if "lat" in v:
        v.setdefault("loc_approx_km", 0.0)
    town = v.get("town")
    g = gazetteer()
    if town is None and "address" in v:
        hits = g.mentioned(v["address"])
        if len(hits) == 1:
            town = v["town"] = hits[0]
    if "lat" not in v:
        if town is not None:
            v["lat"], v["lon"], v["loc_approx_km"] = float(g.lat[town]), float(g.lon[town]), float(g.approx_km[town])
        elif "address" in v and (hit := row.reader.locate(v["address"])) is not None:
            v["lat"], v["lon"], v["loc_approx_km"] = hit[0], hit[1], hit[2]
    if "lat" not in v and not row.failed("town") and not row.failed("lat"):
        row.error("town", "", "缺少位置：需要已知镇街或有效经纬度",
                  "location missing: need a known town or valid coordinates")
    elif "lat" not in v:
        row.error("town", row.raw.get("town", ""), "位置无法确定：镇街未知且无有效经纬度",
                  "no location: unknown town and no valid coordinates")


def _coordinates(row: _Row, lat_f: str, lon_f: str) -> None:
    v = row.values
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
                row.warn(place, v[place], f"无法定位：{v[place]}（请填写镇街或经纬度）",
                         f"cannot locate {v[place]!r}: give a town or coordinates")
            else:
                v[f"{place}_lat"], v[f"{place}_lon"] = hit[0], hit[1]
    if "needs_certificate" not in v and v.get("deal", 0) & DEAL_SALE:
        v["needs_certificate"] = 1


_AREA_FIELDS = ("area", "area_min_m2", "area_max_m2")


def _area_missing(row: _Row) -> None:
    """No area: reject the row, as missing or as not understood (it is required)."""
    failed = [i for i, p in enumerate(row.problems) if p.field in _AREA_FIELDS]
    if not failed:
        row.missing("area")
    for i in failed:
        p = row.problems[i]
        row.problems[i] = Problem(p.file, p.row, p.id, p.field, p.value, "error", p.reason_zh, p.reason_en)
        row.has_error = True


def _build(cls: RecordsType, accepted: list[dict[str, Any]], rows: list[int],
           extra_names: list[str], extras: list[list[str]]) -> Any:
    columns = {f.name: [rec.get(f.name, EMPTY[f.kind]) for rec in accepted] for f in cls.FIELDS}
    extra = {name: np.array([e[k] for e in extras], dtype=str) if extras else np.zeros(0, dtype=str)
             for k, name in enumerate(extra_names)}
    return cls.from_columns(columns, rows=np.array(rows, dtype=np.int64), extra=extra)
