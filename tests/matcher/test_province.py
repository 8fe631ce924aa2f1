"""A province of counties, through files: towns written 周巷镇·3 are read back to the same
rows, and a run on the files equals the run on the generated records."""

import json

import numpy as np
import pytest

from matcher import generate_market, match
from matcher.io import normalise as nz
from matcher.records import towns_table
from scoring.reference import MAX_COUNTIES, gazetteer


def test_a_county_number_names_the_town_of_that_county():
    n = len(gazetteer())
    base = nz.find_town("周巷镇")
    assert nz.find_town("周巷镇·1") == base
    assert nz.find_town("周巷镇·3") == base + 2 * n
    assert nz.find_town("周巷·3") == base + 2 * n  # the short form too
    assert nz.find_town(f"周巷镇·{MAX_COUNTIES}") == base + (MAX_COUNTIES - 1) * n
    for bad in ("周巷镇·0", f"周巷镇·{MAX_COUNTIES + 1}", "周巷镇·2·3", "北京·2", "·2"):
        assert nz.find_town(bad) is None, bad


def test_the_towns_table_reaches_as_far_as_the_records():
    m = generate_market(200, 300, seed=4, counties=4)
    t = towns_table(m.demands, m.listings)
    assert t.same_as(m.towns) and t.n_counties == 4
    one = generate_market(50, 50, seed=4)
    assert towns_table(one.demands, one.listings) is gazetteer()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_province_through_files_is_the_province_in_memory(tmp_path, fmt):
    from matcher.cli import main
    from matcher.io.ingest import read_demands, read_listings

    m = generate_market(700, 800, seed=6, counties=3)
    gen = tmp_path / "in"
    assert main(["generate", "--listings", "700", "--demands", "800", "--seed", "6", "--counties", "3",
                 "--format", fmt, "--out", str(gen)]) == 0
    lres, dres = read_listings(gen / f"listings.{fmt}"), read_demands(gen / f"demands.{fmt}")
    assert lres.report.n_rejected == 0 and dres.report.n_rejected == 0
    np.testing.assert_array_equal(lres.records.town, m.listings.town)
    np.testing.assert_array_equal(dres.records.towns.values, m.demands.towns.values)
    assert int(m.listings.town.max()) >= 2 * len(gazetteer())  # the third county is there
    want = match(m.demands, m.listings, method="one_to_one", towns=m.towns)
    assert main(["match", str(gen / f"listings.{fmt}"), str(gen / f"demands.{fmt}"), "--out", str(tmp_path / "o"),
                 "--method", "one_to_one", "--quiet"]) == 0
    run = json.loads((tmp_path / "o" / "run.json").read_text("utf-8"))
    assert run["counts"]["feasible_pairs"] == want.feasible_pairs
    assert run["counts"]["matched"] == len(want) and run["objective"] == pytest.approx(want.objective, abs=1e-5)
    page = (tmp_path / "o" / "report.html").read_text("utf-8")
    assert "周巷镇·3" in page  # the map names the third county's towns
    assert main(["generate", "--listings", "1", "--demands", "1", "--counties", "0", "--out", str(tmp_path / "x")]) == 2
