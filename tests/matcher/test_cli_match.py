"""``changfang match`` and ``demo`` as subprocesses: every output read back and checked
against the library's own result; errors, reproducibility, atomic writes, the report."""

import csv
import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pytest

import scoring
from matcher import generate_market, match, read_demands, read_listings
from matcher.io.export import write_records
from matcher.records import DEMAND_FIELDS, LISTING_FIELDS
from tests.matcher.test_cli import CMD, SAMPLE, run

LISTINGS, DEMANDS = SAMPLE / "listings.csv", SAMPLE / "demands.xlsx"
TABLES = ("pairs", "recommendations", "unmatched")


def read_csv(path):
    raw = Path(path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path} has no UTF-8 byte-order mark"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    p = run("match", LISTINGS, DEMANDS, "--out", out, "--quiet", "--top-k", 3)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""  # --quiet: no progress
    return out, p


@pytest.fixture(scope="module")
def library():
    lres, dres = read_listings(LISTINGS), read_demands(DEMANDS)
    return lres, dres, match(dres.records, lres.records, top_k=3)


def test_pairs_csv_is_the_library_result(sample_run, library):
    out, _ = sample_run
    lres, dres, r = library
    L, D = lres.records, dres.records
    rows = read_csv(out / "pairs.csv")
    assert list(rows[0]) == ["demand_id", "company", "listing_id", "owner", "score", "area_score",
                             "location_score", "price_score", "industry_score", "facilities_score", "timing_score",
                             "distance_km", "allocated_area_m2", "rent", "sale_price", "reasons_zh", "reasons_en"]
    want = {(D.demand_id[i], L.listing_id[j]): k for k, (i, j) in enumerate(zip(r.demand, r.listing))}
    assert {(x["demand_id"], x["listing_id"]) for x in rows} == set(want)
    assert [x["demand_id"] for x in rows] == sorted(x["demand_id"] for x in rows)
    for x in rows:
        k = want[x["demand_id"], x["listing_id"]]
        i, j = r.demand[k], r.listing[k]
        assert float(x["score"]) == pytest.approx(r.score[k], abs=5.001e-5)
        assert x["company"] == D.company[i] and x["owner"] == (L.owner[j] or "")
        e = r.explain(k)
        for c in e.criteria:
            assert float(x[f"{c.name}_score"]) == pytest.approx(c.score, abs=5.001e-5)
        # the weighted criteria add up to the score written
        w = scoring.default_profile()["weights"]
        total = sum(w[c] * float(x[f"{c}_score"]) for c in w) / sum(w.values())
        assert total == pytest.approx(float(x["score"]), abs=5e-4)
        assert float(x["allocated_area_m2"]) == pytest.approx(r.area[k], abs=0.005)  # two decimals
        assert (x["rent"] == "") == math.isnan(L.rent[j])
        assert x["reasons_zh"] == e.summary("zh") and x["reasons_en"] == e.summary("en")
        dist = next(c.inputs.get("distance_km") for c in e.criteria if c.name == "location")
        assert x["distance_km"] == "" if dist is None else float(x["distance_km"]) == pytest.approx(dist, abs=5e-4)


def test_distances_agree_with_geopy(sample_run, library):
    from geopy.distance import great_circle

    out, _ = sample_run
    lres, dres, _ = library
    L = lres.records
    sc = scoring.Scorer(dres.records, L)
    row_of = {d: i for i, d in enumerate(dres.records.demand_id)}
    col_of = {x: j for j, x in enumerate(L.listing_id)}
    for x in read_csv(out / "pairs.csv"):
        i, j = row_of[x["demand_id"]], col_of[x["listing_id"]]
        d, l = sc.demand_side, sc.listing_side
        pts = range(d.point_offsets[i], d.point_offsets[i + 1])
        if not pts:  # no wanted town, site or anchor: no distance
            assert x["distance_km"] == ""
            continue
        nearest = min(great_circle((d.point_lat[p], d.point_lon[p]), (l.lat[j], l.lon[j])).km
                      for p in pts)
        # a listing inside a wanted town counts 0 km (scoring docs); otherwise the geodesic
        assert float(x["distance_km"]) == pytest.approx(nearest, abs=2e-3) or float(x["distance_km"]) == 0


