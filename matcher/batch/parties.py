"""Workbooks to forward: one per landlord and one per firm (``changfang match --per-party DIR``).

Staff send each party what concerns it, and nothing about anyone else's other deals:

* ``业主_<owner>.xlsx`` -- a landlord's listings (sheet 房源) and, for each, the firms
  proposed (sheet 推荐企业): the firm it was allocated to in this run (标注 已分配) and
  the listing's best-scoring firms, with each firm's contact, the score and the reasons;
* ``企业_<company>.xlsx`` -- a firm's wanted area and places (sheet 需求) and the plants
  proposed (sheet 推荐厂房): the allocated one and its best listings, with each
  landlord's contact.

A party is the owner (or company) as written; a record without one is its own party,
named by its id. File names keep the name's characters except those no file system
takes (``\\ / : * ? " < > |`` and control characters); two names that would give the
same file name are told apart by a short hash of the name. Contacts appear only here,
in files staff choose to write.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from matcher.io.export import Column, WorkbookWriter
from matcher.written import amend

__all__ = ["FIRM_PROPOSALS", "LANDLORD_PROPOSALS", "party_file_name", "write_party_workbooks"]

LANDLORD_LISTINGS: tuple[Column, ...] = (
    Column("listing_id", "房源编号"), Column("town", "镇街"), Column("address", "地址", wrap=True),
    Column("park", "园区"), Column("area_m2", "面积(㎡)", "number", 2),
    Column("min_unit_m2", "最小单元(㎡)", "number", 2),
    Column("rent", "租金(元/㎡/月)", "number", 2), Column("sale_price", "售价(元/㎡)", "number", 2),
)
LANDLORD_PROPOSALS: tuple[Column, ...] = (
    Column("listing_id", "房源编号"), Column("status", "状态"), Column("rank", "名次", "number"),
    Column("demand_id", "需求编号"), Column("company", "企业名称"), Column("contact", "联系方式"),
    Column("score", "总分", "number", 4), Column("allocated_area_m2", "分配面积(㎡)", "number", 2),
    Column("reasons_zh", "理由", wrap=True),
)
FIRM_NEEDS: tuple[Column, ...] = (
    Column("demand_id", "需求编号"), Column("area_min_m2", "最小面积(㎡)", "number", 2),
    Column("area_max_m2", "最大面积(㎡)", "number", 2), Column("towns", "意向镇街"),
    Column("max_rent", "租金预算(元/㎡/月)", "number", 2), Column("max_sale_price", "购买预算(元/㎡)", "number", 2),
)
FIRM_PROPOSALS: tuple[Column, ...] = (
    Column("demand_id", "需求编号"), Column("status", "状态"), Column("rank", "名次", "number"),
    Column("listing_id", "房源编号"), Column("owner", "业主"), Column("contact", "业主联系方式"),
    Column("town", "镇街"), Column("address", "地址", wrap=True), Column("score", "总分", "number", 4),
    Column("allocated_area_m2", "分配面积(㎡)", "number", 2), Column("rent", "租金(元/㎡/月)", "number", 2),
    Column("sale_price", "售价(元/㎡)", "number", 2), Column("reasons_zh", "理由", wrap=True),
)

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_ALLOCATED, _RECOMMENDED = "已分配", "推荐"


def party_file_name(prefix: str, name: str, fallback: str) -> str:
    """A file name for a party: ``{prefix}_{name}.xlsx`` with the characters no file
    system takes removed (the record id when nothing is left), at most 60 characters
    of name.

    >>> party_file_name("业主", "慈溪市/长河 塑料厂", "L1")
    '业主_慈溪市长河 塑料厂.xlsx'
    >>> party_file_name("企业", " .. ", "D7")
    '企业_D7.xlsx'
    """
    clean = _UNSAFE.sub("", name).strip().strip(".").strip()[:60]
    return f"{prefix}_{clean or _UNSAFE.sub('', fallback) or 'unnamed'}.xlsx"


def _num(x: Any) -> float | None:
    v = float(x)
    return None if not np.isfinite(v) else v


def _round4(x: Any) -> float | None:
    v = _num(x)
    return None if v is None else round(v, 4)


def _groups(names: np.ndarray, ids: np.ndarray, prefix: str) -> dict[str, list[int]]:
    """Rows of each party, by file name; names clashing on one file name are told apart."""
    by_name: dict[str, list[int]] = defaultdict(list)
    for k, (n, i) in enumerate(zip(names.tolist(), ids.tolist())):
        by_name[str(n).strip() or f"\0{i}"].append(k)
    files: dict[str, list[str]] = defaultdict(list)
    for name in by_name:
        files[party_file_name(prefix, name.lstrip("\0"), name.lstrip("\0"))].append(name)
    out: dict[str, list[int]] = {}
    for fname, names_ in files.items():
        for name in sorted(names_):
            key = fname
            if len(names_) > 1:
                tag = hashlib.sha256(name.encode("utf-8")).hexdigest()[:6]
                key = fname.removesuffix(".xlsx") + f"_{tag}.xlsx"
            out[key] = sorted(by_name[name], key=lambda k: str(ids[k]))
    return out


def _write(path: Path, sheets: Sequence[tuple[str, Sequence[Column], list[list[Any]]]]) -> None:
    with WorkbookWriter(path) as wb:
        for title, columns, rows in sheets:
            wb.write_sheet(title, columns, rows)


def write_party_workbooks(folder: Path, result: Any, listings: Any, demands: Any, top_k: int) -> dict[str, int]:
    """Write one workbook per landlord and one per firm into ``folder``.

    Parameters
    ----------
    folder : pathlib.Path
        An existing, empty folder.
    result : matcher.MatchResult
    listings, demands : matcher.Listings, matcher.Demands
    top_k : int
        Best partners listed beside the allocated one.

    Returns
    -------
    dict
        ``{"landlords": n, "firms": m}``: workbooks written.
    """

    r, L, D = result, listings, demands
    sc = r.scorer
    towns = sc.towns.names
    k_l, k_d = min(top_k, r.for_listing.index.shape[1]), min(top_k, r.for_demand.index.shape[1])
    got_d = {int(i): (int(j), float(a), float(s)) for i, j, a, s in zip(r.demand, r.listing, r.area, r.score)}
    got_l: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    for i, (j, a, s) in got_d.items():
        got_l[j].append((i, a, s))
    # every pair shown anywhere, explained once; its score is known from where it is shown
    # (a recommendation is feasible; a locked pair may not be: NaN)
    known: dict[tuple[int, int], float] = {(i, j): s for i, (j, _, s) in got_d.items()}
    for j in range(len(L)):
        n = min(k_l, int(r.for_listing.count[j]))
        for i, s in zip(r.for_listing.index[j, :n].tolist(), r.for_listing.scores[j, :n].tolist()):
            known.setdefault((int(i), j), s)
    for i in range(len(D)):
        n = min(k_d, int(r.for_demand.count[i]))
        for j, s in zip(r.for_demand.index[i, :n].tolist(), r.for_demand.scores[i, :n].tolist()):
            known.setdefault((i, int(j)), s)
    pairs = sorted(known)
    rows_ = np.array([p[0] for p in pairs], dtype=np.int64)
    cols_ = np.array([p[1] for p in pairs], dtype=np.int64)
    feasible = np.isfinite(np.array([known[p] for p in pairs], dtype=np.float64))
    reasons: dict[tuple[int, int], str] = {}
    for mask, rules in ((feasible, False), (~feasible, True)):
        idx = np.flatnonzero(mask)
        if idx.size:
            for q, e in zip(idx.tolist(), sc.explain_many(rows_[idx], cols_[idx], rules=rules,
                                                          known_feasible=not rules)):
                reasons[pairs[q]] = amend(e, D, pairs[q][0]).summary("zh")

    def town(j: int) -> str:
        t = int(L.town[j])
        return str(towns[t]) if t >= 0 else ""

    n_l = 0
    for fname, js in _groups(np.asarray(L.owner), np.asarray(L.listing_id), "业主").items():
        own = [[str(L.listing_id[j]), town(j), str(L.address[j]), str(L.park[j]), _num(L.area_m2[j]),
                _num(L.min_unit_m2[j]), _num(L.rent[j]), _num(L.sale_price[j])] for j in js]
        props: list[list[Any]] = []
        for j in js:
            for i, a, s in sorted(got_l.get(j, []), key=lambda t: str(D.demand_id[t[0]])):
                props.append([str(L.listing_id[j]), _ALLOCATED, None, str(D.demand_id[i]), str(D.company[i]),
                              str(D.contact[i]), _round4(s), a, reasons[(i, j)]])
            for n, i in enumerate(r.for_listing.index[j, :min(k_l, int(r.for_listing.count[j]))].tolist(), 1):
                props.append([str(L.listing_id[j]), _RECOMMENDED, n, str(D.demand_id[i]), str(D.company[i]),
                              str(D.contact[i]), _round4(r.for_listing.scores[j, n - 1]), None, reasons[(i, j)]])
        _write(folder / fname, [("房源", LANDLORD_LISTINGS, own), ("推荐企业", LANDLORD_PROPOSALS, props)])
        n_l += 1
    n_d = 0
    for fname, is_ in _groups(np.asarray(D.company), np.asarray(D.demand_id), "企业").items():
        wants = [[str(D.demand_id[i]), _num(D.area_min_m2[i]), _num(D.area_max_m2[i]),
                  "、".join(D.town_names(i)), _num(D.max_rent[i]), _num(D.max_sale_price[i])] for i in is_]
        props = []
        for i in is_:
            options: list[tuple[str, int | None, int, float, float | None]] = []
            if i in got_d:
                jj, aa, ss = got_d[i]
                options.append((_ALLOCATED, None, jj, ss, aa))
            for n, jj in enumerate(r.for_demand.index[i, :min(k_d, int(r.for_demand.count[i]))].tolist(), 1):
                options.append((_RECOMMENDED, n, jj, float(r.for_demand.scores[i, n - 1]), None))
            for status, rank, j, score, area in options:
                props.append([str(D.demand_id[i]), status, rank, str(L.listing_id[j]), str(L.owner[j]),
                              str(L.contact[j]), town(j), str(L.address[j]), _round4(score), area,
                              _num(L.rent[j]), _num(L.sale_price[j]), reasons[(i, j)]])
        _write(folder / fname, [("需求", FIRM_NEEDS, wants), ("推荐厂房", FIRM_PROPOSALS, props)])
        n_d += 1
    return {"landlords": n_l, "firms": n_d}
