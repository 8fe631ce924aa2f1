"""The tables of a batch run, as rows: what ``run`` writes and ``report`` shows.

Both :mod:`matcher.batch.run` and :mod:`matcher.batch.report` import this module and
neither imports the other. A table is a :class:`Table`: its name, its columns (the
names of ``PAIRS_COLUMNS`` ...) and its rows of text; a cell is looked up by column
name (:meth:`Table.get`), never by position.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

import scoring

__all__ = [
    "HEADERS_ZH",
    "PAIRS_COLUMNS",
    "RECOMMENDATION_COLUMNS",
    "SHEETS_ZH",
    "UNMATCHED_COLUMNS",
    "MapPoint",
    "ReportData",
    "RunOutput",
    "Table",
    "pair_rows",
    "recommendation_rows",
    "reject_problems",
    "typed_row",
    "unmatched_rows",
]

CRITERIA = tuple(scoring.CRITERIA)

PAIRS_COLUMNS = ["demand_id", "company", "listing_id", "owner", "score",
                 *(f"{c}_score" for c in CRITERIA), "distance_km", "allocated_area_m2", "rent", "sale_price",
                 "reasons_zh", "reasons_en"]
RECOMMENDATION_COLUMNS = ["demand_id", "rank", "listing_id", "score", "distance_km", "reasons_zh", "reasons_en"]
UNMATCHED_COLUMNS = ["side", "id", "reason_zh", "reason_en"]

HEADERS_ZH = {
    "demand_id": "需求编号", "company": "企业名称", "listing_id": "房源编号", "owner": "业主", "score": "总分",
    "area_score": "面积得分", "location_score": "区位得分", "price_score": "价格得分", "industry_score": "产业得分",
    "facilities_score": "设施得分", "timing_score": "时间得分", "distance_km": "距离(km)",
    "allocated_area_m2": "分配面积(㎡)", "rent": "租金(元/㎡/月)", "sale_price": "售价(元/㎡)",
    "reasons_zh": "理由", "reasons_en": "理由(英文)", "rank": "名次", "side": "类别", "id": "编号",
    "reason_zh": "原因", "reason_en": "原因(英文)", "file": "文件", "row": "行号", "field": "字段", "value": "值",
    "severity": "级别",
}
SHEETS_ZH = {"pairs": "配对结果", "recommendations": "推荐", "unmatched": "未匹配", "rejects": "问题行"}




@dataclass(frozen=True)
class Table:
    """One output table.

    Attributes
    ----------
    name : str
        ``"pairs"``, ``"recommendations"``, ``"unmatched"`` or ``"rejects"``.
    columns : tuple of str
        Canonical column names (the CSV header).
    rows : list of list
        One list of cells per row, in column order.
    """

    name: str
    columns: tuple[str, ...]
    rows: list[list[Any]]

    def index(self, column: str) -> int:
        """Position of ``column``; KeyError naming it when the table has none."""
        try:
            return self.columns.index(column)
        except ValueError:
            raise KeyError(f"table {self.name!r} has no column {column!r}") from None

    def get(self, row: Sequence[Any], column: str) -> Any:
        """The cell of ``row`` in ``column``."""
        return row[self.index(column)]

    def pick(self, columns: Sequence[str]) -> Iterator[list[Any]]:
        """Every row cut down to ``columns``, in that order."""
        at = [self.index(c) for c in columns]
        for r in self.rows:
            yield [r[k] for k in at]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class MapPoint:
    """One record or town drawn on the map: its id, place (WGS-84 degrees), a label and
    its kind: for a town ``"town"``, ``"street"`` or ``"zone"``; for a listing or a
    demand ``"matched"`` or ``"unmatched"`` (empty: not said)."""

    id: str
    lat: float
    lon: float
    label: str = ""
    kind: str = ""


@dataclass(frozen=True)
class ReportData:
    """Everything ``report.html`` shows, computed by the run (the report reads nothing else).

    Attributes
    ----------
    title : str
        Shown under the heading (the inputs, or the sample's name).
    version : str
        changfang's version.
    method : str
        The allocation method used (``one_to_one``, ``divisible`` or ``stable``).
    objective, gap, reservation : float
        Sum of the pairs' scores; relative gap to the bound (0 when optimal); the
        reservation score of the profile.
    counts : dict of str to int
        ``run.json``'s counts: listings_read, listings_rejected, demands_read,
        demands_rejected, feasible_pairs, matched, locked, unmatched_demands,
        unmatched_listings.
    pairs : list of dict
        The first ``max_rows`` rows of ``pairs.csv`` (keys: ``PAIRS_COLUMNS``), in its order.
    n_pairs : int
        Rows of ``pairs.csv`` (``len(pairs)`` may be fewer).
    unmatched_kinds : list of (side, kind, count)
        Unmatched records by side (``demand``/``listing``) and kind of reason.
    unmatched_rules : list of (side, rule, count)
        Rules most often behind "no feasible partner" (among each record's top three).
    rejects : list of (field, reason_zh, reason_en, count)
        The most common reasons rows were rejected at reading.
    towns : list of MapPoint
        The county's towns (label: the Chinese name; kind: town, street or zone).
    listings, demands : list of MapPoint
        Where each located listing is, and where each located demand is drawn (for a
        matched demand its wanted town, site or anchor nearest its listing); kind
        ``"matched"`` when the record is in a pair (located partner or not).
    lines : list of (demand_id, listing_id, score)
        The pairs drawn on the map (both ends located).
    bins : list of float
        Edges of the score histogram (41 edges over [0, 1]).
    feasible_hist, chosen_hist : list of int
        Feasible pairs and chosen pairs per bin.
    """

    title: str
    version: str
    method: str
    objective: float
    gap: float
    reservation: float
    counts: dict[str, int]
    pairs: list[dict[str, Any]]
    n_pairs: int
    unmatched_kinds: list[tuple[str, str, int]]
    unmatched_rules: list[tuple[str, str, int]]
    rejects: list[tuple[str, str, str, int]]
    towns: list[MapPoint]
    listings: list[MapPoint]
    demands: list[MapPoint]
    lines: list[tuple[str, str, float]]
    bins: list[float]
    feasible_hist: list[int]
    chosen_hist: list[int]


@dataclass
class RunOutput:
    """What a run wrote and found.

    Attributes
    ----------
    out : pathlib.Path
        The output folder.
    summary : dict
        The content of ``run.json``.
    result : matcher.MatchResult
    listings, demands : matcher.io.ingest.ReadResult
    files : dict of str to pathlib.Path
        Each file written.
    tables : dict of str to Table
        The tables written (``pairs``, ``recommendations``, ...).
    """

    out: Path
    summary: dict[str, Any]
    result: Any
    listings: Any
    demands: Any
    files: dict[str, Path] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)

    def best_pairs(self, n: int = 5) -> list[dict[str, Any]]:
        """The ``n`` best-scoring pairs, ties by demand id then listing id."""
        r, d, l = self.result, self.demands.records, self.listings.records
        order = sorted(range(len(r)), key=lambda k: (-r.score[k], d.demand_id[r.demand[k]],
                                                     l.listing_id[r.listing[k]]))[:n]
        out = []
        for k in order:
            e = r.explain(k)
            out.append({"demand_id": str(d.demand_id[r.demand[k]]), "company": d.company[r.demand[k]],
                        "listing_id": str(l.listing_id[r.listing[k]]), "score": round(float(r.score[k]), 4),
                        "reasons_zh": _first(e.sentences("zh")), "reasons_en": _first(e.sentences("en"))})
        return out


def _first(sentences: list[str], n: int = 2) -> str:
    return "; ".join(sentences[:n])


def _num(x: Any, digits: int) -> str:
    """Fixed decimals, trailing zeros dropped; empty for NaN or None."""
    if x is None:
        return ""
    v = float(x)
    if math.isnan(v):
        return ""
    s = f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _text(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else str(x)


def pair_rows(result: Any, listings: Any, demands: Any) -> list[list[str]]:
    """The rows of ``pairs.csv``, in demand id order (then listing id)."""
    rows = []
    for k in range(len(result)):
        i, j = int(result.demand[k]), int(result.listing[k])
        e = result.explain(k)
        crit = {c.name: c.score for c in e.criteria}
        dist = next((c.inputs.get("distance_km") for c in e.criteria if c.name == "location"), None)
        rows.append([
            _text(demands.demand_id[i]), _text(demands.company[i]), _text(listings.listing_id[j]),
            _text(listings.owner[j]), _num(result.score[k], 4), *(_num(crit.get(c), 4) for c in CRITERIA),
            _num(dist, 3), _num(result.area[k], 2), _num(listings.rent[j], 2), _num(listings.sale_price[j], 2),
            e.summary("zh"), e.summary("en"),
        ])
    rows.sort(key=lambda r: (r[0], r[2]))
    return rows


def recommendation_rows(result: Any, listings: Any, demands: Any, k: int) -> list[list[str]]:
    """The rows of ``recommendations.csv``: every demand's top ``k``, in demand id order."""
    tk = result.for_demand
    res = result.scores
    rows = []
    for i in np.argsort(demands.demand_id, kind="stable").tolist():
        n = min(int(tk.count[i]), k)
        if n == 0:
            continue
        js = tk.index[i, :n]
        for rank, (j, e) in enumerate(zip(js.tolist(), res.scorer.explain_row(i, js)), start=1):  # one block
            dist = next((c.inputs.get("distance_km") for c in e.criteria if c.name == "location"), None)
            rows.append([_text(demands.demand_id[i]), str(rank), _text(listings.listing_id[j]),
                         _num(tk.scores[i, rank - 1], 4), _num(dist, 3), e.summary("zh"), e.summary("en")])
    return rows


def unmatched_rows(result: Any) -> list[list[str]]:
    """The rows of ``unmatched.csv``: demands then listings, each in id order."""
    items = sorted(result.unmatched, key=lambda u: (u.side != "demand", str(u.id)))
    return [[u.side, str(u.id), u.reason_zh, u.reason_en] for u in items]


def reject_problems(lres: Any, dres: Any) -> list[Any]:
    """Both ingestion reports, with file names instead of paths (outputs stay the same
    wherever the inputs lie)."""
    return [replace(p, file=Path(p.file).name) for p in (*lres.report, *dres.report)]


NUMERIC = frozenset({"score", *(f"{c}_score" for c in CRITERIA), "distance_km", "allocated_area_m2", "rent",
                     "sale_price", "rank", "row"})


def typed_row(headers: Sequence[str], row: Iterable[Any]) -> list[Any]:
    """Numbers as numbers in the workbook (so Excel sorts and sums them), the rest as text."""
    out: list[Any] = []
    for h, v in zip(headers, row):
        if h in NUMERIC and v not in ("", None):
            f = float(v)
            out.append(int(f) if f.is_integer() else f)
        else:
            out.append(v)
    return out


def _demand_sites(d: Any, l: Any, demand: np.ndarray, listing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where to draw each demand: for a matched one its place (wanted town, present site
    or chain anchor) nearest its listing; else its first place; NaN when it has none.

    Parameters
    ----------
    d, l : scoring.DemandSide, scoring.ListingSide
    demand, listing : ndarray of int64, shape (n_pairs,)

    Returns
    -------
    lat, lon : ndarray of float64, shape (n_demands,)
        Degrees.
    """
    from scoring.geo import haversine_km

    lat, lon = np.full(d.n, np.nan), np.full(d.n, np.nan)
    starts, ends = d.point_offsets[:-1], d.point_offsets[1:]
    has = ends > starts
    lat[has], lon[has] = d.point_lat[starts[has]], d.point_lon[starts[has]]
    for i, j in zip(demand.tolist(), listing.tolist()):
        k = np.arange(starts[i], ends[i])
        if k.size and np.isfinite(l.lat[j]):
            best = k[int(np.argmin(haversine_km(d.point_lat[k], d.point_lon[k], l.lat[j], l.lon[j])))]
            lat[i], lon[i] = d.point_lat[best], d.point_lon[best]
    return lat, lon


_MATCHED = {True: "matched", False: "unmatched"}


def report_data(run: RunOutput, title: str = "", max_rows: int = 2000) -> ReportData:
    """What ``report.html`` shows of a run (see :class:`ReportData`)."""
    from collections import Counter

    from scoring.reference import gazetteer

    res, s = run.result, run.summary
    sc = res.scores.scorer
    d, l = sc.demand_side, sc.listing_side
    pairs = run.tables["pairs"]
    problems = [p for p in reject_problems(run.listings, run.demands) if p.severity == "error"]
    common = Counter((p.field, p.reason_zh, p.reason_en) for p in problems).most_common(10)
    kinds = Counter((u.side, u.kind) for u in res.unmatched)
    rules: Counter[tuple[str, str]] = Counter()
    for u in res.unmatched:
        for rule, _ in u.rules[:3]:
            rules[(u.side, rule)] += 1
    g = gazetteer()
    dlat, dlon = _demand_sites(d, l, res.demand, res.listing)
    located_l = np.flatnonzero(np.isfinite(l.lat))
    located_d = np.flatnonzero(np.isfinite(dlat))
    in_l, in_d = np.zeros(l.n, dtype=bool), np.zeros(d.n, dtype=bool)
    in_l[np.asarray(res.listing, dtype=np.int64)] = True
    in_d[np.asarray(res.demand, dtype=np.int64)] = True
    total = res.scores.total
    bins = np.linspace(0.0, 1.0, 41)
    feasible = np.histogram(total[np.isfinite(total)], bins=bins)[0]
    chosen = np.histogram(res.score, bins=bins)[0]
    return ReportData(
        title=title, version=str(s["version"]), method=str(s["method"]), objective=float(s["objective"]),
        gap=float(s["gap"]), reservation=float(sc.profile.reservation), counts=dict(s["counts"]),
        pairs=[dict(zip(pairs.columns, r)) for r in pairs.rows[:max_rows]], n_pairs=len(pairs),
        unmatched_kinds=[(sd, k, n) for (sd, k), n in sorted(kinds.items())],
        unmatched_rules=[(sd, r, n) for (sd, r), n in rules.most_common(10)],
        rejects=[(f, z, e, n) for (f, z, e), n in common],
        towns=[MapPoint(str(n), float(a), float(b), str(n), str(k))
               for n, a, b, k in zip(g.names, g.lat, g.lon, g.kinds)],
        listings=[MapPoint(str(l.ids[j]), float(l.lat[j]), float(l.lon[j]), kind=_MATCHED[bool(in_l[j])])
                  for j in located_l.tolist()],
        demands=[MapPoint(str(d.ids[i]), float(dlat[i]), float(dlon[i]), kind=_MATCHED[bool(in_d[i])])
                 for i in located_d.tolist()],
        lines=[(str(d.ids[i]), str(l.ids[j]), float(sc_)) for i, j, sc_ in zip(res.demand, res.listing, res.score)
               if np.isfinite(dlat[i]) and np.isfinite(l.lat[j])],
        bins=bins.tolist(), feasible_hist=feasible.astype(int).tolist(), chosen_hist=chosen.astype(int).tolist(),
    )
