"""A batch matching run: files in, the tables staff send out, a summary and a report.

:func:`run_match` reads the listings and demands (any format :mod:`matcher.io.ingest`
reads), scores and allocates them (:func:`matcher.match`), and writes to one folder:

============================  ======================================================
``pairs.csv``                 the allocation, one row per pair (``PAIRS_COLUMNS``)
``recommendations.csv``       the k best listings of every demand (``RECOMMENDATION_COLUMNS``)
``unmatched.csv``             every record left without a partner, and why
``rejects.csv``               the ingestion report of both files (as ``changfang validate``)
``run.json``                  version, input hashes, profile, method, counts, objective, timings
``result.xlsx``               the four tables, one sheet each, Chinese headers
``report.html``               a self-contained page to look at (:mod:`matcher.batch.report`)
============================  ======================================================

CSV files are UTF-8 with a byte-order mark (Excel on Chinese Windows opens them
right). Every file is written under a temporary name and renamed when complete. The
three result tables are byte-identical between two runs on the same inputs: rows are
in id order, numbers have fixed decimals, and nothing in them depends on time or
on the machine.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PAIRS_COLUMNS", "RECOMMENDATION_COLUMNS", "UNMATCHED_COLUMNS", "RunOutput", "read_pairs_file",
           "run_match"]

CRITERIA = ("area", "location", "price", "industry", "facilities", "timing")

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
    rows : dict of str to list
        The rows of each table written (``pairs``, ``recommendations``, ...).
    """

    out: Path
    summary: dict[str, Any]
    result: Any
    listings: Any
    demands: Any
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, list[list[Any]]] = field(default_factory=dict)

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


def sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_pairs_file(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Read a lock or exclusion file: a table with ``demand_id`` and ``listing_id`` columns.

    Any format the record readers take (CSV in UTF-8 or GB18030, XLSX, JSON). Blank rows
    are skipped.

    Raises
    ------
    matcher.errors.InputFileError
        Unreadable, or without the two columns.
    """
    from matcher.errors import InputFileError
    from matcher.io.tables import load_table

    table = load_table(path)
    heads = [h.strip().lower() for h in table.headers]
    if "demand_id" not in heads or "listing_id" not in heads:
        raise InputFileError(str(path), "needs the columns demand_id and listing_id")
    di, li = heads.index("demand_id"), heads.index("listing_id")
    out = []
    for _, cells in table.rows:
        d, l = _text(cells[di]).strip(), _text(cells[li]).strip()
        if d or l:
            if not (d and l):
                raise InputFileError(str(path), "a row has only one of demand_id and listing_id")
            out.append((d, l))
    return out


Progress = Callable[[str], None]


def run_match(listings: str | os.PathLike[str], demands: str | os.PathLike[str], out: str | os.PathLike[str],
              profile: str | os.PathLike[str] | None = None, method: str = "one_to_one", top_k: int = 5,
              lock: str | os.PathLike[str] | None = None, exclude: str | os.PathLike[str] | None = None,
              sheet: str | None = None, progress: Progress | None = None, report: bool = True,
              sample_label: str | None = None, listings_sheet: str | None = None,
              demands_sheet: str | None = None) -> RunOutput:
    """Run ingestion, scoring and allocation on two files and write every output.

    Parameters
    ----------
    listings, demands : path-like
        The input files.
    out : path-like
        Output folder (created if missing).
    profile : path-like, optional
        A TOML scoring profile; default the bundled one.
    method : {"one_to_one", "divisible", "stable"}
    top_k : int
        Recommendations per demand.
    lock, exclude : path-like, optional
        CSV files of (demand_id, listing_id) pairs signed, or refused.
    sheet : str, optional
        Worksheet to read from XLSX inputs (both).
    listings_sheet, demands_sheet : str, optional
        Worksheet of each XLSX input; default ``sheet``.
    progress : callable, optional
        Called with the name of each stage as it starts.
    report : bool
        Also write ``report.html``.

    Returns
    -------
    RunOutput
    """
    import scoring
    from matcher import __version__
    from matcher.io.ingest import read_demands, read_listings
    from matcher.match import match

    say = progress or (lambda stage: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    say("reading")
    prof = scoring.load_profile(profile)
    lres = read_listings(listings, sheet=_sheet(listings, listings_sheet or sheet))
    dres = read_demands(demands, sheet=_sheet(demands, demands_sheet or sheet))
    locks = read_pairs_file(lock) if lock else []
    excl = read_pairs_file(exclude) if exclude else []
    seconds["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("scoring and allocating")
    result = _match(match, dres.records, lres.records, prof, method, top_k, locks, excl, lock, exclude)
    seconds["score_and_allocate"] = time.perf_counter() - t0

    out_dir = Path(out)
    t0 = time.perf_counter()
    say("writing")
    files, rows = _write_tables(out_dir, result, lres, dres, top_k)
    feasible = int(np.count_nonzero(result.scores.feasible))
    inputs = {"listings": _input(listings), "demands": _input(demands)}
    if profile:
        inputs["profile"] = _input(profile)
    if lock:
        inputs["lock"] = _input(lock)
    if exclude:
        inputs["exclude"] = _input(exclude)
    n_ud = sum(u.side == "demand" for u in result.unmatched)
    summary: dict[str, Any] = {
        "version": __version__,
        "inputs": inputs,
        "profile": prof.to_dict(),
        "method": method,
        "top_k": top_k,
        "counts": {
            "listings_read": lres.report.n_rows, "listings_rejected": lres.report.n_rejected,
            "listings_merged": lres.report.n_merged,
            "demands_read": dres.report.n_rows, "demands_rejected": dres.report.n_rejected,
            "demands_merged": dres.report.n_merged,
            "feasible_pairs": feasible, "matched": len(result), "locked": int(result.locked.sum()),
            "unmatched_demands": n_ud, "unmatched_listings": len(result.unmatched) - n_ud,
        },
        "objective": round(float(result.objective), 6),
        "gap": round(float(result.gap), 6),
    }
    output = RunOutput(out_dir, summary, result, lres, dres, files, rows)
    if report:
        from matcher.batch.report import write_report_html

        say("report")
        files["report"] = write_report_html(out_dir / "report.html", output, title=sample_label)
    seconds["write"] = time.perf_counter() - t0
    summary["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
    from matcher.io.export import atomic_path

    with atomic_path(out_dir / "run.json") as tmp:
        tmp.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    files["run"] = out_dir / "run.json"
    return output


def _match(match: Callable[..., Any], demands: Any, listings: Any, prof: Any, method: str, top_k: int,
           locks: list[tuple[str, str]], excl: list[tuple[str, str]], lock: Any, exclude: Any) -> Any:
    """``match`` with an unknown id in a lock or exclusion file reported against that file."""
    from matcher.errors import InputFileError

    try:
        return match(demands, listings, prof, method=method, top_k=top_k, locks=locks, exclude=excl)
    except KeyError as exc:
        msg = str(exc.args[0]) if exc.args else str(exc)
        source = lock if "locked" in msg else exclude
        raise InputFileError(str(source), msg) from None
    except ValueError as exc:
        if "locked twice" in str(exc):
            raise InputFileError(str(lock), str(exc)) from None
        raise


def _sheet(path: str | os.PathLike[str], sheet: str | None) -> str | None:
    """The sheet to read: only workbooks have sheets."""
    return sheet if str(path).lower().endswith((".xlsx", ".xlsm")) else None


def _input(path: str | os.PathLike[str]) -> dict[str, str]:
    return {"path": str(path), "sha256": sha256(path)}


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
    from matcher.written import explain_row

    tk = result.for_demand
    res = result.scores
    rows = []
    for i in np.argsort(demands.demand_id, kind="stable").tolist():
        n = min(int(tk.count[i]), k)
        if n == 0:
            continue
        js = tk.index[i, :n]
        for rank, (j, e) in enumerate(zip(js.tolist(), explain_row(res.scorer, i, js)), start=1):  # one block
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
    return [p._replace(file=Path(p.file).name) for p in (*lres.report, *dres.report)]


def _write_tables(out: Path, result: Any, lres: Any, dres: Any, top_k: int
                  ) -> tuple[dict[str, Path], dict[str, list[list[Any]]]]:
    from matcher.io.export import write_table, write_workbook
    from matcher.io.ingest import REPORT_COLUMNS

    out.mkdir(parents=True, exist_ok=True)
    L, D = lres.records, dres.records
    tables: list[tuple[str, Sequence[str], list[list[Any]]]] = [
        ("pairs", PAIRS_COLUMNS, pair_rows(result, L, D)),
        ("recommendations", RECOMMENDATION_COLUMNS, recommendation_rows(result, L, D, top_k)),
        ("unmatched", UNMATCHED_COLUMNS, unmatched_rows(result)),
        ("rejects", REPORT_COLUMNS, [[getattr(p, c) for c in REPORT_COLUMNS] for p in reject_problems(lres, dres)]),
    ]
    files = {}
    for name, headers, rows in tables:
        files[name] = write_table(out / f"{name}.csv", headers, rows)
    files["xlsx"] = write_workbook(out / "result.xlsx", [
        (SHEETS_ZH[name], [HEADERS_ZH.get(h, h) for h in headers], [_typed(headers, r) for r in rows])
        for name, headers, rows in tables])
    return files, {name: rows for name, _, rows in tables}


NUMERIC = frozenset({"score", *(f"{c}_score" for c in CRITERIA), "distance_km", "allocated_area_m2", "rent",
                     "sale_price", "rank", "row"})


def _typed(headers: Sequence[str], row: Iterable[Any]) -> list[Any]:
    """Numbers as numbers in the workbook (so Excel sorts and sums them), the rest as text."""
    out: list[Any] = []
    for h, v in zip(headers, row):
        if h in NUMERIC and v not in ("", None):
            f = float(v)
            out.append(int(f) if f.is_integer() else f)
        else:
            out.append(v)
    return out
