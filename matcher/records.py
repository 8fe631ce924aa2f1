"""Columnar, validated records: :class:`Listings` (房源, supply) and :class:`Demands` (需求).

Each side is a frozen dataclass of numpy arrays, one per field of DESIGN.md, all of
length ``n``. They are built once, at ingestion or by the generator, and validated
then; the scoring engine works on the arrays directly. Per-record access
(``listings.record(i)``) exists for the edges: explanations, the API, the CLI.

Missing values
--------------
========  ======================  ==========================================
kind      dtype                   missing / meaning of values
========  ======================  ==========================================
id        str (``<U``)            never missing; at most :data:`ID_MAX_CHARS`
text      object (Python str)     ``""``; at most :data:`TEXT_MAX_CHARS`
code      str (``<U``)            ``""``; a bare GB/T 4754 code (``"2929"``)
float     float64                 NaN (units in the field name or table)
tri       int8                    -1 unknown, 0 no, 1 yes
flag      bool                    never missing (``negotiable``)
deal      int8                    bit flags: 1 lease, 2 sale/buy, 3 both
fire      int8                    0 unknown, 1 甲 2 乙 3 丙 4 丁 5 戊
rating    int8                    0 unknown, 1 D 2 C 3 B 4 A (higher is better)
date      datetime64[D]           NaT; :data:`AVAILABLE_NOW` for "现房 / now"
town      int16                   -1; else a row of :func:`scoring.reference.gazetteer` (or
                                  of a province's :func:`scoring.reference.towns`)
towns     :class:`Ragged` int16   empty list; gazetteer rows
codes     :class:`Ragged` str     empty list; bare GB/T 4754 codes or prefixes
========  ======================  ==========================================

``area_max_m2 = inf`` means an open range ("800平以上"); ``area_min_m2 = 0`` means
"不超过 …". ``crane_any`` says a crane is there (or needed) whose tonnage was not
written ("带行车", "需要行车"; ``crane_t`` is then NaN); ``divisible_any`` says a listing
is divisible without a smallest unit ("2000平（可分割）"; ``min_unit_m2`` is then NaN).

Text and memory
---------------
Free text (names, addresses, remarks, the ``extra`` columns) is held in object arrays
of Python ``str``, so a long cell costs memory for that cell only (a fixed-width
``<U`` array would give every row the width of the longest cell). Ids and industry
codes are short by rule and stay ``<U``. The limits below are the one definition the
readers (which cut longer text with a warning and reject longer ids) and the HTTP
service use.

What the file said that is not a value
--------------------------------------
``unread`` maps a field name to an object array of shape (n,): the text a record's
cell held when it gave no stored value (not understood and emptied with a warning,
"面议" for a budget, "不限" for a date), ``""`` elsewhere. Only fields where some
record has such text appear. Explanations use it so that they never say a field was
left blank when the file had text there.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, overload

import numpy as np

from scoring.conventions import AVAILABLE_NOW, DEAL_BOTH, DEAL_LEASE, DEAL_SALE, FIRE_CLASSES, RATINGS
from scoring.reference import Towns, covering

__all__ = [
    "AVAILABLE_NOW",
    "DEAL_BOTH",
    "DEAL_LEASE",
    "DEAL_SALE",
    "FIRE_CLASSES",
    "ID_MAX_CHARS",
    "RATINGS",
    "TEXT_MAX_CHARS",
    "Demands",
    "Listings",
    "Ragged",
]

TEXT_MAX_CHARS = 2000
"""Longest text cell kept, in characters: file readers cut longer text with a warning
(a remark or an address longer than this is not something a match depends on)."""

ID_MAX_CHARS = 100
"""Longest record id, in characters: a longer id is rejected (ids go into URLs and
file names of reports)."""

_LISTING_DEALS = {DEAL_LEASE: "lease", DEAL_SALE: "sale", DEAL_BOTH: "lease_or_sale"}
_DEMAND_DEALS = {DEAL_LEASE: "lease", DEAL_SALE: "buy", DEAL_BOTH: "either"}


class Ragged(Sequence[np.ndarray]):
    """A list of variable-length lists in two flat arrays (CSR layout).

    Row ``i`` is ``values[offsets[i]:offsets[i + 1]]``. ``row_index`` repeats each
    row number once per value, so a per-value test vectorises as
    ``np.logical_or.reduceat`` or ``np.bincount(row_index, weights=hit)``.

    It behaves as a read-only sequence of rows: ``r[i]`` (negative ``i`` counts from
    the end) is one row as an array, ``r[a:b]`` and ``r[[2, 0]]`` are a new
    :class:`Ragged` of those rows, and iteration yields every row.

    Parameters
    ----------
    values : ndarray of shape (n_values,)
    offsets : ndarray of int64, shape (n_rows + 1,)
        Non-decreasing, ``offsets[0] == 0`` and ``offsets[-1] == n_values``.

    Examples
    --------
    >>> r = Ragged.from_lists([[3], [], [5, 1]], dtype=np.int16)
    >>> r[-1].tolist(), len(r[:2]), [len(x) for x in r]
    ([5, 1], 2, [1, 0, 2])
    """

    __slots__ = ("offsets", "values")

    def __init__(self, values: np.ndarray, offsets: np.ndarray) -> None:
        offsets = np.asarray(offsets, dtype=np.int64)
        if offsets.ndim != 1 or offsets.size == 0 or offsets[0] != 0:
            raise ValueError("offsets must be 1-d and start at 0")
        if offsets[-1] != len(values) or np.any(np.diff(offsets) < 0):
            raise ValueError("offsets must be non-decreasing and end at len(values)")
        self.values = values
        self.offsets = offsets

    @classmethod
    def from_lists(cls, lists: Iterable[Sequence[Any]], dtype: Any) -> Ragged:
        """Build from a sequence of sequences, e.g. ``[["2929"], [], ["38", "39"]]``."""
        lists = list(lists)
        lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        offsets = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = [v for x in lists for v in x]
        values = np.array(flat, dtype=dtype) if flat else np.zeros(0, dtype=dtype)
        return cls(values, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, i: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, i: slice | Sequence[int] | np.ndarray) -> Ragged: ...

    def __getitem__(self, i: int | slice | Sequence[int] | np.ndarray) -> np.ndarray | Ragged:
        """Row ``i`` (an array), or the rows of a slice or an index array (a Ragged)."""
        if isinstance(i, slice):
            return self.take(np.arange(len(self))[i])
        if isinstance(i, (int, np.integer)):
            n = len(self)
            k = int(i)
            if not -n <= k < n:
                raise IndexError(f"row {k} out of range for {n} rows")
            k %= n
            return self.values[self.offsets[k] : self.offsets[k + 1]]
        return self.take(np.asarray(i))

    def __iter__(self) -> Iterator[np.ndarray]:
        for k in range(len(self)):
            yield self.values[self.offsets[k] : self.offsets[k + 1]]

    def __contains__(self, row: object) -> bool:
        want = np.asarray(row)
        return any(np.array_equal(x, want) for x in self)

    def index(self, row: Any, start: int = 0, stop: int | None = None) -> int:
        """Position of the first row equal to ``row`` (ValueError when none is)."""
        want = np.asarray(row)
        for k in range(*slice(start, stop).indices(len(self))):
            if np.array_equal(self[k], want):
                return k
        raise ValueError("row not in Ragged")

    def count(self, row: Any) -> int:
        """Rows equal to ``row``."""
        want = np.asarray(row)
        return sum(np.array_equal(x, want) for x in self)

    def __repr__(self) -> str:
        return f"Ragged({[x.tolist() for x in self][:5]}{'...' if len(self) > 5 else ''})"

    @property
    def lengths(self) -> np.ndarray:
        """Number of values in each row, int64 of shape (n_rows,)."""
        return np.diff(self.offsets)

    @property
    def row_index(self) -> np.ndarray:
        """Row of every value, int64 of shape (n_values,)."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)

    def take(self, rows: np.ndarray) -> Ragged:
        """The sub-list of the given rows (int positions, negative from the end, or a
        bool mask), in that order."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            if rows.shape != (len(self),):
                raise IndexError(f"boolean index of shape {rows.shape} for {len(self)} rows")
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64, copy=False)
        n = len(self)
        if rows.size and (rows.min() < -n or rows.max() >= n):
            raise IndexError(f"row index out of range for {n} rows")
        rows = np.where(rows < 0, rows + n, rows)
        lengths = self.lengths[rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if offsets[-1] == 0:
            return Ragged(self.values[:0], offsets)
        starts = np.repeat(self.offsets[:-1][rows] - offsets[:-1], lengths)
        return Ragged(self.values[starts + np.arange(offsets[-1])], offsets)

    def equals(self, other: Ragged) -> bool:
        """True when both hold the same lists."""
        return np.array_equal(self.offsets, other.offsets) and np.array_equal(
            self.values, other.values
        )


# ---------------------------------------------------------------------------
# Field kinds: the one place that knows how each kind is stored and shown.

_DTYPES: dict[str, Any] = {
    "id": str, "text": object, "code": str, "float": np.float64, "tri": np.int8,
    "flag": np.bool_, "ldeal": np.int8, "ddeal": np.int8, "fire": np.int8,
    "rating": np.int8, "date": "datetime64[D]", "town": np.int16,
}
_RAGGED_DTYPES: dict[str, Any] = {"towns": np.int16, "codes": str}
EMPTY: dict[str, Any] = {
    "id": "", "text": "", "code": "", "float": math.nan, "tri": -1, "flag": False,
    "ldeal": 0, "ddeal": 0, "fire": 0, "rating": 0, "date": np.datetime64("NaT"),
    "town": -1, "towns": (), "codes": (),
}


def _date_py(v: np.datetime64) -> Any:
    if np.isnat(v):
        return None
    if v == AVAILABLE_NOW:
        return "now"
    return v.astype(_dt.date)


_TO_PY: dict[str, Callable[[Any], Any]] = {
    "id": str, "text": str, "code": str,
    "float": lambda v: None if math.isnan(v) else float(v),
    "tri": lambda v: None if v < 0 else bool(v),
    "flag": bool,
    "ldeal": lambda v: _LISTING_DEALS.get(int(v)),
    "ddeal": lambda v: _DEMAND_DEALS.get(int(v)),
    "fire": lambda v: FIRE_CLASSES[v - 1] if v > 0 else None,
    "rating": lambda v: RATINGS[v - 1] if v > 0 else None,
    "date": _date_py,
    "town": lambda v: str(covering(v).names[v]) if v >= 0 else None,
    "towns": lambda vs: [str(covering(v).names[v]) for v in vs],
    "codes": lambda vs: [str(v) for v in vs],
}


def _float_text(v: float) -> str:
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return ""  # an open bound: empty in the canonical table, read back as open
    return repr(float(v)).removesuffix(".0") if float(v).is_integer() else repr(float(v))


def to_text(kind: str, value: Any) -> str:
    """Canonical text of one stored value: what ``changfang validate`` writes.

    Lists are joined with ``|``, booleans are ``true``/``false``, unknown is ``""``.
    Reading the text back with the ingestion parsers gives the same stored value.
    """
    if kind == "float":
        return _float_text(float(value))
    py = _TO_PY[kind](value)
    if py is None:
        return ""
    if isinstance(py, bool):
        return "true" if py else "false"
    if isinstance(py, list):
        return "|".join(py)
    return str(py)


@dataclass(frozen=True)
class Field:
    """One canonical field: its name, storage kind, unit and meaning."""

    name: str
    kind: str
    unit: str = ""
    doc: str = ""


def _F(name: str, kind: str, unit: str = "", doc: str = "") -> Field:
    return Field(name, kind, unit, doc)


LISTING_FIELDS: tuple[Field, ...] = (
    _F("listing_id", "id", doc="unique id"),
    _F("owner", "text", doc="landlord or selling firm"),
    _F("contact", "text", doc="phone; never logged"),
    _F("deal", "ldeal", doc="lease, sale or lease_or_sale"),
    _F("town", "town", doc="镇街, a gazetteer row"),
    _F("address", "text"),
    _F("lat", "float", "deg", "latitude, WGS-84"),
    _F("lon", "float", "deg", "longitude, WGS-84"),
    _F("loc_approx_km", "float", "km", "0 for given coordinates, else the town's approx_km"),
    _F("park", "text", doc="park name"),
    _F("micro_park", "tri", doc="in a 小微企业园"),
    _F("area_m2", "float", "m2", "available floor area"),
    _F("min_unit_m2", "float", "m2", "smallest divisible unit; NaN = indivisible"),
    _F("divisible_any", "flag", doc="said to be divisible (可分割) with no smallest unit; min_unit_m2 is NaN"),
    _F("rent", "float", "yuan/m2/month"),
    _F("sale_price", "float", "yuan/m2"),
    _F("negotiable", "flag", doc="面议"),
    _F("floor", "float", doc="1 = ground floor; the lowest floor offered"),
    _F("clear_height_m", "float", "m"),
    _F("floor_load_kg_m2", "float", "kg/m2"),
    _F("power_kva", "float", "kVA"),
    _F("crane_t", "float", "t", "largest crane; 0 = none"),
    _F("crane_any", "flag", doc="has a crane of unwritten tonnage (带行车); crane_t is NaN"),
    _F("fire_class", "fire", doc="火灾危险性 class the building is rated for"),
    _F("eia_ok", "tri", doc="可环评"),
    _F("industries_allowed", "codes", doc="GB/T 4754 prefixes; empty = any"),
    _F("industries_banned", "codes", doc="GB/T 4754 prefixes"),
    _F("tenant_industries", "codes", doc="industries of the park's present tenants"),
    _F("title_certificate", "tri", doc="不动产权证 held"),
    _F("available_from", "date"),
    _F("min_lease_months", "float", "month"),
    _F("min_tax_per_mu", "float", "10k yuan/mu", "park admission: 亩均税收"),
    _F("min_rating", "rating", doc="park admission: 亩均评价 class"),
)

DEMAND_FIELDS: tuple[Field, ...] = (
    _F("demand_id", "id", doc="unique id"),
    _F("company", "text", doc="firm name or credit code"),
    _F("contact", "text", doc="phone; never logged"),
    _F("deal", "ddeal", doc="lease, buy or either"),
    _F("area_min_m2", "float", "m2", "0 when only a maximum is given"),
    _F("area_max_m2", "float", "m2", "inf for an open range"),
    _F("towns", "towns", doc="wanted towns; empty = no preference"),
    _F("origin", "text", doc="present site, as written"),
    _F("origin_lat", "float", "deg"),
    _F("origin_lon", "float", "deg"),
    _F("anchor", "text", doc="key customer or chain leader, as written"),
    _F("anchor_lat", "float", "deg"),
    _F("anchor_lon", "float", "deg"),
    _F("max_distance_km", "float", "km"),
    _F("max_rent", "float", "yuan/m2/month"),
    _F("max_sale_price", "float", "yuan/m2"),
    _F("industry_code", "code", doc="GB/T 4754-2017 code, bare digits"),
    _F("min_clear_height_m", "float", "m"),
    _F("min_floor_load_kg_m2", "float", "kg/m2"),
    _F("min_power_kva", "float", "kVA"),
    _F("crane_t", "float", "t", "crane needed; 0 = none"),
    _F("crane_any", "flag", doc="needs a crane of unwritten tonnage (需要行车); crane_t is NaN"),
    _F("ground_floor", "tri", doc="needs the ground floor"),
    _F("fire_class", "fire", doc="the process's 火灾危险性 class"),
    _F("needs_eia", "tri", doc="needs 环评"),
    _F("needs_certificate", "tri", doc="needs 不动产权证; blank = yes for buyers"),
    _F("move_in_by", "date"),
    _F("lease_months", "float", "month"),
    _F("tax_per_mu", "float", "10k yuan/mu", "亩均税收"),
    _F("rating", "rating", doc="亩均评价 class"),
    _F("srdi", "tri", doc="专精特新"),
)


def _text_array(values: Any, n: int) -> np.ndarray:
    """``values`` as an object array of Python str, shape (n,) (``<U`` arrays converted)."""
    arr = np.asarray(values)
    if arr.dtype.kind == "U":
        return arr.astype(object)
    if arr.dtype != object:
        raise ValueError(f"must hold str, got {arr.dtype}")
    if not all(isinstance(v, str) for v in arr.tolist()):
        raise ValueError("must hold str only")
    return arr


def _check_column(cls_name: str, f: Field, value: Any, n: int) -> Any:
    """The column checked (text converted to an object array of str)."""
    if f.kind in _RAGGED_DTYPES:
        if not isinstance(value, Ragged) or len(value) != n:
            raise ValueError(f"{cls_name}.{f.name} must be a Ragged of {n} rows")
        return value
    if not isinstance(value, np.ndarray) or value.shape != (n,):
        raise ValueError(f"{cls_name}.{f.name} must be an ndarray of shape ({n},)")
    want = np.dtype(_DTYPES[f.kind])
    if f.kind == "text":
        try:
            return _text_array(value, n)
        except ValueError as exc:
            raise ValueError(f"{cls_name}.{f.name} {exc}") from None
    if want.kind == "U":
        if value.dtype.kind != "U":
            raise ValueError(f"{cls_name}.{f.name} must be a str array, got {value.dtype}")
    elif value.dtype != want:
        raise ValueError(f"{cls_name}.{f.name} must have dtype {want}, got {value.dtype}")
    return value


def _text_columns(cls_name: str, what: str, columns: Mapping[str, Any], n: int) -> dict[str, np.ndarray]:
    out = {}
    for col, values in columns.items():
        if not isinstance(values, np.ndarray) or values.shape != (n,):
            raise ValueError(f"{cls_name}.{what}[{col!r}] must be an ndarray of shape ({n},)")
        try:
            out[col] = _text_array(values, n)
        except ValueError as exc:
            raise ValueError(f"{cls_name}.{what}[{col!r}] {exc}") from None
    return out


class _Records:
    """Behaviour shared by :class:`Listings` and :class:`Demands`."""

    FIELDS: ClassVar[tuple[Field, ...]]
    ID: ClassVar[str]

    def __post_init__(self) -> None:
        n = len(self.rows)  # type: ignore[attr-defined]
        name = type(self).__name__
        for f in self.FIELDS:
            checked = _check_column(name, f, getattr(self, f.name), n)
            if checked is not getattr(self, f.name):
                object.__setattr__(self, f.name, checked)
        object.__setattr__(self, "extra", _text_columns(name, "extra", self.extra, n))  # type: ignore[attr-defined]
        unread = _text_columns(name, "unread", self.unread, n)  # type: ignore[attr-defined]
        fields = {f.name for f in self.FIELDS}
        if set(unread) - fields:
            raise ValueError(f"{name}.unread names unknown fields: {sorted(set(unread) - fields)}")
        object.__setattr__(self, "unread", unread)
        ids = self.ids
        if len(np.unique(ids)) != n:
            raise ValueError(f"{name}.{self.ID} must be unique")
        if n and np.any(ids == ""):
            raise ValueError(f"{name}.{self.ID} must not be empty")

    def __len__(self) -> int:
        return len(self.rows)  # type: ignore[attr-defined]

    @property
    def ids(self) -> np.ndarray:
        """Record ids, str array of shape (n,)."""
        return getattr(self, self.ID)

    def index_of(self, record_id: str) -> int:
        """Position of the record with this id; KeyError if absent."""
        hits = np.flatnonzero(self.ids == record_id)
        if hits.size == 0:
            raise KeyError(record_id)
        return int(hits[0])

    def record(self, i: int) -> dict[str, Any]:
        """Record ``i`` as a dict of plain Python values (None for unknown).

        Fields are in canonical order, then the carried-through extra columns.
        """
        out = {f.name: _TO_PY[f.kind](getattr(self, f.name)[i]) for f in self.FIELDS}
        out.update({k: str(v[i]) for k, v in self.extra.items()})  # type: ignore[attr-defined]
        return out

    def text_columns(self) -> dict[str, list[str]]:
        """Every field as canonical text (see :func:`to_text`), plus extra columns.

        Where a field has no value but the file had text there (``unread``), the text
        is that: read back, the row gives the same record and the same ``unread``.
        """
        out: dict[str, list[str]] = {}
        unread = self.unread  # type: ignore[attr-defined]
        for f in self.FIELDS:
            col = getattr(self, f.name)
            texts = [to_text(f.kind, v) for v in col]
            said = unread.get(f.name)
            if said is not None:
                texts = [t if t or not s else s for t, s in zip(texts, said.tolist())]
            out[f.name] = texts
        for k, v in self.extra.items():  # type: ignore[attr-defined]
            out[k] = [str(x) for x in v]
        return out

    def text_rows(self) -> list[dict[str, str]]:
        """Every record as a dict of canonical text (:meth:`text_columns`, row by row):
        what a file row or a JSON record of the same data reads back to."""
        cols = self.text_columns()
        return [dict(zip(cols, row)) for row in zip(*cols.values())]

    def take(self, idx: np.ndarray) -> Any:
        """A new record set of the rows ``idx`` (int positions or a bool mask)."""
        idx = np.asarray(idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        kw = {}
        for f in self.FIELDS:
            col = getattr(self, f.name)
            kw[f.name] = col.take(idx) if isinstance(col, Ragged) else col[idx]
        kw["rows"] = self.rows[idx]  # type: ignore[attr-defined]
        kw["extra"] = {k: v[idx] for k, v in self.extra.items()}  # type: ignore[attr-defined]
        kw["unread"] = {k: v[idx] for k, v in self.unread.items()}  # type: ignore[attr-defined]
        return type(self)(**kw)

    @classmethod
    def concat(cls, parts: Sequence[Any]) -> Any:
        """One record set holding ``parts`` one after another (ids must stay unique).

        Extra columns present in only some parts are empty in the others.
        """
        parts = list(parts)
        if not parts:
            return cls.from_columns({cls.ID: np.zeros(0, dtype=str)})
        kw: dict[str, Any] = {}
        for f in cls.FIELDS:
            cols = [getattr(p, f.name) for p in parts]
            if isinstance(cols[0], Ragged):
                sizes = np.array([len(c.values) for c in cols[:-1]], dtype=np.int64)
                shift = np.concatenate([[0], np.cumsum(sizes)])
                offsets = np.concatenate([cols[0].offsets[:1]] + [c.offsets[1:] + s for c, s in zip(cols, shift)])
                kw[f.name] = Ragged(np.concatenate([c.values for c in cols]), offsets)
            else:
                kw[f.name] = np.concatenate(cols)
        kw["rows"] = np.concatenate([p.rows for p in parts])
        for attr in ("extra", "unread"):
            keys = list(dict.fromkeys(k for p in parts for k in getattr(p, attr)))
            kw[attr] = {k: np.concatenate([getattr(p, attr)[k] if k in getattr(p, attr) else _blank_text(len(p))
                                           for p in parts]) for k in keys}
        return cls(**kw)

    def equals(self, other: Any) -> bool:
        """True when both hold the same values in every canonical field (NaN == NaN)."""
        if type(other) is not type(self) or len(other) != len(self):
            return False
        for f in self.FIELDS:
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, Ragged):
                if not a.equals(b):
                    return False
            elif not np.array_equal(a, b, equal_nan=a.dtype.kind in "fcmM"):
                return False
        return True

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, Any],
        rows: np.ndarray | None = None,
        extra: Mapping[str, np.ndarray] | None = None,
        unread: Mapping[str, np.ndarray] | None = None,
    ) -> Any:
        """Build from already-clean columns; absent fields are filled as unknown.

        Parameters
        ----------
        columns : mapping of field name to array-like of shape (n,)
            Stored values (see the module docstring). List fields take a
            :class:`Ragged` or a sequence of sequences.
        rows : ndarray of int64, shape (n,), optional
            Source row numbers; default ``2, 3, ...`` (a header in row 1).
        extra : mapping of column name to str ndarray, optional
            Columns carried through untouched.
        unread : mapping of field name to str ndarray, optional
            Text a cell held that gave no stored value (see the module docstring).
        """
        unknown = set(columns) - {f.name for f in cls.FIELDS}
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields: {sorted(unknown)}")
        n = len(columns[cls.ID])
        kw: dict[str, Any] = {}
        for f in cls.FIELDS:
            v = columns.get(f.name)
            if f.kind in _RAGGED_DTYPES:
                if v is None:
                    v = Ragged.from_lists([()] * n, _RAGGED_DTYPES[f.kind])
                elif not isinstance(v, Ragged):
                    v = Ragged.from_lists(v, _RAGGED_DTYPES[f.kind])
            elif v is None:
                v = _blank_text(n) if f.kind == "text" else np.full(n, EMPTY[f.kind], dtype=_DTYPES[f.kind])
            elif f.kind == "text":
                v = _text_array(v if isinstance(v, np.ndarray) else np.array(list(v), dtype=object), n)
            else:
                v = np.asarray(v, dtype=_DTYPES[f.kind])
            kw[f.name] = v
        kw["rows"] = np.arange(2, n + 2, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        kw["extra"] = dict(extra or {})
        kw["unread"] = dict(unread or {})
        return cls(**kw)


def _blank_text(n: int) -> np.ndarray:
    """An object array of ``n`` empty strings."""
    out = np.empty(n, dtype=object)
    out.fill("")
    return out


def _columns(fields: tuple[Field, ...]) -> str:
    return "\n".join(f"    {f.name} : {f.kind}{' [' + f.unit + ']' if f.unit else ''}  {f.doc}" for f in fields)


@dataclass(frozen=True, eq=False)
class Listings(_Records):
    """Factory space on offer (房源), one array per field, all of shape (n_listings,).

    ``rows`` holds each record's source row number (header = row 1) and ``extra``
    the unknown input columns, carried through untouched. See the module docstring
    for how each kind stores missing values.
    """

    FIELDS: ClassVar[tuple[Field, ...]] = LISTING_FIELDS
    ID: ClassVar[str] = "listing_id"

    listing_id: np.ndarray
    owner: np.ndarray
    contact: np.ndarray
    deal: np.ndarray
    town: np.ndarray
    address: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    loc_approx_km: np.ndarray
    park: np.ndarray
    micro_park: np.ndarray
    area_m2: np.ndarray
    min_unit_m2: np.ndarray
    divisible_any: np.ndarray
    rent: np.ndarray
    sale_price: np.ndarray
    negotiable: np.ndarray
    floor: np.ndarray
    clear_height_m: np.ndarray
    floor_load_kg_m2: np.ndarray
    power_kva: np.ndarray
    crane_t: np.ndarray
    crane_any: np.ndarray
    fire_class: np.ndarray
    eia_ok: np.ndarray
    industries_allowed: Ragged
    industries_banned: Ragged
    tenant_industries: Ragged
    title_certificate: np.ndarray
    available_from: np.ndarray
    min_lease_months: np.ndarray
    min_tax_per_mu: np.ndarray
    min_rating: np.ndarray
    rows: np.ndarray = field(repr=False)
    extra: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    unread: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"<Listings n={len(self)}>"


@dataclass(frozen=True, eq=False)
class Demands(_Records):
    """Firms looking for space (需求), one array per field, all of shape (n_demands,).

    ``rows`` holds each record's source row number (header = row 1) and ``extra``
    the unknown input columns, carried through untouched. See the module docstring
    for how each kind stores missing values.
    """

    FIELDS: ClassVar[tuple[Field, ...]] = DEMAND_FIELDS
    ID: ClassVar[str] = "demand_id"

    demand_id: np.ndarray
    company: np.ndarray
    contact: np.ndarray
    deal: np.ndarray
    area_min_m2: np.ndarray
    area_max_m2: np.ndarray
    towns: Ragged
    origin: np.ndarray
    origin_lat: np.ndarray
    origin_lon: np.ndarray
    anchor: np.ndarray
    anchor_lat: np.ndarray
    anchor_lon: np.ndarray
    max_distance_km: np.ndarray
    max_rent: np.ndarray
    max_sale_price: np.ndarray
    industry_code: np.ndarray
    min_clear_height_m: np.ndarray
    min_floor_load_kg_m2: np.ndarray
    min_power_kva: np.ndarray
    crane_t: np.ndarray
    crane_any: np.ndarray
    ground_floor: np.ndarray
    fire_class: np.ndarray
    needs_eia: np.ndarray
    needs_certificate: np.ndarray
    move_in_by: np.ndarray
    lease_months: np.ndarray
    tax_per_mu: np.ndarray
    rating: np.ndarray
    srdi: np.ndarray
    rows: np.ndarray = field(repr=False)
    extra: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    unread: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"<Demands n={len(self)}>"

    def town_names(self, i: int) -> list[str]:
        """The wanted towns of demand ``i`` by name (``towns`` holds rows of the town
        table, :func:`scoring.reference.gazetteer` or a province's
        :func:`scoring.reference.towns`)."""
        return [str(covering(t).names[t]) for t in self.towns[i]]


Listings.__doc__ = (Listings.__doc__ or "") + "\n    Fields\n    ------\n" + _columns(LISTING_FIELDS) + "\n"
Demands.__doc__ = (Demands.__doc__ or "") + "\n    Fields\n    ------\n" + _columns(DEMAND_FIELDS) + "\n"


def towns_table(*records: Any) -> Towns:
    """The towns table the town fields of ``records`` (Listings and Demands) index: the
    county's (:func:`scoring.reference.gazetteer`), or as many counties of a province
    (:func:`scoring.reference.towns`) as their rows reach."""
    rows = [np.zeros(0, dtype=np.int64)]
    for r in records:
        if hasattr(r, "town"):
            rows.append(np.asarray(r.town, dtype=np.int64))
        if hasattr(r, "towns"):
            rows.append(np.asarray(r.towns.values, dtype=np.int64))
    return covering(np.concatenate(rows))
