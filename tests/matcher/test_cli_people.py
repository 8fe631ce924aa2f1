"""What a person meets at the command line (issue 13, tester's second pass): per-party
folders that would replace the outputs, lock files with Chinese headers, errors in
Chinese, a locked pair the rules exclude, the recorded ``top_k``."""

import json
import os

import numpy as np
import pytest

from matcher import match, read_demands, read_listings
from tests.matcher.test_cli import SAMPLE, run

LISTINGS, DEMANDS = SAMPLE / "listings.csv", SAMPLE / "demands.xlsx"


@pytest.fixture(scope="module")
def library():
    lres, dres = read_listings(LISTINGS), read_demands(DEMANDS)
    return lres.records, dres.records, match(dres.records, lres.records, top_k=3)


@pytest.mark.parametrize(("out", "party"), [
    ("same", "same"),                      # the output folder itself
    ("same", "./same/../same"),            # ... spelt another way
    ("same", "{tmp}/same"),                # ... absolute
    ("a/b", "a"),                          # a folder holding the output folder
    ("c", "c/x/y"),                        # deeper than directly inside it
    ("e", "e/run.json"),                   # the name of an output file
])
def test_a_per_party_folder_that_would_replace_outputs_is_refused(tmp_path, out, party):
    """Before: exit 0, "wrote", and no 业主_/企业_ workbook anywhere. Now: exit 2 with one
    line in the language asked for, before any work, and nothing written."""
    for lang, needle in (("zh", "分方文件夹"), ("en", "--per-party")):
        p = run("match", LISTINGS, DEMANDS, "--out", out, "--per-party", party.format(tmp=tmp_path),
                "--quiet", "--lang", lang, cwd=tmp_path)
        assert p.returncode == 2, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and needle in p.stderr, p.stderr
        assert "Traceback" not in p.stderr
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # (the output folder may exist, empty)