def test_recommendations_and_unmatched(sample_run, library):
    out, _ = sample_run
    lres, dres, r = library
    D, L = dres.records, lres.records
    rows = read_csv(out / "recommendations.csv")
    assert list(rows[0]) == ["demand_id", "rank", "listing_id", "score", "distance_km", "reasons_zh", "reasons_en"]
    feasible = r.scores.feasible
    by = {}
    for x in rows:
        by.setdefault(x["demand_id"], []).append(x)
    for i, d in enumerate(D.demand_id):
        got = by.get(d, [])
        # K per demand, every feasible one when fewer
        assert len(got) == min(3, int(feasible[i].sum())), d
        assert [int(x["rank"]) for x in got] == list(range(1, len(got) + 1))
        scores = [float(x["score"]) for x in got]
        assert scores == sorted(scores, reverse=True)
        tk = r.for_demand
        assert [x["listing_id"] for x in got] == [L.listing_id[j] for j in tk.index[i, :len(got)]]
    un = read_csv(out / "unmatched.csv")
    assert list(un[0]) == ["side", "id", "reason_zh", "reason_en"]
    assert {(x["side"], x["id"]) for x in un} == {(u.side, u.id) for u in r.unmatched}
    # every record is either paired or unmatched, never both, never missing
    paired = {("demand", D.demand_id[i]) for i in r.demand} | {("listing", L.listing_id[j]) for j in r.listing}
    every = {("demand", x) for x in D.demand_id} | {("listing", x) for x in L.listing_id}
    assert paired | {(x["side"], x["id"]) for x in un} == every
    assert not paired & {(x["side"], x["id"]) for x in un}
    assert all(x["reason_zh"] and x["reason_en"] for x in un)


def test_rejects_csv_is_the_validate_report(sample_run, tmp_path):
    out, _ = sample_run
    rows = read_csv(out / "rejects.csv")
    want = []
    for side, f in (("listings", LISTINGS), ("demands", DEMANDS)):
        p = run("validate", side, f, "--out", tmp_path / side)
        assert p.returncode == 0
        want += read_csv(tmp_path / side / "rejects.csv")
    assert list(rows[0]) == list(want[0])
    strip = [{**x, "file": Path(x["file"]).name} for x in want]
    assert rows == strip


def test_run_json(sample_run, library):
    out, _ = sample_run
    _lres, _dres, r = library
    s = json.loads((out / "run.json").read_text(encoding="utf-8"))
    import hashlib

    import matcher

    assert s["version"] == matcher.__version__
    assert s["inputs"]["listings"]["sha256"] == hashlib.sha256(LISTINGS.read_bytes()).hexdigest()
    assert s["inputs"]["demands"]["sha256"] == hashlib.sha256(DEMANDS.read_bytes()).hexdigest()
    assert s["profile"] == scoring.default_profile().to_dict()
    # the sample has divisible plants: "auto" shares them in whole units, deterministically
    assert (s["method_requested"], s["method"]) == ("auto", "divisible") == ("auto", r.method)
    assert s["limits"]["solver"] == "milp" and s["limits"]["node_limit"] > 0 and "time_limit" not in s["limits"]
    c = s["counts"]
    assert (c["listings_read"], c["listings_rejected"], c["listings_merged"]) == (44, 6, 0)
    assert (c["demands_read"], c["demands_rejected"], c["demands_merged"]) == (64, 3, 1)
    assert c["feasible_pairs"] == int(r.scores.feasible.sum())
    assert c["matched"] == len(r)
    assert c["unmatched_demands"] + c["unmatched_listings"] == len(r.unmatched)
    assert s["objective"] == pytest.approx(r.objective, abs=1e-5)
    assert set(s["seconds"]) == {"read", "score_and_allocate", "write", "score_and_allocate_parts"}
    parts = s["seconds"]["score_and_allocate_parts"]
    assert set(parts) == {"scoring", "allocation", "reasons", "recommendations"}
    assert all(v >= 0 for v in parts.values())
    assert sum(parts.values()) <= s["seconds"]["score_and_allocate"] + 0.01


IN_CHINESE = {"side": {"demand": "需求", "listing": "房源"},
              "severity": {"error": "错误", "warning": "警告", "info": "提示"},
              "field": {"area_m2": "面积", "deal": "租售类型", "rent": "租金", "town": "镇街", "area": "面积"}}
FIELD_NAMES = {f.name for f in (*LISTING_FIELDS, *DEMAND_FIELDS)} | {"area"}


