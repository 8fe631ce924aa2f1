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

__all__ = ["HEADERS_ZH", "PAIRS_COLUMNS", "RECOMMENDATION_COLUMNS", "SHEETS_ZH", "UNMATCHED_COLUMNS", "RunOutput",
           "Table", "pair_rows", "recommendation_rows", "reject_problems", "typed_row", "unmatched_rows"]

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
