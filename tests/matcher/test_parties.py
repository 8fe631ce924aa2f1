"""Per-party workbooks: one per landlord and one per firm, each with exactly what concerns
it (read back with openpyxl and checked against the library's result)."""

from collections import defaultdict
from dataclasses import replace

import numpy as np
import openpyxl
import pytest

from matcher import generate_market, write_records
from matcher.batch.parties import party_file_name
from matcher.batch.run import run_match
from tests.matcher.test_cli import SAMPLE


def _sheet(path, title):
    ws = openpyxl.load_workbook(path)[title]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return [dict(zip(rows[0], r)) for r in rows[1:]]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    base = tmp_path_factory.mktemp("parties")
    run = run_match(SAMPLE / "listings.csv", SAMPLE / "demands.xlsx", base / "out", top_k=3,
                    per_party=base / "parties")
    return run, base / "parties"


def test_one_workbook_per_landlord_with_its_listings_and_proposed_firms(sample):
    run, folder = sample
    r, L, D = run.result, run.listings.records, run.demands.records
    by_owner = defaultdict(list)
    for j, o in enumerate(L.owner):
        by_owner[str(o).strip() or str(L.listing_id[j])].append(j)
    files = sorted(p.name for p in folder.glob("业主_*.xlsx"))
    assert files == sorted({party_file_name("业主", o, o) for o in by_owner})
    for owner, js in by_owner.items():
        path = folder / party_file_name("业主", owner, owner)
        own = _sheet(path, "房源")
        assert sorted(x["房源编号"] for x in own) == sorted(str(L.listing_id[j]) for j in js)
        props = _sheet(path, "推荐企业")
        want = []
        for j in js:
            got = [i for i, jj in zip(r.demand, r.listing) if jj == j]
            want += [(str(L.listing_id[j]), "已分配", str(D.demand_id[i])) for i in got]
            n = min(3, int(r.for_listing.count[j]))
            want += [(str(L.listing_id[j]), "推荐", str(D.demand_id[i])) for i in r.for_listing.index[j, :n]]
        assert sorted((x["房源编号"], x["状态"], x["需求编号"]) for x in props) == sorted(want)
        contact = {str(D.demand_id[i]): str(D.contact[i]) for i in range(len(D))}
        assert all(x["联系方式"] == (contact[x["需求编号"]] or None) for x in props)  # the firm's contact


def test_one_workbook_per_firm_with_the_plants_and_the_landlords_contacts(sample):
    run, folder = sample
    r, L, D = run.result, run.listings.records, run.demands.records
    firms = {str(c).strip() or str(D.demand_id[i]) for i, c in enumerate(D.company)}
    assert sorted(p.name for p in folder.glob("企业_*.xlsx")) == sorted({party_file_name("企业", c, c) for c in firms})
    i = int(r.demand[0])
    props = _sheet(folder / party_file_name("企业", str(D.company[i]), str(D.demand_id[i])), "推荐厂房")
    mine = [x for x in props if x["需求编号"] == str(D.demand_id[i])]
    assert mine[0]["状态"] == "已分配" and mine[0]["房源编号"] == str(L.listing_id[r.listing[0]])
    assert mine[0]["分配面积(㎡)"] == pytest.approx(float(r.area[0]))
    n = min(3, int(r.for_demand.count[i]))
    assert [x["房源编号"] for x in mine[1:]] == [str(L.listing_id[j]) for j in r.for_demand.index[i, :n]]
    for x in mine:
        j = int(np.flatnonzero(L.listing_id == x["房源编号"])[0])
        assert x["业主联系方式"] == (str(L.contact[j]) or None) and x["理由"]


def test_party_names_become_safe_file_names_and_never_collide(tmp_path):
    m = generate_market(6, 4, seed=3)
    owners = np.array(["慈溪/甬丰:厂", "慈溪甬丰厂", "..", "", "a\x07b", "慈溪/甬丰:厂"], dtype=object)
    write_records(replace(m.listings, owner=owners.astype(str)), tmp_path / "l.csv")
    write_records(m.demands, tmp_path / "d.csv")
    run = run_match(tmp_path / "l.csv", tmp_path / "d.csv", tmp_path / "out", per_party=tmp_path / "out" / "parties")
    names = sorted(p.name for p in (tmp_path / "out" / "parties").glob("业主_*.xlsx"))
    # the first and the last owner are one party; the second differs only by the removed
    # characters: both files exist, told apart; empty names fall back on the listing id
    assert len(names) == 5 and all("/" not in n and ":" not in n and "\x07" not in n for n in names)
    clash = [n for n in names if n.startswith("业主_慈溪甬丰厂")]
    assert len(clash) == 2
    ids = m.listings.listing_id
    assert f"业主_{ids[3]}.xlsx" in names  # blank owner
    assert run.summary["per_party"]["landlords"] == 5
    # a second run replaces the folder as a whole, inside the output folder
    run_match(tmp_path / "l.csv", tmp_path / "d.csv", tmp_path / "out", per_party=tmp_path / "out" / "parties")
    assert sorted(p.name for p in (tmp_path / "out" / "parties").glob("业主_*.xlsx")) == names
