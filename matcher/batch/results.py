"""The tables of a batch run, built as rows: what ``run`` writes and ``report`` shows.

Both :mod:`matcher.batch.run` and :mod:`matcher.batch.report` import this module and
neither imports the other. Each table is a tuple of :class:`~matcher.io.export.Column`
(canonical name, Chinese header, number or text); rows hold typed values (text,
numbers, None for empty) in that order, and a cell is looked up by column name
(:func:`column`), never by position.

Rows are produced demand by demand, in chunks (:func:`pair_and_recommendation_rows`):
the explanations of a chunk's pairs and recommendations are computed together, many
pairs per block (:meth:`scoring.Scorer.explain_many`), and shared by ``pairs.csv``,
``recommendations.csv``, the workbook and the report; no whole table is held.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import scoring
from matcher.io.export import Column
from matcher.written import amend, amend_summary

__all__ = ["CRITERIA", "FIELD_ZH", "PAIRS", "PAIRS_COLUMNS", "RECOMMENDATIONS", "RECOMMENDATION_COLUMNS", "REJECTS",
           "SHEETS_ZH", "UNMATCHED", "UNMATCHED_COLUMNS", "MapPoint", "ReportData", "RunOutput",
           "best_pairs", "column", "has_words", "pair_and_recommendation_rows", "recommendation_rows", "reject_rows",
           "report_data",
           "unmatched_rows", "workbook_row"]

CRITERIA = tuple(scoring.CRITERIA)

_CRITERION_ZH = {"area": "面积得分", "location": "区位得分", "price": "价格得分", "industry": "产业得分",
                 "facilities": "设施得分", "timing": "时间得分"}

PAIRS: tuple[Column, ...] = (
    Column("demand_id", "需求编号"), Column("company", "企业名称"), Column("listing_id", "房源编号"),
    Column("owner", "业主"), Column("score", "总分", "number", 4),
    *(Column(f"{c}_score", _CRITERION_ZH.get(c, f"{c}得分"), "number", 4) for c in CRITERIA),
    Column("distance_km", "距离(km)", "number", 3), Column("allocated_area_m2", "分配面积(㎡)", "number", 2),
    Column("rent", "租金(元/㎡/月)", "number", 2), Column("sale_price", "售价(元/㎡)", "number", 2),
    Column("reasons_zh", "理由", wrap=True), Column("reasons_en", "理由(英文)", wrap=True),
)
RECOMMENDATIONS: tuple[Column, ...] = (
    Column("demand_id", "需求编号"), Column("rank", "名次", "number"), Column("listing_id", "房源编号"),
    Column("score", "总分", "number", 4), Column("distance_km", "距离(km)", "number", 3),
    Column("reasons_zh", "理由", wrap=True), Column("reasons_en", "理由(英文)", wrap=True),
)
UNMATCHED: tuple[Column, ...] = (
    Column("side", "类别"), Column("id", "编号"), Column("reason_zh", "原因", wrap=True),
    Column("reason_en", "原因(英文)", wrap=True),
)
REJECTS: tuple[Column, ...] = (
    Column("file", "文件"), Column("row", "行号", "number"), Column("id", "编号"), Column("field", "字段"),
    Column("value", "值", wrap=True), Column("severity", "级别"), Column("reason_zh", "原因", wrap=True),
    Column("reason_en", "原因(英文)", wrap=True),
)
PAIRS_COLUMNS = [c.name for c in PAIRS]
RECOMMENDATION_COLUMNS = [c.name for c in RECOMMENDATIONS]
UNMATCHED_COLUMNS = [c.name for c in UNMATCHED]

SHEETS_ZH = {"pairs": "配对结果", "recommendations": "推荐", "unmatched": "未匹配", "rejects": "问题行"}

FIELD_ZH: dict[str, str] = {
    "listing_id": "房源编号", "demand_id": "需求编号", "owner": "业主", "company": "企业名称", "contact": "联系方式",
    "deal": "租售类型", "town": "镇街", "towns": "意向镇街", "address": "地址", "lat": "纬度", "lon": "经度",
    "loc_approx_km": "位置精度", "park": "园区", "micro_park": "小微园", "area": "面积", "area_m2": "面积",
    "area_min_m2": "最小面积", "area_max_m2": "最大面积", "min_unit_m2": "最小分割面积", "rent": "租金",
    "sale_price": "售价", "negotiable": "面议", "floor": "楼层", "clear_height_m": "层高",
    "floor_load_kg_m2": "承重", "power_kva": "配电", "crane_t": "行车", "fire_class": "火灾危险性",
    "eia_ok": "可环评", "industries_allowed": "准入行业", "industries_banned": "禁入行业",
    "tenant_industries": "现有行业", "title_certificate": "产权证", "available_from": "可入驻日期",
    "min_lease_months": "最短租期", "min_tax_per_mu": "亩均税收要求", "min_rating": "亩均评价要求",
    "origin": "现址", "origin_lat": "现址纬度", "origin_lon": "现址经度", "anchor": "配套企业",
    "anchor_lat": "配套企业纬度", "anchor_lon": "配套企业经度", "max_distance_km": "最远距离",
    "max_rent": "租金预算", "max_sale_price": "购买预算", "industry_code": "行业代码",
    "min_clear_height_m": "层高要求", "min_floor_load_kg_m2": "承重要求", "min_power_kva": "用电需求",
    "ground_floor": "需一楼", "needs_eia": "需环评", "needs_certificate": "需产权证", "move_in_by": "入驻时间",
    "lease_months": "租期", "tax_per_mu": "亩均税收", "rating": "亩均评价", "srdi": "专精特新",
}
"""Chinese names of the canonical fields, for what people read (the workbook)."""

_VALUES_ZH: dict[str, Mapping[str, str]] = {  # the workbook's Chinese for columns that hold words
    "side": {"demand": "需求", "listing": "房源"},
    "severity": {"error": "错误", "warning": "警告", "info": "提示"},
    "field": FIELD_ZH,
}


def column(columns: Sequence[Column], name: str) -> int:
    """Position of the column called ``name``; KeyError naming it when there is none."""
    for k, c in enumerate(columns):
        if c.name == name:
            return k
    raise KeyError(f"no column {name!r}")


def has_words(columns: Sequence[Column]) -> bool:
    """Whether any of ``columns`` holds words the workbook shows in Chinese
    (:func:`workbook_row` changes nothing otherwise)."""
    return any(c.name in _VALUES_ZH for c in columns)


def workbook_row(columns: Sequence[Column], row: Sequence[Any]) -> list[Any]:
    """A row as the workbook shows it: Chinese values in the columns that hold words
    (``side``, ``severity``, ``field``); everything else as it is."""
    return [_VALUES_ZH[c.name].get(v, v) if c.name in _VALUES_ZH and isinstance(v, str) else v
            for c, v in zip(columns, row)]


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
        Candidate pairs (those the allocation chose from, :attr:`MatchResult.histogram`)
        and chosen pairs per bin.
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
    best : list of dict
        The five best pairs (:func:`best_pairs`), for the command's summary.
    """

    out: Path
    summary: dict[str, Any]
    result: Any
    listings: Any
    demands: Any
    files: dict[str, Path] = field(default_factory=dict)
    best: list[dict[str, Any]] = field(default_factory=list)


