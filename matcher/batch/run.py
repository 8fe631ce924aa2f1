"""A batch matching run: files in, the tables staff send out, a summary and a report.

:func:`run_match` reads the listings and demands (any format :mod:`matcher.io.ingest`
reads), scores and allocates them (:func:`matcher.match`), and writes to one folder:

============================  ======================================================
``pairs.csv``                 the allocation, one row per pair (``PAIRS_COLUMNS``)
``recommendations.csv``       the k best listings of every demand (``RECOMMENDATION_COLUMNS``)
``unmatched.csv``             every record left without a partner, and why
``rejects.csv``               the ingestion report of both files (as ``changfang validate``)
``run.json``                  version, input hashes, profile, method, counts, objective,
                              solver limits, timings
``result.xlsx``               the four tables, one sheet each, Chinese headers and values
``report.html``               a self-contained page to look at (:mod:`matcher.batch.report`)
============================  ======================================================

All or nothing: the files are written into a new folder beside the output folder and
swapped in only when every one is complete (:mod:`matcher.batch.outdir`); a run that
fails (a full disk, Ctrl-C, running out of memory) leaves the previous outputs as they
were. Rows are written as they are produced, a chunk of demands at a time, to the CSV
files and the workbook together (:mod:`matcher.batch.results`). The workbook is written
by a second process; when nothing is refused or signed the recommendations are known
before the allocation (ranked in the first pass), and that process writes them, to
``recommendations.csv`` and their sheet, while this one allocates: the solver runs on
one core, the writing takes the other.

CSV files are UTF-8 with a byte-order mark (Excel on Chinese Windows opens them
right); text that would read as a formula is escaped (:mod:`matcher.io.export`). The
result tables, the workbook and the report are byte-identical between two runs on the
same inputs: rows are in id order, numbers have fixed decimals, the solvers run under
work limits rather than time limits, and nothing in them depends on time, load or the
machine (only ``run.json``'s timings do).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from matcher.batch.outdir import outputs_only, staged_folder
from matcher.batch.results import (
    PAIRS,
    PAIRS_COLUMNS,
    RECOMMENDATION_COLUMNS,
    RECOMMENDATIONS,
    REJECTS,
    SHEETS_ZH,
    UNMATCHED,
    UNMATCHED_COLUMNS,
    RunOutput,
    best_pairs,
    has_words,
    pair_and_recommendation_rows,
    recommendation_rows,
    reject_rows,
    report_data,
    unmatched_rows,
    workbook_row,
)
from matcher.errors import InputFileError, OutOfMemory, PairConflictError, UnknownIdError, out_of_memory
from matcher.io.export import BackgroundWorkbook, Column, SheetStream, csv_formatter, csv_text, sheet_parts

__all__ = ["OUTPUT_FILES", "PAIRS_COLUMNS", "RECOMMENDATION_COLUMNS", "UNMATCHED_COLUMNS", "RunOutput", "run_match"]

OUTPUT_FILES = ("pairs.csv", "recommendations.csv", "unmatched.csv", "rejects.csv", "run.json", "result.xlsx",
                "report.html")
"""The files a run writes; an output folder may hold these and nothing else."""

REPORT_ROWS = 2000
"""Pairs listed in ``report.html`` (the CSV and the workbook have them all)."""


def sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


Progress = Callable[[str], None]


class _Table:
    """One table written as it is produced: a CSV file and a workbook sheet together
    (a sheet of the workbook's process, or one that process fills itself)."""

    def __init__(self, folder: Path, name: str, columns: Sequence[Column], sheet: Any) -> None:
        self.columns = list(columns)
        self.formats = [csv_formatter(c) for c in self.columns]
        self.path = folder / f"{name}.csv"
        self.fh: TextIO = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in close()
        self.csv = csv.writer(self.fh, lineterminator="\n")
        self.csv.writerow([csv_text(c.name) for c in self.columns])
        self.sheet = sheet
        self.worded = has_words(self.columns)
        self.n = 0

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        # the workbook's process first: it is the slower of the two
        self.sheet.add_rows([workbook_row(self.columns, r) for r in rows] if self.worded else rows)
        self.csv.writerows([f(v) for f, v in zip(self.formats, r)] for r in rows)
        self.n += len(rows)

    def close(self) -> None:
        self.fh.close()
        self.sheet.close()


def run_match(listings: str | os.PathLike[str], demands: str | os.PathLike[str], out: str | os.PathLike[str],
              profile: str | os.PathLike[str] | None = None, method: str = "auto", top_k: int = 5,
              lock: str | os.PathLike[str] | None = None, exclude: str | os.PathLike[str] | None = None,
              sheet: str | None = None, progress: Progress | None = None, report: bool = True,
              sample_label: str | None = None, per_party: str | os.PathLike[str] | None = None,
              listings_sheet: str | None = None, demands_sheet: str | None = None,
              dask: str | None = None, feedback: str | os.PathLike[str] | None = None,
              before_publish: Callable[[], None] | None = None) -> RunOutput:
    """Run ingestion, scoring and allocation on two files and write every output.

    Parameters
    ----------
    listings, demands : path-like
        The input files.
    out : path-like
        Output folder: created if missing; an existing one may only hold earlier
        outputs (:data:`OUTPUT_FILES`), which are replaced as a whole.
    profile : path-like, optional
        A TOML scoring profile; default the bundled one.
    method : {"auto", "one_to_one", "divisible", "stable"}
        See :func:`matcher.match`; ``run.json`` records the method used.
    top_k : int
        Recommendations per demand (>= 0).
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
    sample_label : str, optional
        Shown under the report's heading.
    per_party : path-like, optional
        Also write one workbook per landlord and one per firm into this folder
        (:mod:`matcher.batch.parties`), replaced as a whole like the outputs (inside the
        output folder or elsewhere).
    feedback : path-like, optional
        A feedback file (``demand_id``, ``listing_id``, ``action``, as the service's
        ``GET /v1/feedback`` lists it): signed pairs are locked, refused ones excluded
        (:func:`matcher.io.pairs.read_feedback_file`), on top of ``lock`` and
        ``exclude``.
    dask : str, optional
        Score the market on a Dask cluster (the ``[distributed]`` extra): the address
        of its scheduler, or ``"local"`` for a ``LocalCluster`` on this machine. The
        outputs are the same as without; ``run.json`` records the cluster.
    before_publish : callable, optional
        Called when every output is written, just before they replace the earlier ones
        (and before the per-party folder's swap, when it lies outside ``out``): the
        command stops taking Ctrl-C there, so that "the earlier outputs are untouched"
        stays true of every interrupt it reports.

    Returns
    -------
    RunOutput

    Raises
    ------
    InputFileError, ProfileError
        An input cannot be read, or a lock or exclusion is wrong.
    matcher.batch.outdir.OutputFolderError
        The output folder holds files that are not earlier outputs.
    OSError
        An output cannot be written (the earlier outputs are left as they were).
    matcher.errors.OutOfMemory
        A stage ran out of memory (with an estimate of what it needs).
    """
    import scoring
    from matcher import __version__
    from matcher.io.ingest import read_demands, read_listings
    from matcher.io.pairs import read_feedback_file, read_pairs_file
    from matcher.match import match

    out_dir = Path(out)
    party_dir = Path(per_party) if per_party is not None else None
    inside = _party_folder(out_dir, party_dir)  # refused before any work is done
    say = progress or (lambda stage: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    say("reading")
    prof = scoring.load_profile(profile)
    lres = read_listings(listings, sheet=_sheet(listings, listings_sheet or sheet))
    dres = read_demands(demands, sheet=_sheet(demands, demands_sheet or sheet))
    locks = read_pairs_file(lock) if lock else []
    excl = read_pairs_file(exclude) if exclude else []
    if feedback:
        signed, refused = read_feedback_file(feedback)
        locks += [p for p in signed if p not in set(locks)]
        excl += [p for p in refused if p not in set(excl)]
    seconds["read"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("scoring and allocating")
    n_d, n_l = len(dres.records.demand_id), len(lres.records.listing_id)
    folders = (inside.parts[0],) if inside is not None else ()
    with contextlib.ExitStack() as stack:
        stage = stack.enter_context(staged_folder(out_dir, outputs_only(OUTPUT_FILES, folders), before_publish))
        early: list[tuple[BackgroundWorkbook, dict[str, Any]]] = []

        def write_recommendations(sc: Any, for_demand: Any, for_listing: Any) -> None:
            # known before the allocation: the workbook's process writes them (CSV and
            # sheet) while this one allocates, on the core the solver leaves idle
            if not BackgroundWorkbook.takes_jobs():
                return
            job = _recommendations_job(stage, sc, for_demand, lres.records, dres.records, top_k)
            book = stack.enter_context(BackgroundWorkbook(stage / "result.xlsx", constant_memory=True, job=job))
            sheets = _sheets(book)
            book.run_job(sheets.pop("recommendations"))
            early.append((book, sheets))

        try:
            with _cluster(dask) as client:
                result = _match(match, dres.records, lres.records, prof, method, top_k, locks, excl, lock, exclude,
                                client, feedback, write_recommendations)
        except Exception as exc:
            if not out_of_memory(exc):
                raise
            from matcher.match import memory_needed

            raise OutOfMemory("scoring and allocating", memory_needed(n_d, n_l, method=method)) from None
        seconds["score_and_allocate"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        say("writing")
        inputs = {"listings": _input(listings), "demands": _input(demands)}
        if profile:
            inputs["profile"] = _input(profile)
        if lock:
            inputs["lock"] = _input(lock)
        if exclude:
            inputs["exclude"] = _input(exclude)
        if feedback:
            inputs["feedback"] = _input(feedback)
        n_ud = sum(u.side == "demand" for u in result.unmatched)
        summary: dict[str, Any] = {
            "version": __version__,
            "inputs": inputs,
            "profile": prof.to_dict(),
            "method": result.method,
            "method_requested": method,
            "limits": result.limits,
            "top_k": min(top_k, n_l),  # what recommendations.csv holds at most per demand
            "top_k_requested": top_k,
            "counts": {
                "listings_read": lres.report.n_rows, "listings_rejected": lres.report.n_rejected,
                "listings_merged": lres.report.n_merged,
                "demands_read": dres.report.n_rows, "demands_rejected": dres.report.n_rejected,
                "demands_merged": dres.report.n_merged,
                "feasible_pairs": result.feasible_pairs, "matched": len(result),
                "locked": int(result.locked.sum()), "unmatched_demands": n_ud,
                "unmatched_listings": len(result.unmatched) - n_ud,
            },
            "objective": round(float(result.objective), 6),
            "gap": round(float(result.gap), 6),
        }
        if result.locked_infeasible:
            summary["locked_infeasible"] = [{"demand_id": d, "listing_id": l_, "rules": rules}
                                            for d, l_, rules in result.locked_infeasible]
        if dask:
            summary["dask"] = dask
        output = RunOutput(out_dir, summary, result, lres, dres)
        files: dict[str, Path] = {}
        if early:
            book, sheets = early[0]
        else:
            book = stack.enter_context(BackgroundWorkbook(stage / "result.xlsx", constant_memory=True))
            sheets = _sheets(book)
        first_pairs, rows = _write_tables(stage, result, lres, dres, top_k, book, sheets)
        n_pairs = rows["pairs"]
        split = {SHEETS_ZH[name]: sheet_parts(n) for name, n in rows.items() if sheet_parts(n) > 1}
        if split:  # a table longer than Excel's sheet: continued on "title (2)" ...
            summary["workbook_split"] = split
        files.update({n: out_dir / f"{n}.csv" for n in ("pairs", "recommendations", "unmatched", "rejects")})
        files["xlsx"] = out_dir / "result.xlsx"
        if report:
            from matcher.batch.report import write_report_html  # deferred: the report is optional

            say("report")
            write_report_html(stage / "report.html", report_data(output, first_pairs, n_pairs, sample_label or ""))
            files["report"] = out_dir / "report.html"
        output.best = best_pairs(result, lres.records, dres.records)
        book.close()  # the workbook, finished meanwhile by its own process
        if party_dir is not None:
            say("per-party workbooks")
            if inside is not None:
                (stage / inside).mkdir(parents=True)
                summary["per_party"] = {"folder": str(party_dir), **_parties(stage / inside, result, lres, dres, top_k)}
            else:
                with staged_folder(party_dir, outputs_only((), (), suffixes=(".xlsx",)), before_publish) as pstage:
                    summary["per_party"] = {"folder": str(party_dir), **_parties(pstage, result, lres, dres, top_k)}
            files["per_party"] = party_dir
        seconds["write"] = time.perf_counter() - t0
        summary["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
        summary["seconds"]["score_and_allocate_parts"] = dict(result.seconds)
        (stage / "run.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        files["run"] = out_dir / "run.json"
    output.files = files
    return output


@contextlib.contextmanager
def _cluster(address: str | None) -> Iterator[Any]:
    """A Dask client for ``address`` (``"local"``: a ``LocalCluster`` of two worker
    processes, closed afterwards), or None."""
    if not address:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputFileError("--dask", "needs the [distributed] extra: "
                             "pip install '.[distributed]' in changfang's folder") from None
    if address == "local":
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
                Client(cluster) as client:
            yield client
        return
    with Client(address) as client:
        yield client


def _match(match: Callable[..., Any], demands: Any, listings: Any, prof: Any, method: str, top_k: int,
           locks: list[tuple[str, str]], excl: list[tuple[str, str]], lock: Any, exclude: Any,
           client: Any = None, feedback: Any = None, on_rankings: Any = None) -> Any:
    """``match`` with a bad lock or exclusion reported against the file it came from."""
    try:
        return match(demands, listings, prof, method=method, top_k=top_k, locks=locks, exclude=excl, client=client,
                     on_rankings=on_rankings)
    except (UnknownIdError, PairConflictError) as exc:
        named = lock if exc.where == "locks" else exclude
        source = " / ".join(str(x) for x in (named, feedback) if x)  # where the pair may have come from
        raise InputFileError(source, str(exc), exc.reason_zh) from None


def _sheet(path: str | os.PathLike[str], sheet: str | None) -> str | None:
    """The sheet to read: only workbooks have sheets."""
    return sheet if str(path).lower().endswith((".xlsx", ".xlsm")) else None


def _input(path: str | os.PathLike[str]) -> dict[str, str]:
    return {"path": str(path), "sha256": sha256(path)}


def _inside(child: Path | None, parent: Path) -> Path | None:
    """``child`` relative to ``parent`` when it lies inside it (not the folder itself)."""
    if child is None:
        return None
    try:
        rel = child.resolve().relative_to(parent.resolve())
    except ValueError:
        return None
    return rel if rel.parts else None


def _party_folder(out_dir: Path, party_dir: Path | None) -> Path | None:
    """Where the per-party folder lies in the output folder (its name there), or None
    when it lies elsewhere; refuses the places where one would replace the other.

    Raises
    ------
    InputFileError
        ``party_dir`` is the output folder itself (however spelt: relative, with ``..``,
        through a link), contains it, lies deeper than directly inside it, or takes the
        name of one of :data:`OUTPUT_FILES`.
    """
    if party_dir is None:
        return None
    out_r, party_r = out_dir.resolve(), party_dir.resolve()
    problem: tuple[str, str] | None = None
    if out_r == party_r:
        problem = ("is the output folder itself; give it a folder of its own (for example OUT/parties)",
                   "与输出文件夹相同；请另给一个文件夹（如 输出文件夹/parties）")
    elif party_r in out_r.parents:
        problem = ("contains the output folder; give it a folder of its own (for example OUT/parties)",
                   "包含了输出文件夹；请另给一个文件夹（如 输出文件夹/parties）")
    inside = _inside(party_dir, out_dir)
    if inside is not None and len(inside.parts) > 1:
        problem = ("lies inside the output folder but not directly in it",
                   "在输出文件夹内，但不是它的直接子文件夹")
    elif inside is not None and inside.parts[0] in OUTPUT_FILES:
        problem = (f"takes the name of an output file ({inside.parts[0]})",
                   f"与输出文件同名（{inside.parts[0]}）")
    if problem is not None:
        raise InputFileError(f"--per-party {party_dir}", problem[0], "分方文件夹" + problem[1])
    return inside


def _parties(folder: Path, result: Any, lres: Any, dres: Any, top_k: int) -> dict[str, int]:
    from matcher.batch.parties import write_party_workbooks

    return write_party_workbooks(folder, result, lres.records, dres.records, top_k)


def _sheets(book: BackgroundWorkbook) -> dict[str, Any]:
    """The workbook's four sheets, added at once in the order of the tables (whichever
    table's rows come first; a table longer than a sheet continues after them)."""
    return {name: book.sheet(SHEETS_ZH[name], columns, reserve=True)
            for name, columns in (("pairs", PAIRS), ("recommendations", RECOMMENDATIONS), ("unmatched", UNMATCHED),
                                  ("rejects", REJECTS))}


def _write_tables(folder: Path, result: Any, lres: Any, dres: Any, top_k: int, book: BackgroundWorkbook,
                  sheets: dict[str, Any]) -> tuple[list[list[Any]], dict[str, int]]:
    """Every table, as CSV and in ``book`` (``result.xlsx``, its ``sheets``), rows
    streamed; returns the first :data:`REPORT_ROWS` pairs (for the report) and the rows
    of each table. The workbook is told every sheet is written
    (:meth:`BackgroundWorkbook.stop`): its process finishes the file while this one goes
    on. Without a ``"recommendations"`` sheet they are the workbook process's job,
    written already or being written (:func:`_recommendations_job`)."""
    L, D = lres.records, dres.records
    first: list[list[Any]] = []
    early = "recommendations" not in sheets
    pairs = _Table(folder, "pairs", PAIRS, sheets["pairs"])
    recs = None if early else _Table(folder, "recommendations", RECOMMENDATIONS, sheets["recommendations"])
    try:
        for p_rows, r_rows in pair_and_recommendation_rows(result, L, D, 0 if early else top_k):
            pairs.add(p_rows)
            if recs is not None:
                recs.add(r_rows)
            if len(first) < REPORT_ROWS:
                first.extend(p_rows[:REPORT_ROWS - len(first)])
    finally:
        pairs.close()
        if recs is not None:
            recs.close()
    k = min(top_k, result.for_demand.index.shape[1])
    counts = {"pairs": pairs.n,
              "recommendations": recs.n if recs is not None else int(np.minimum(result.for_demand.count, k).sum())}
    for name, columns, rows in (("unmatched", UNMATCHED, unmatched_rows(result)),
                                ("rejects", REJECTS, reject_rows(lres, dres))):
        table = _Table(folder, name, columns, sheets[name])
        try:
            table.add(rows)
        finally:
            table.close()
        counts[name] = table.n
    book.stop()
    return first, counts


def _recommendations_job(folder: Path, sc: Any, for_demand: Any, listings: Any, demands: Any,
                         top_k: int) -> Callable[[SheetStream], None]:
    """What the workbook's process does with the recommendations known before the
    allocation: their rows (summaries made there), to ``recommendations.csv`` and to the
    sheet it is given, while this process allocates."""

    def job(sheet: SheetStream) -> None:
        table = _Table(folder, "recommendations", RECOMMENDATIONS, sheet)
        try:
            for rows in recommendation_rows(sc, for_demand, listings, demands, top_k):
                table.add(rows)
        finally:
            table.close()

    return job
