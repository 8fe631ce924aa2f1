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
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from matcher.batch.results import (
    HEADERS_ZH,
    PAIRS_COLUMNS,
    RECOMMENDATION_COLUMNS,
    SHEETS_ZH,
    UNMATCHED_COLUMNS,
    RunOutput,
    Table,
    pair_rows,
    recommendation_rows,
    reject_problems,
    report_data,
    typed_row,
    unmatched_rows,
)
from matcher.errors import InputFileError, PairConflictError, UnknownIdError

__all__ = ["PAIRS_COLUMNS", "RECOMMENDATION_COLUMNS", "UNMATCHED_COLUMNS", "RunOutput", "run_match"]


def sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


Progress = Callable[[str], None]


def run_match(listings: str | os.PathLike[str], demands: str | os.PathLike[str], out: str | os.PathLike[str],
              profile: str | os.PathLike[str] | None = None, method: str = "one_to_one", top_k: int = 5,
              lock: str | os.PathLike[str] | None = None, exclude: str | os.PathLike[str] | None = None,
              sheet: str | None = None, progress: Progress | None = None, report: bool = True,
              sample_label: str | None = None) -> RunOutput:
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
        Worksheet to read from XLSX inputs.
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
    from matcher.io.pairs import read_pairs_file
    from matcher.match import match

    say = progress or (lambda stage: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    say("reading")
    prof = scoring.load_profile(profile)
    lres = read_listings(listings, sheet=sheet if str(listings).lower().endswith(".xlsx") else None)
    dres = read_demands(demands, sheet=sheet if str(demands).lower().endswith(".xlsx") else None)
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
    files, tables = _write_tables(out_dir, result, lres, dres, top_k)
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
            "demands_read": dres.report.n_rows, "demands_rejected": dres.report.n_rejected,
            "feasible_pairs": feasible, "matched": len(result), "locked": int(result.locked.sum()),
            "unmatched_demands": n_ud, "unmatched_listings": len(result.unmatched) - n_ud,
        },
        "objective": round(float(result.objective), 6),
        "gap": round(float(result.gap), 6),
    }
    output = RunOutput(out_dir, summary, result, lres, dres, files, tables)
    if report:
        from matcher.batch.report import write_report_html  # deferred: the report is optional

        say("report")
        files["report"] = write_report_html(out_dir / "report.html", report_data(output, title=sample_label or ""))
    seconds["write"] = time.perf_counter() - t0
    summary["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
    from matcher.io.export import atomic_path

    with atomic_path(out_dir / "run.json") as tmp:
        tmp.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    files["run"] = out_dir / "run.json"
    return output


def _match(match: Callable[..., Any], demands: Any, listings: Any, prof: Any, method: str, top_k: int,
           locks: list[tuple[str, str]], excl: list[tuple[str, str]], lock: Any, exclude: Any) -> Any:
    """``match`` with a bad lock or exclusion reported against the file it came from."""
    try:
        return match(demands, listings, prof, method=method, top_k=top_k, locks=locks, exclude=excl)
    except (UnknownIdError, PairConflictError) as exc:
        source = lock if exc.where == "locks" else exclude
        raise InputFileError(str(source), str(exc)) from None


def _input(path: str | os.PathLike[str]) -> dict[str, str]:
    return {"path": str(path), "sha256": sha256(path)}


def _write_tables(out: Path, result: Any, lres: Any, dres: Any, top_k: int
                  ) -> tuple[dict[str, Path], dict[str, Table]]:
    from matcher.io.export import write_table, write_workbook
    from matcher.io.ingest import REPORT_COLUMNS

    out.mkdir(parents=True, exist_ok=True)
    L, D = lres.records, dres.records
    tables = [
        Table("pairs", tuple(PAIRS_COLUMNS), pair_rows(result, L, D)),
        Table("recommendations", tuple(RECOMMENDATION_COLUMNS), recommendation_rows(result, L, D, top_k)),
        Table("unmatched", tuple(UNMATCHED_COLUMNS), unmatched_rows(result)),
        Table("rejects", tuple(REPORT_COLUMNS),
              [[getattr(p, c) for c in REPORT_COLUMNS] for p in reject_problems(lres, dres)]),
    ]
    files = {t.name: write_table(out / f"{t.name}.csv", t.columns, t.rows) for t in tables}
    files["xlsx"] = write_workbook(out / "result.xlsx", [
        (SHEETS_ZH[t.name], [HEADERS_ZH.get(h, h) for h in t.columns], [typed_row(t.columns, r) for r in t.rows])
        for t in tables])
    return files, {t.name: t for t in tables}