def _first(sentences: list[str], sep: str, n: int = 2) -> str:
    return sep.join(sentences[:n])


def _round(x: Any, digits: int) -> float | None:
    """A number rounded for a table, None for unknown."""
    if x is None:
        return None
    v = float(x)
    return round(v, digits) if math.isfinite(v) else None  # (math's test: numpy's costs a ufunc call per cell)


def _distance(e: scoring.Explanation) -> Any:
    return next((c.inputs.get("distance_km") for c in e.criteria if c.name == "location"), None)


def best_pairs(result: Any, listings: Any, demands: Any, n: int = 5) -> list[dict[str, Any]]:
    """The ``n`` best-scoring pairs, ties by demand id then listing id, with their first
    two reasons."""
    r = result
    score = np.nan_to_num(np.asarray(r.score, dtype=np.float64), nan=-np.inf)
    ids_d = np.asarray(demands.demand_id)[r.demand]
    ids_l = np.asarray(listings.listing_id)[r.listing]
    order = np.lexsort((ids_l, ids_d, -score))[:n] if len(r) else np.zeros(0, dtype=np.int64)
    es = r.scorer.explain_many(r.demand[order], r.listing[order]) if order.size else []
    es = [amend(e, demands, int(r.demand[k])) for k, e in zip(order.tolist(), es)]
    return [{"demand_id": str(ids_d[k]), "company": str(demands.company[r.demand[k]]), "listing_id": str(ids_l[k]),
             "score": round(float(r.score[k]), 4), "reasons_zh": _first(e.sentences("zh"), "；"),
             "reasons_en": _first(e.sentences("en"), "; ")} for k, e in zip(order.tolist(), es)]