def test_result_xlsx_has_every_table_with_chinese_headers(sample_run):
    out, _ = sample_run
    wb = openpyxl.load_workbook(out / "result.xlsx")
    assert wb.sheetnames == ["配对结果", "推荐", "未匹配", "问题行"]
    for sheet, name in zip(wb.sheetnames, ("pairs", "recommendations", "unmatched", "rejects")):
        ws = wb[sheet]
        assert ws.freeze_panes == "A2"
        values = list(ws.iter_rows(values_only=True))
        header, body = values[0], values[1:]
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in header), header
        rows = read_csv(out / f"{name}.csv")
        assert len(body) == len(rows)
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(header)).column_letter}{max(len(body), 1) + 1}"
        for cells, x in zip(body, rows):  # the same values, numbers as numbers, words in Chinese
            for cell, (col, v) in zip(cells, x.items()):
                if isinstance(cell, (int, float)):
                    assert cell == pytest.approx(float(v))
                elif col == "field" and v in FIELD_NAMES:  # a canonical field: named in Chinese
                    assert cell != v and any("\u4e00" <= ch <= "\u9fff" for ch in cell), (v, cell)
                elif col in IN_CHINESE:
                    assert cell == IN_CHINESE[col].get(v, v) and cell not in ("demand", "listing", "error", "warning")
                else:
                    assert (cell or "") == (v[1:] if v[:2] in ("'=", "'+", "'-", "'@") else v)
        widths = [ws.column_dimensions[c].width for c in "ABCD"]
        assert all(w and w >= 6 for w in widths)
    pairs = wb["配对结果"]
    assert pairs["A1"].value == "需求编号" and pairs["E1"].value == "总分"
    reasons_col = next(c for c in pairs[1] if c.value == "理由").column_letter
    assert pairs.column_dimensions[reasons_col].width > 30  # long reasons get a wide column


def test_two_runs_are_byte_identical_whatever_the_row_order(sample_run, tmp_path):
    out, _ = sample_run
    p = run("match", LISTINGS, DEMANDS, "--out", tmp_path / "again", "--quiet", "--top-k", 3)
    assert p.returncode == 0
    for t in TABLES:
        assert (out / f"{t}.csv").read_bytes() == (tmp_path / "again" / f"{t}.csv").read_bytes(), t
    for f in ("result.xlsx", "report.html"):  # the workbook and the page too: no clock in them
        assert (out / f).read_bytes() == (tmp_path / "again" / f).read_bytes(), f
    # the same records in another order, in another format
    lres, dres = read_listings(LISTINGS), read_demands(DEMANDS)
    rng = np.random.default_rng(5)
    write_records(lres.records.take(rng.permutation(len(lres.records))), tmp_path / "l.csv")
    write_records(dres.records.take(rng.permutation(len(dres.records))), tmp_path / "d.jsonl")
    p = run("match", tmp_path / "l.csv", tmp_path / "d.jsonl", "--out", tmp_path / "shuffled", "--quiet",
            "--top-k", 3)
    assert p.returncode == 0, p.stderr
    for t in TABLES:
        assert (out / f"{t}.csv").read_bytes() == (tmp_path / "shuffled" / f"{t}.csv").read_bytes(), t


def test_summary_progress_and_json(tmp_path):
    p = run("match", LISTINGS, DEMANDS, "--out", tmp_path / "a")
    assert p.returncode == 0
    assert "scoring" in p.stderr  # progress on stderr
    assert "pairs made" in p.stdout and "best pairs:" in p.stdout
    q = run("match", LISTINGS, DEMANDS, "--out", tmp_path / "b", "--json", "--quiet")
    assert q.returncode == 0 and q.stderr == ""
    s = json.loads(q.stdout)
    on_disk = json.loads((tmp_path / "b" / "run.json").read_text(encoding="utf-8"))
    assert s["counts"] == on_disk["counts"] and s["objective"] == on_disk["objective"]
    best = s["best_pairs"]
    assert len(best) == 5 and [b["score"] for b in best] == sorted((b["score"] for b in best), reverse=True)
    pairs = read_csv(tmp_path / "b" / "pairs.csv")
    assert best[0]["score"] == pytest.approx(max(float(x["score"]) for x in pairs), abs=1e-4)