def test_a_per_party_folder_directly_inside_the_outputs_is_written(tmp_path):
    p = run("match", LISTINGS, DEMANDS, "--out", "o", "--per-party", "./o/../o/pp", "--quiet", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    names = os.listdir(tmp_path / "o" / "pp")
    assert any(n.startswith("业主_") for n in names) and any(n.startswith("企业_") for n in names)


@pytest.mark.parametrize(("d_head", "l_head"), [
    ("需求编号", "房源编号"), ("demand_id", "listing_id"), (" 需求 编号 ", "1.房源编号"), ("需求编码", "房源编码"),
    ("需求ID", "房源id"), ("需求编号（必填）", "房源编号*"),
])
def test_lock_and_exclusion_files_take_the_id_headers_the_readers_take(tmp_path, library, d_head, l_head):
    L, D, r = library
    chosen = set(zip(r.demand.tolist(), r.listing.tolist()))
    i, j = next((i, j) for i, j in zip(*np.nonzero(r.scores.feasible)) if (i, j) not in chosen)
    (tmp_path / "lock.csv").write_text(f"{d_head},{l_head}\n{D.demand_id[i]},{L.listing_id[j]}\n", encoding="utf-8")
    k = 0
    (tmp_path / "ex.csv").write_text(f"{l_head},{d_head}\n{L.listing_id[r.listing[k]]},{D.demand_id[r.demand[k]]}\n",
                                     encoding="utf-8")
    p = run("match", LISTINGS, DEMANDS, "--out", tmp_path / "out", "--lock", tmp_path / "lock.csv",
            "--exclude", tmp_path / "ex.csv", "--quiet", "--json")
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["counts"]["locked"] == 1
    pairs = (tmp_path / "out" / "pairs.csv").read_text(encoding="utf-8-sig")
    assert f"{D.demand_id[i]},{D.company[i]},{L.listing_id[j]}" in pairs
    assert f"{D.demand_id[r.demand[k]]},{D.company[r.demand[k]]},{L.listing_id[r.listing[k]]}," not in pairs


@pytest.mark.parametrize(("content", "flag", "zh", "en"), [
    ("编号,房源编号\nX,Y\n", "--lock", "缺少必填列：需求编号", "needs the columns demand_id and listing_id"),
    ("a,b\n1,2\n", "--exclude", "缺少必填列", "needs the columns"),
    ("需求编号,房源编号\nNOBODY,CX-L001\n", "--lock", "未知的需求编号", "unknown demand id"),
    ("需求编号,房源编号\nXQ-001,\n", "--lock", "须同时填写需求编号和房源编号", "needs both"),
    ("需求编号,房源编号,反馈\nXQ-001,CX-L001,maybe\n", "--feedback", "反馈须为", "action must be"),
    ("需求编号,房源编号\nXQ-001,NOWHERE\n", "--exclude", "未知的房源编号", "unknown listing id"),
])
def test_pair_file_errors_speak_the_language_asked_for(tmp_path, content, flag, zh, en):
    (tmp_path / "pairs.csv").write_text(content, encoding="utf-8")
    for lang, needle in (("zh", zh), ("en", en)):
        p = run("match", LISTINGS, DEMANDS, "--out", tmp_path / "out", flag, tmp_path / "pairs.csv", "--quiet",
                "--lang", lang)
        assert p.returncode == 2, p.stderr
        assert needle in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        if lang == "zh":
            assert "unknown" not in p.stderr and "needs" not in p.stderr


def test_a_locked_pair_the_hard_rules_exclude_is_kept_with_a_warning_and_a_real_score(tmp_path, library):
    """Before: accepted silently, and the summary said "total score nan". A signed pair
    is a fact, so it stays (a weekly run is not blocked by one pair whose data changed),
    but stderr names the rules it fails, its score is the criteria's weighted sum (the
    same sum a plain-Python loop over the explanation's criteria gives), and no output
    says nan."""
    import csv

    from scoring.rules import RULES

    L, D, r = library
    i, j = map(int, np.argwhere(~r.scores.feasible)[0])
    failed = int(r.scores.failed[i, j])
    rules = [rule for rule in RULES if failed & rule.flag]
    assert rules
    (tmp_path / "lock.csv").write_text(f"需求编号,房源编号\n{D.demand_id[i]},{L.listing_id[j]}\n", encoding="utf-8")
    for lang in ("zh", "en"):
        out = tmp_path / f"out-{lang}"
        p = run("match", LISTINGS, DEMANDS, "--out", out, "--lock", tmp_path / "lock.csv", "--quiet", "--lang", lang)
        assert p.returncode == 0, p.stderr
        assert "nan" not in p.stdout.lower() and "nan" not in p.stderr.lower()
        warning = [ln for ln in p.stderr.splitlines() if D.demand_id[i] in ln]
        assert len(warning) == 1, p.stderr
        for rule in rules:
            assert (rule.zh if lang == "zh" else rule.en) in warning[0]
        s = json.loads((out / "run.json").read_text(encoding="utf-8"))
        assert s["locked_infeasible"] == [{"demand_id": D.demand_id[i], "listing_id": L.listing_id[j],
                                           "rules": [rule.name for rule in rules]}]
        with open(out / "pairs.csv", encoding="utf-8-sig", newline="") as fh:
            row = next(x for x in csv.DictReader(fh) if x["demand_id"] == D.demand_id[i])
        assert row["listing_id"] == L.listing_id[j] and "nan" not in ",".join(row.values()).lower()
    weights = r.scores.scorer.weights
    crit = {c: float(row[f"{c}_score"]) for c in weights}
    assert float(row["score"]) == pytest.approx(sum(w * crit[c] for c, w in weights.items()), abs=2e-4)


def test_run_json_records_the_top_k_it_used(tmp_path, library):
    L, _, _ = library
    p = run("match", LISTINGS, DEMANDS, "--out", tmp_path / "out", "--quiet", "--top-k", 1000000000, "--json")
    assert p.returncode == 0, p.stderr
    s = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert s["top_k"] == len(L.listing_id) and s["top_k_requested"] == 1000000000