CHUNK_DEMANDS = 512
"""Demands whose rows are built (and explained) together."""


def _edges(n: int, chunk: int) -> list[int]:
    """Chunk boundaries over ``n`` demands, growing from ``chunk // 8`` to ``chunk``: the
    workbook's process starts on rows at once and never waits long for the next ones."""
    edges = [0]
    size = max(chunk // 8, 1)
    while edges[-1] < n:
        edges.append(min(edges[-1] + size, n))
        size = min(2 * size, chunk)
    return edges


class _Rows:
    """What every row of a run's tables reads: ids, names, prices as lists, and how a
    summary's sentences are amended by the demand's own record."""

    def __init__(self, sc: Any, listings: Any, demands: Any) -> None:
        L, D = listings, demands
        self.sc, self.D = sc, D
        self.d_id, self.company = [str(x) for x in D.demand_id], [str(x) for x in D.company]
        self.l_id, self.owner = [str(x) for x in L.listing_id], [str(x) for x in L.owner]
        self.rent, self.sale = L.rent.tolist(), L.sale_price.tolist()
        self.amended = getattr(sc, "demands", None) is D  # the scorer amends summaries by its own records
        self.order = np.argsort(np.asarray(D.demand_id), kind="stable")

    def said(self, sm: Any, i: int) -> tuple[str, str]:
        return (sm.zh, sm.en) if self.amended else amend_summary(sm.zh, sm.en, self.D, i)

    def recommended(self, tk: Any, dem: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Demands ``dem``'s first ``k`` partners: (counts, demand rows, listing rows)."""
        counts = np.minimum(tk.count[dem], k)
        ri = np.repeat(dem, counts)
        rj = np.concatenate([tk.index[i, :c] for i, c in zip(dem.tolist(), counts.tolist())]) if ri.size \
            else np.zeros(0, dtype=np.int64)
        return counts, ri, rj

    def recommendations(self, tk: Any, dem: np.ndarray, counts: np.ndarray, rsum: list[Any]) -> list[list[Any]]:
        """The rows of ``recommendations.csv`` of demands ``dem`` (their summaries ``rsum``)."""
        recs = []
        pos = 0
        for i, c in zip(dem.tolist(), counts.tolist()):
            for rank in range(1, c + 1):
                sm = rsum[pos]
                pos += 1
                j = int(tk.index[i, rank - 1])
                recs.append([self.d_id[i], rank, self.l_id[j], _round(tk.scores[i, rank - 1], 4),
                             _round(sm.distance_km, 3), *self.said(sm, i)])
        return recs


def pair_and_recommendation_rows(result: Any, listings: Any, demands: Any, top_k: int,
                                 chunk: int = CHUNK_DEMANDS) -> Iterator[tuple[list[list[Any]], list[list[Any]]]]:
    """The rows of ``pairs.csv`` and ``recommendations.csv``, a chunk of demands at a time.

    Demands come in id order; a chunk's pairs (at most one per demand, so in demand id
    order) and its demands' top ``top_k`` recommendations are explained together
    (:meth:`scoring.Scorer.summarize_many`, many demands per block). A locked pair that
    fails a hard rule is explained by the rules it fails. With ``top_k=0`` only the
    pairs (the recommendations written apart, :func:`recommendation_rows`).

    Yields
    ------
    pairs : list of rows (columns :data:`PAIRS`)
    recommendations : list of rows (columns :data:`RECOMMENDATIONS`)
    """
    r, D = result, demands
    sc = r.scorer
    rows = _Rows(sc, listings, demands)
    at = np.full(len(D), -1, dtype=np.int64)
    at[r.demand] = np.arange(len(r))
    tk = r.for_demand
    k = min(top_k, tk.index.shape[1])
    n_l = max(len(rows.l_id), 1)
    for a, z in itertools.pairwise(_edges(len(D), chunk)):
        dem = rows.order[a:z]
        pk = at[dem][at[dem] >= 0]
        pi, pj = r.demand[pk], r.listing[pk]
        feasible = np.isfinite(np.asarray(r.score, dtype=np.float64)[pk])
        counts, ri, rj = rows.recommended(tk, dem, k)
        ok = np.flatnonzero(feasible)
        bad = np.flatnonzero(~feasible)
        # what each row shows: criterion scores, distance, reasons (a locked pair that
        # fails a rule: the rules it fails)
        shown: list[tuple[dict[str, float], Any, str, str]] = [({}, None, "", "")] * len(pk)
        # a demand's pair is mostly among its recommendations: each pair summarized once
        si, sj = np.concatenate([pi[ok], ri]), np.concatenate([pj[ok], rj])
        distinct, first, inverse = np.unique(si * n_l + sj, return_index=True, return_inverse=True)
        once = sc.summarize_many(si[first], sj[first]) if distinct.size else []
        summaries = [once[x] for x in inverse.reshape(-1).tolist()]
        if ok.size:
            for q, sm in zip(ok.tolist(), summaries[:ok.size]):
                shown[q] = (sm.scores, sm.distance_km, *rows.said(sm, int(pi[q])))
        if bad.size:
            for q, e in zip(bad.tolist(), sc.explain_many(pi[bad], pj[bad], rules=True)):
                e = amend(e, D, int(pi[q]))
                shown[q] = ({c.name: c.score for c in e.criteria}, _distance(e), e.summary("zh"), e.summary("en"))
        pairs = []
        for (kk, i, j), (crit, dist, zh, en) in zip(zip(pk.tolist(), pi.tolist(), pj.tolist()), shown):
            pairs.append([rows.d_id[i], rows.company[i], rows.l_id[j], rows.owner[j],
                          _round(r.score[kk], 4), *(_round(crit.get(c), 4) for c in CRITERIA),
                          _round(dist, 3), _round(r.area[kk], 2), _round(rows.rent[j], 2), _round(rows.sale[j], 2),
                          zh, en])
        yield pairs, rows.recommendations(tk, dem, counts, summaries[ok.size:])


def recommendation_rows(scorer: Any, for_demand: Any, listings: Any, demands: Any, top_k: int,
                        chunk: int = CHUNK_DEMANDS) -> Iterator[list[list[Any]]]:
    """The rows of ``recommendations.csv`` alone, a chunk of demands at a time: the same
    rows :func:`pair_and_recommendation_rows` yields, from the rankings only (known
    before the allocation, so they can be written while it runs).

    Parameters
    ----------
    scorer : scoring.Scorer
    for_demand : scoring.TopK
        Each demand's recommendations (:attr:`matcher.MatchResult.for_demand`).
    listings, demands : records
    top_k : int

    Yields
    ------
    list of rows (columns :data:`RECOMMENDATIONS`)
    """
    rows = _Rows(scorer, listings, demands)
    k = min(top_k, for_demand.index.shape[1])
    for a, z in itertools.pairwise(_edges(len(demands), chunk)):
        dem = rows.order[a:z]
        counts, ri, rj = rows.recommended(for_demand, dem, k)
        yield rows.recommendations(for_demand, dem, counts, scorer.summarize_many(ri, rj) if ri.size else [])


def unmatched_rows(result: Any) -> list[list[Any]]:
    """The rows of ``unmatched.csv``: demands then listings, each in id order."""
    items = sorted(result.unmatched, key=lambda u: (u.side != "demand", str(u.id)))
    return [[u.side, str(u.id), u.reason_zh, u.reason_en] for u in items]


def reject_problems(lres: Any, dres: Any) -> list[Any]:
    """Both ingestion reports, with file names instead of paths (outputs stay the same
    wherever the inputs lie)."""
    return [p._replace(file=Path(p.file).name) for p in (*lres.report, *dres.report)]


def reject_rows(lres: Any, dres: Any) -> list[list[Any]]:
    """The rows of ``rejects.csv`` (the columns of ``changfang validate``)."""
    return [[getattr(p, c.name) for c in REJECTS] for p in reject_problems(lres, dres)]


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


def _by_rank(index: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """``index`` (int64, (n,)) reordered by the records' id ranks (``rank``, (n_side,))."""
    return index[np.argsort(rank[index], kind="stable")]


def _most_common(counts: Any, n: int) -> list[tuple[Any, int]]:
    """The ``n`` largest counts, ties by key: unlike ``Counter.most_common``, not by the
    order the keys were first seen in."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def report_data(run: RunOutput, pairs: list[list[Any]], n_pairs: int, title: str = "") -> ReportData:
    """What ``report.html`` shows of a run (see :class:`ReportData`).

    Parameters
    ----------
    run : RunOutput
    pairs : list of rows (columns :data:`PAIRS`)
        The first rows of ``pairs.csv``, the ones the report lists.
    n_pairs : int
        Rows of ``pairs.csv``.
    title : str
    """
    from collections import Counter


    res, s = run.result, run.summary
    sc = res.scorer
    d, l = sc.demand_side, sc.listing_side
    # every list below is in an order the rows' order cannot change: records by id rank,
    # counts by count then key (a Counter's ties would keep the order rows came in)
    problems = [p for p in reject_problems(run.listings, run.demands) if p.severity == "error"]
    common = _most_common(Counter((p.field, p.reason_zh, p.reason_en) for p in problems), 10)
    kinds = Counter((u.side, u.kind) for u in res.unmatched)
    rules: Counter[tuple[str, str]] = Counter()
    for u in res.unmatched:
        for rule, _ in u.rules[:3]:
            rules[(u.side, rule)] += 1
    g = sc.towns
    dlat, dlon = _demand_sites(d, l, res.demand, res.listing)
    located_l = _by_rank(np.flatnonzero(np.isfinite(l.lat)), sc.id_ranks("listing"))
    located_d = _by_rank(np.flatnonzero(np.isfinite(dlat)), sc.id_ranks("demand"))
    town_order = sorted(range(len(g.names)), key=lambda t: (str(g.kinds[t]), str(g.names[t])))
    in_l, in_d = np.zeros(l.n, dtype=bool), np.zeros(d.n, dtype=bool)
    in_l[np.asarray(res.listing, dtype=np.int64)] = True
    in_d[np.asarray(res.demand, dtype=np.int64)] = True
    bins = np.linspace(0.0, 1.0, len(res.histogram) + 1)
    feasible = res.histogram
    chosen = np.histogram(np.asarray(res.score)[np.isfinite(res.score)], bins=bins)[0]
    names = [c.name for c in PAIRS]
    return ReportData(
        title=title, version=str(s["version"]), method=str(s["method"]), objective=float(s["objective"]),
        gap=float(s["gap"]), reservation=float(sc.profile.reservation), counts=dict(s["counts"]),
        pairs=[dict(zip(names, row)) for row in pairs], n_pairs=n_pairs,
        unmatched_kinds=[(sd, k, n) for (sd, k), n in sorted(kinds.items())],
        unmatched_rules=[(sd, r, n) for (sd, r), n in _most_common(rules, 10)],
        rejects=[(f, z, e, n) for (f, z, e), n in common],
        towns=[MapPoint(str(g.names[t]), float(g.lat[t]), float(g.lon[t]), str(g.names[t]), str(g.kinds[t]))
               for t in town_order],
        listings=[MapPoint(str(l.ids[j]), float(l.lat[j]), float(l.lon[j]), kind=_MATCHED[bool(in_l[j])])
                  for j in located_l.tolist()],
        demands=[MapPoint(str(d.ids[i]), float(dlat[i]), float(dlon[i]), kind=_MATCHED[bool(in_d[i])])
                 for i in located_d.tolist()],
        lines=[(str(d.ids[i]), str(l.ids[j]), float(sc_)) for i, j, sc_ in zip(res.demand, res.listing, res.score)
               if np.isfinite(dlat[i]) and np.isfinite(l.lat[j])],
        bins=bins.tolist(), feasible_hist=feasible.astype(int).tolist(), chosen_hist=chosen.astype(int).tolist(),
    )