@pytest.mark.parametrize("method", ["one_to_one", "divisible", "stable"])
def test_generated_market_every_method(tmp_path, method):
    m = generate_market(120, 150, seed=8)
    write_records(m.listings, tmp_path / "listings.xlsx")
    write_records(m.demands, tmp_path / "demands.csv")
    p = run("match", tmp_path / "listings.xlsx", tmp_path / "demands.csv", "--out", tmp_path / "out",
            "--method", method, "--json", "--quiet")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    r = match(m.demands, m.listings, method=method)
    assert s["counts"]["matched"] == len(r) and s["method"] == method
    assert s["objective"] == pytest.approx(r.objective, abs=1e-5)
    rows = read_csv(tmp_path / "out" / "pairs.csv")
    got = {(x["demand_id"], x["listing_id"]): float(x["allocated_area_m2"]) for x in rows}
    want = {(m.demands.demand_id[i], m.listings.listing_id[j]): a for i, j, a in zip(r.demand, r.listing, r.area)}
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(want[k]) for k in got)
    # no listing gives out more than its area
    area = dict(zip(m.listings.listing_id, m.listings.area_m2))
    used = {}
    for (_, lid), a in got.items():
        used[lid] = used.get(lid, 0) + a
    assert all(used[lid] <= area[lid] + 1e-6 for lid in used)


