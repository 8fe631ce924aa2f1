"""The real ``changfang`` command, as a subprocess."""

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from matcher import read_listings

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "cixi-sample"
EXE = shutil.which("changfang")
CMD = [EXE] if EXE else [sys.executable, "-m", "matcher"]


def run(*args, **kw):
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True, **kw)


def _read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_validate_sample_listings(tmp_path):
    p = run("validate", "listings", SAMPLE / "listings.csv", "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    assert "44 rows read, 38 accepted, 6 rejected" in p.stdout
    assert (tmp_path / "listings.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    rejects = _read_csv(tmp_path / "rejects.csv")
    assert list(rejects[0]) == ["file", "row", "id", "field", "value", "severity", "reason_zh", "reason_en"]
    lib = read_listings(SAMPLE / "listings.csv")
    assert len(rejects) == len(lib.report)
    assert {(r["row"], r["field"], r["severity"]) for r in rejects} == {
        (str(p.row), p.field, p.severity) for p in lib.report}
    out = _read_csv(tmp_path / "listings.csv")
    assert [r["listing_id"] for r in out] == list(lib.records.ids)
    row = out[0]
    assert row["deal"] == "lease" and row["title_certificate"] == "true" and row["town"] == "周巷镇"
    # the canonical file reads back to the same records
    assert read_listings(tmp_path / "listings.csv").records.equals(lib.records)


def test_validate_sample_demands_xlsx(tmp_path):
    p = run("validate", "demands", SAMPLE / "demands.xlsx", "--out", tmp_path, "--sheet", "需求登记")
    assert p.returncode == 0, p.stderr
    rows = _read_csv(tmp_path / "demands.csv")
    assert len(rows) == 60 and rows[0]["towns"] == "周巷镇|长河镇"


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["validate", "listings", "/no/such/file.csv", "--out", "{tmp}"], 2, "file not found"),
    (["validate", "listings", "{empty}", "--out", "{tmp}"], 2, "file is empty"),
    (["validate", "houses", "x.csv", "--out", "{tmp}"], 2, "invalid choice"),
    (["validate", "listings"], 2, "required"),
    (["validate", "listings", str(SAMPLE / "listings.csv"), "--out", "{file}"], 3, "cannot create output folder"),
    (["generate", "--listings", "-1", "--demands", "1", "--out", "{tmp}"], 2, ">= 0"),
])
def test_errors_are_one_line_and_a_documented_exit_code(tmp_path, args, code, needle):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    args = [a.format(tmp=tmp_path / "out", empty=empty, file=blocker / "sub") for a in args]
    p = run(*args)
    assert p.returncode == code
    assert needle in p.stderr and "Traceback" not in p.stderr


def test_generate_writes_readable_files(tmp_path):
    p = run("generate", "--listings", 40, "--demands", 50, "--seed", 7, "--out", tmp_path, "--format", "xlsx")
    assert p.returncode == 0, p.stderr
    from matcher import generate_market, read_demands

    m = generate_market(40, 50, seed=7)
    assert read_listings(tmp_path / "listings.xlsx").records.equals(m.listings)
    assert read_demands(tmp_path / "demands.xlsx").records.equals(m.demands)


def test_demo_runs_on_the_bundled_sample(tmp_path):
    p = run("demo", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = tmp_path / "changfang-demo"
    assert "listings: 44 read, 6 rejected; demands: 64 read, 3 rejected, 1 merged" in p.stdout
    assert "best pairs:" in p.stdout and len([ln for ln in p.stdout.splitlines() if " → " in ln]) == 5
    for name in ("pairs.csv", "recommendations.csv", "unmatched.csv", "rejects.csv", "run.json", "result.xlsx",
                 "report.html"):
        assert (out / name).is_file(), name
    rejects = _read_csv(out / "rejects.csv")
    assert {r["file"] for r in rejects} == {"listings.csv", "demands.xlsx"}
    assert sum(r["severity"] == "error" for r in rejects) == 10