def test_locks_and_exclusions(tmp_path, library):
    lres, dres, r = library
    D, L = dres.records, lres.records
    refused = [(D.demand_id[i], L.listing_id[j]) for i, j in zip(r.demand[:3], r.listing[:3])]
    # sign a pair the optimum did not choose: a feasible one off the allocation
    chosen = set(zip(r.demand.tolist(), r.listing.tolist()))
    i, j = next((i, j) for i, j in zip(*np.nonzero(r.scores.feasible)) if (i, j) not in chosen
                and i not in r.demand[:3])
    (tmp_path / "lock.csv").write_text(f"demand_id,listing_id\n{D.demand_id[i]},{L.listing_id[j]}\n",
                                       encoding="utf-8")
    (tmp_path / "ex.csv").write_text("demand_id,listing_id\n" + "".join(f"{a},{b}\n" for a, b in refused),
                                     encoding="utf-8-sig")
    p = run("match", LISTINGS, DEMANDS, "--out", tmp_path / "out", "--lock", tmp_path / "lock.csv",
            "--exclude", tmp_path / "ex.csv", "--quiet", "--json")
    assert p.returncode == 0, p.stderr
    got = {(x["demand_id"], x["listing_id"]) for x in read_csv(tmp_path / "out" / "pairs.csv")}
    assert (D.demand_id[i], L.listing_id[j]) in got
    assert not got & set(refused)
    s = json.loads(p.stdout)
    assert s["counts"]["locked"] == 1 and "lock" in s["inputs"] and "exclude" in s["inputs"]


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["match", "{L}", "{D}", "--out", "{tmp}", "--bogus"], 2, "unrecognized arguments"),
    (["match", "{L}", "--out", "{tmp}"], 2, "required"),
    (["match", "/no/such.csv", "{D}", "--out", "{tmp}"], 2, "file not found"),
    (["match", "{L}", "{garbage}", "--out", "{tmp}"], 2, "garbage.xlsx"),
    (["match", "{L}", "{D}", "--out", "{tmp}", "--profile", "{badprofile}"], 2, "weights.area"),
    (["match", "{L}", "{D}", "--out", "{tmp}", "--profile", "/no/such.toml"], 2, "such.toml"),
    (["match", "{L}", "{D}", "--out", "{file}"], 3, "cannot create output folder"),
    (["match", "{L}", "{D}", "--out", "{tmp}", "--lock", "{badlock}"], 2, "unknown"),
    (["match", "{L}", "{D}", "--out", "{tmp}", "--exclude", "{nocols}"], 2, "demand_id and listing_id"),
    (["match", "{L}", "{D}", "--out", "{tmp}", "--top-k", "-1"], 2, "--top-k"),
    (["match", "{L}", "{D}", "--out", "{tmp}", "--method", "greedy"], 2, "invalid choice"),
])
def test_errors_are_one_line_and_a_documented_exit_code(tmp_path, args, code, needle):
    (tmp_path / "garbage.xlsx").write_bytes(b"not a workbook")
    (tmp_path / "bad.toml").write_text("[weights]\narea = -1\n", encoding="utf-8")
    (tmp_path / "badlock.csv").write_text("demand_id,listing_id\nNOBODY,CX-L001\n", encoding="utf-8")
    (tmp_path / "nocols.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "afile").write_text("x")
    fmt = {"L": LISTINGS, "D": DEMANDS, "tmp": tmp_path / "out", "garbage": tmp_path / "garbage.xlsx",
               "badprofile": tmp_path / "bad.toml", "badlock": tmp_path / "badlock.csv",
               "nocols": tmp_path / "nocols.csv",
               "file": tmp_path / "afile" / "sub"}
    p = run(*[a.format(**fmt) for a in args])
    assert p.returncode == code, p.stderr
    assert needle in p.stderr and "Traceback" not in p.stderr
    assert len([ln for ln in p.stderr.splitlines() if ln.startswith("changfang")]) >= 1


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(tmp_path, where):
    """``--debug`` before the command or after it, as the error line's advice reads."""
    args = ["match", "/no/such.csv", DEMANDS, "--out", tmp_path]
    p = run(*(["--debug", *args] if where == "before" else [*args, "--debug"]))
    assert p.returncode != 0 and "Traceback" in p.stderr
    assert "unrecognized arguments" not in p.stderr


@pytest.mark.parametrize(("failure", "code"), [(KeyboardInterrupt, 130), (MemoryError, 2),
                                             (OSError(28, "No space left on device"), 3)])
def test_a_failed_run_leaves_the_earlier_outputs_untouched(tmp_path, monkeypatch, failure, code, capsys):
    """A run that fails while it writes (Ctrl-C, memory, a full disk) leaves the previous
    outputs byte for byte, and nothing half-written beside them."""
    import matcher.batch.results as results
    from matcher.cli import main

    out = tmp_path / "out"
    assert main(["match", str(LISTINGS), str(DEMANDS), "--out", str(out), "--quiet", "--lang", "en"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = results.pair_and_recommendation_rows

    def dying(*args, **kw):
        for k, rows in enumerate(real(*args, **kw)):
            if k == 0:
                yield rows
        raise failure

    monkeypatch.setattr(results, "pair_and_recommendation_rows", dying)
    monkeypatch.setattr("matcher.batch.run.pair_and_recommendation_rows", dying)
    capsys.readouterr()
    assert main(["match", str(LISTINGS), str(DEMANDS), "--out", str(out), "--quiet", "--top-k", "2",
                 "--lang", "en"]) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no new or old folder left beside it


def test_an_output_folder_with_other_files_is_refused(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.docx").write_text("keep me")
    p = run("match", LISTINGS, DEMANDS, "--out", out, "--quiet", "--lang", "en")
    assert p.returncode == 3 and "notes.docx" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert (out / "notes.docx").read_text() == "keep me" and sorted(x.name for x in out.iterdir()) == ["notes.docx"]


def test_outputs_take_the_umask(tmp_path):
    import stat

    p = subprocess.run(["bash", "-c", f"umask 027 && {' '.join(map(str, CMD))} match {LISTINGS} {DEMANDS} "
                        f"--out {tmp_path / 'o'} --quiet"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in (tmp_path / "o").iterdir()}
    assert set(modes.values()) == {0o640}, modes
    assert stat.S_IMODE((tmp_path / "o").stat().st_mode) == 0o750


def test_report_is_self_contained(sample_run):
    from tests.matcher.test_report import table_rows

    out, _ = sample_run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<svg class="svgmap"' in page and '<svg class="hist"' in page  # the figures are inline SVG
    assert "http://" not in page and "https://" not in page  # opens offline
    assert "data:image" not in page  # no embedded image: nothing but text
    from matcher.batch.results import PAIRS
    from matcher.io.export import csv_cell

    pairs = read_csv(out / "pairs.csv")
    cols = {c.name: c for c in PAIRS}
    as_csv = [{k: csv_cell(v, cols[k]) for k, v in row.items()} for row in table_rows(page)]
    assert as_csv == pairs  # the pairs table's data is pairs.csv
    for town in ("浒山街道", "周巷镇", "杭州湾新区"):
        assert f">{town}</text>" in page
    for heading in ("Why rows were rejected", "Why records stayed unmatched", "Scores"):
        assert heading in page


def test_report_renders_in_headless_chromium(sample_run, tmp_path):
    from tests.matcher.test_report import chromium, open_page

    out, _ = sample_run
    with chromium() as browser, open_page(browser, out / "report.html", width=1200, height=2400) as (page, _):
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot))
        assert page.locator("#pairs-table tbody tr").count() == len(read_csv(out / "pairs.csv"))
        assert page.locator("#pairs-map line.pick").count() > 0
        # drawn, not blank: the map's blue listings are on the screen
        blue = page.evaluate("""() => [...document.querySelectorAll('#pairs-map .layer-listings .matched')]
            .filter(e => getComputedStyle(e).fill === 'rgb(31, 111, 180)' && e.getBoundingClientRect().width > 0)
            .length""")
        assert blue > 10 and shot.stat().st_size > 50_000


def test_demo_json(tmp_path):
    p = run("demo", "--out", tmp_path / "d", "--json", "--quiet")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["counts"]["listings_read"] == 44 and len(s["best_pairs"]) == 5
    assert os.path.isfile(tmp_path / "d" / "report.html")
    assert CMD  # the command under test is the installed one, or python -m matcher


def test_allocated_area_is_what_the_reasons_say(sample_run):
    import re

    out, _ = sample_run
    rows = read_csv(out / "pairs.csv")
    checked = 0
    for x in rows:
        m = re.search(r"(\d+) 个单元共 (\d+(?:\.\d+)?)㎡", x["reasons_zh"]) or re.search(
            r"面积 (\d+(?:\.\d+)?)㎡", x["reasons_zh"])
        if m:
            assert float(x["allocated_area_m2"]) == pytest.approx(float(m.groups()[-1])), x
            checked += 1
    assert checked >= len(rows) // 2


HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-1+1"]


def test_no_formulas_reach_any_output(tmp_path):
    """Company and owner values that spreadsheets would run, in every CSV and sheet."""
    m = generate_market(12, 12, seed=8)
    from dataclasses import replace

    owners = np.array([HOSTILE[k % len(HOSTILE)] + f" {k}" for k in range(len(m.listings))])
    companies = np.array([HOSTILE[k % len(HOSTILE)] + f" c{k}" for k in range(len(m.demands))])
    write_records(replace(m.listings, owner=owners), tmp_path / "l.csv")
    dm = replace(m.demands, company=companies)
    write_records(dm, tmp_path / "d.csv")
    # a reject whose quoted value is a formula too
    with open(tmp_path / "d.csv", "a", encoding="utf-8") as fh:
        fh.write("=SUM(9)" + "," * (len(next(iter([dm.text_columns()]))) - 1) + "\n")
    p = run("match", tmp_path / "l.csv", tmp_path / "d.csv", "--out", tmp_path / "o", "--quiet")
    assert p.returncode == 0, p.stderr
    starts = (*tuple(h[0] for h in HOSTILE), "=")
    for name in ("pairs", "recommendations", "unmatched", "rejects"):
        with open(tmp_path / "o" / f"{name}.csv", encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not cell.startswith(starts) or cell.lstrip("-").replace(".", "").isdigit(), (name, cell)
    wb = openpyxl.load_workbook(tmp_path / "o" / "result.xlsx")
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    texts.append(c.value)
    assert any(t.startswith("=HYPERLINK") for t in texts)  # shown as the text it is
    assert any(t.startswith("=SUM(9)") for t in texts)  # the reject's quoted value too


def test_a_table_longer_than_a_sheet_continues_and_is_noted(tmp_path, monkeypatch, capsys):
    """Past Excel's row limit (made small here) the workbook continues a table on further
    sheets, whole rows each; run.json and the summary say so; the CSV keeps every row."""
    import matcher.io.export as export
    from matcher.cli import main

    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 31)  # a header and 30 rows a sheet
    m = generate_market(40, 50, seed=2)
    write_records(m.listings, tmp_path / "listings.csv")
    write_records(m.demands, tmp_path / "demands.csv")
    out = tmp_path / "out"
    assert main(["match", str(tmp_path / "listings.csv"), str(tmp_path / "demands.csv"), "--out", str(out),
                 "--top-k", "3", "--quiet", "--lang", "en"]) == 0
    with open(out / "recommendations.csv", encoding="utf-8-sig", newline="") as fh:
        recs = list(csv.reader(fh))[1:]
    split = json.loads((out / "run.json").read_text("utf-8"))["workbook_split"]
    assert split["推荐"] == math.ceil(len(recs) / 30) > 1
    wb = openpyxl.load_workbook(out / "result.xlsx", read_only=True)
    parts = [ws for ws in wb.worksheets if ws.title == "推荐" or ws.title.startswith("推荐 (")]
    assert len(parts) == split["推荐"]
    rows = [r for ws in parts for r in list(ws.iter_rows(values_only=True))[1:]]
    assert len(rows) == len(recs) and [str(r[0]) for r in rows] == [r[0] for r in recs]
    assert "continues it on" in capsys.readouterr().out


@pytest.fixture(scope="module")
def county_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("county")
    m = generate_market(120, 150, seed=8)
    write_records(m.listings, d / "listings.csv")
    write_records(m.demands, d / "demands.csv")
    return d / "listings.csv", d / "demands.csv"


def _xlsx_content(path):
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[(c.value, c.number_format) for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}, \
        wb.sheetnames


@pytest.mark.parametrize("method", ["one_to_one", "auto"])
def test_recommendations_written_during_the_allocation_are_the_same(tmp_path, monkeypatch, county_files, method):
    """With nothing refused or signed the workbook's process writes the recommendations
    while the allocation runs; the outputs are those of writing them afterwards, and the
    sheets come in the tables' order whichever table's rows came first."""
    from matcher.cli import main
    from matcher.io.export import BackgroundWorkbook

    lpath, dpath = county_files
    jobs = []
    real_run_job = BackgroundWorkbook.run_job
    monkeypatch.setattr(BackgroundWorkbook, "run_job", lambda self, sheet: jobs.append(1) or real_run_job(self, sheet))
    args = ["match", str(lpath), str(dpath), "--quiet", "--lang", "en", "--method", method, "--top-k", "4"]
    assert main([*args, "--out", str(tmp_path / "during")]) == 0
    assert jobs == [1]  # the recommendations were the workbook process's job
    monkeypatch.setattr(BackgroundWorkbook, "takes_jobs", staticmethod(lambda: False))
    assert main([*args, "--out", str(tmp_path / "after")]) == 0
    assert jobs == [1]
    for name in ("pairs.csv", "recommendations.csv", "unmatched.csv", "rejects.csv", "report.html"):
        assert (tmp_path / "during" / name).read_bytes() == (tmp_path / "after" / name).read_bytes(), name
    during, order = _xlsx_content(tmp_path / "during" / "result.xlsx")
    after, order_after = _xlsx_content(tmp_path / "after" / "result.xlsx")
    assert order == order_after == ["配对结果", "推荐", "未匹配", "问题行"]  # 480 recommendations came first
    assert during == after


@pytest.mark.parametrize(("failure", "code"), [(MemoryError, 2), (OSError(28, "No space left on device"), 3)])
def test_a_failure_while_the_recommendations_are_written_leaves_the_earlier_outputs(
        tmp_path, monkeypatch, county_files, failure, code, capsys):
    import matcher.batch.run as run_module
    from matcher.cli import main

    lpath, dpath = county_files
    out = tmp_path / "out"
    args = ["match", str(lpath), str(dpath), "--out", str(out), "--quiet", "--lang", "en", "--method", "one_to_one"]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = run_module.recommendation_rows

    def dying(*a, **kw):  # runs in the workbook's process
        for k, rows in enumerate(real(*a, **kw)):
            if k == 0:
                yield rows
        raise failure

    monkeypatch.setattr(run_module, "recommendation_rows", dying)
    capsys.readouterr()
    assert main(args) == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_the_summary_says_when_an_allocation_is_not_proven_optimal(tmp_path):
    """On a market past the MILP's size the divisible method rounds an LP: its gap is in
    run.json and the summary says it in a line; a proven optimum says nothing more."""
    import json

    assert run("generate", "--listings", 2000, "--demands", 2000, "--seed", 3, "--out", tmp_path / "m").returncode == 0
    for method, lang, word in (("divisible", "en", "not proven optimal"), ("divisible", "zh", "未证明最优"),
                               ("one_to_one", "en", "not proven optimal")):
        out = tmp_path / f"{method}-{lang}"
        p = run("match", tmp_path / "m" / "listings.csv", tmp_path / "m" / "demands.csv", "--out", out,
                "--method", method, "--quiet", "--lang", lang)
        assert p.returncode == 0, p.stderr
        gap = json.loads((out / "run.json").read_text("utf-8"))["gap"]
        lines = [ln for ln in p.stdout.splitlines() if word in ln]
        if method == "one_to_one":
            assert gap == 0 and lines == []
        else:
            assert gap > 0 and len(lines) == 1 and f"{gap:.2%}" in lines[0]
