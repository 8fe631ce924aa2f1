"""Issue 15 over real HTTP: feedback (who and when, staff only, the file the batch run
reads), what it does to recommendations and global runs (checked against the library's
full rankings filtered by hand), near misses, the record map, uploads of staff files and
a run's workbooks."""

import io
import zipfile

import numpy as np
import pytest

import scoring
from matcher import generate_market, match, read_demands, read_listings
from matcher.io.pairs import read_feedback_file
from tests.service.conftest import AUTH, as_dicts, start_server

httpx = pytest.importorskip("httpx")

WANG = {"Authorization": "Bearer wang-secret-1"}


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    m = generate_market(60, 50, seed=21)
    s = start_server(tmp_path_factory.mktemp("fb") / "market.db", "--staff", "王芳=wang-secret-1")
    with s.client() as c:
        for path, recs in (("/v1/listings", m.listings), ("/v1/demands", m.demands)):
            assert c.put(path, json=as_dicts(recs), headers=AUTH).status_code == 200
    L = read_listings(as_dicts(m.listings)).records
    D = read_demands(as_dicts(m.demands)).records
    yield s, L, D
    s.stop()


def _full(sc, kind, row):
    """Every feasible partner, best first (the library's ranking, ties by id)."""
    r = sc.for_demand(row) if kind == "demand" else sc.for_listing(row)
    return [str(x) for x in r.ids]


def _ids(c, kind, rid, k=10):
    r = c.get(f"/v1/{kind}s/{rid}/recommendations", params={"k": k})
    assert r.status_code == 200, r.text
    return [x["id"] for x in r.json()["recommendations"]]


def test_feedback_needs_a_token_and_records_who_and_when(market, tmp_path):
    s, L, D = market
    did, lid = str(D.demand_id[0]), str(L.listing_id[0])
    body = {"demand_id": did, "listing_id": lid, "action": "contacted", "note": "电话已通"}
    with s.client() as c:
        assert c.post("/v1/feedback", json=body).status_code == 401
        assert c.get("/v1/feedback").status_code == 401
        assert c.get("/v1/whoami").json() == {"staff": False, "name": None}
        assert c.get("/v1/whoami", headers=WANG).json() == {"staff": True, "name": "王芳"}
        got = c.post("/v1/feedback", json=body, headers=WANG)
        assert got.status_code == 201, got.text
        item = got.json()
        assert item["who"] == "王芳" and item["note"] == "电话已通" and item["created"].endswith("+00:00")
        for bad, status in (({**body, "action": "maybe"}, 422), ({**body, "listing_id": "NOPE"}, 404),
                            ({**body, "note": "x" * 501}, 422), ({**body, "extra": 1}, 422),
                            ({**body, "demand_id": "a\nb"}, 404)):
            assert c.post("/v1/feedback", json=bad, headers=AUTH).status_code == status, bad
        listed = c.get("/v1/feedback", params={"demand_id": did}, headers=AUTH).json()["items"]
        assert [x["seq"] for x in listed] == [item["seq"]] and listed[0]["action"] == "contacted"
        csv = c.get("/v1/feedback", params={"format": "csv"}, headers=AUTH)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    (tmp_path / "fb.csv").write_bytes(csv.content)
    assert read_feedback_file(tmp_path / "fb.csv") == ([], [])  # a contact locks and excludes nothing


def test_refused_never_proposed_again_and_signed_locked_in_runs(market, tmp_path):
    s, L, D = market
    sc = scoring.Scorer(D, L)
    # a demand with at least three feasible listings: refuse its best, sign its second
    i = next(i for i in range(1, len(D)) if len(_full(sc, "demand", i)) >= 3)
    did = str(D.demand_id[i])
    best, second = _full(sc, "demand", i)[:2]
    with s.client() as c:
        assert _ids(c, "demand", did)[0] == best
        r = c.post("/v1/feedback", json={"demand_id": did, "listing_id": best, "action": "refused", "note": "太远"},
                   headers=AUTH)
        assert r.status_code == 201
        assert _ids(c, "demand", did) == [x for x in _full(sc, "demand", i) if x != best][:10]
        assert did not in _ids(c, "listing", best, k=100)  # to neither side
        r = c.post("/v1/feedback", json={"demand_id": did, "listing_id": second, "action": "signed"}, headers=AUTH)
        assert r.status_code == 201, r.text
        # a firm signs one plant at a time
        third = _full(sc, "demand", i)[2]
        r = c.post("/v1/feedback", json={"demand_id": did, "listing_id": third, "action": "signed"}, headers=AUTH)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "demand_id"]
        # the signed firm leaves every listing's list; the plant leaves the others' unless it has room
        j2 = int(np.flatnonzero(L.listing_id == second)[0])
        unit, area = float(L.min_unit_m2[j2]), float(L.area_m2[j2])
        for j in range(0, len(L), 7):
            assert did not in _ids(c, "listing", str(L.listing_id[j]), k=100)
        room = area - float(scoring.offered_area(sc.demand_side.area_min[i], sc.demand_side.hi[i], area,
                                                 np.nan_to_num(unit)))
        others = [k for k in range(len(D)) if k != i and second in _full(sc, "demand", k)]
        stays = unit > 0 and room >= unit
        for k in others[:5]:
            assert (second in _ids(c, "demand", str(D.demand_id[k]), k=100)) == stays
        # a global run locks the signed pair and never proposes the refused one
        run_id = c.post("/v1/match", json={"method": "auto", "top_k": 5}, headers=AUTH).json()["id"]
        run = c.get(f"/v1/runs/{run_id}", headers=AUTH).json()
        csv = c.get("/v1/feedback", params={"format": "csv"}, headers=AUTH).content
    pairs = {(p["demand_id"], p["listing_id"]): p for p in run["pairs"]}
    assert pairs[(did, second)]["locked"] and run["counts"]["signed_by_feedback"] == 1
    assert (did, best) not in pairs
    assert not any(x["demand_id"] == did and x["listing_id"] == best for x in run["recommendations"])
    # the batch run on the same feedback file agrees
    (tmp_path / "fb.csv").write_bytes(csv)
    locks, exclude = read_feedback_file(tmp_path / "fb.csv")
    assert (did, second) in locks and (did, best) in exclude
    want = match(D, L, method="auto", top_k=5, locks=locks, exclude=exclude)
    assert set(pairs) == {(str(D.demand_id[a]), str(L.listing_id[b])) for a, b in zip(want.demand, want.listing)}


def test_near_misses_are_infeasible_ranked_and_say_why(market):
    s, L, D = market
    sc = scoring.Scorer(D, L)
    did = str(D.demand_id[5])
    with s.client() as c:
        items = c.get(f"/v1/demands/{did}/near-misses", params={"k": 8}).json()["items"]
        lid = str(L.listing_id[3])
        l_items = c.get(f"/v1/listings/{lid}/near-misses", params={"k": 4}).json()["items"]
    assert len(items) == 8 and len(l_items) == 4
    failed = sc.score().failed
    n_fail = []
    for it in items:
        j = int(np.flatnonzero(L.listing_id == it["id"])[0])
        e = sc.explain(5, j)  # the library's own explanation of the pair
        assert not e.feasible and sorted(f["name"] for f in it["failed"]) == sorted(e.failed_rules)
        assert all(f["zh"] for f in it["failed"])
        n_fail.append(len(e.failed_rules))
    assert n_fail == sorted(n_fail)
    # nothing with fewer failed rules was left out
    row = failed[5]
    counts = np.array([bin(int(x)).count("1") for x in row])
    assert n_fail[0] == counts[counts > 0].min()
    for it in l_items:
        i = int(np.flatnonzero(D.demand_id == it["id"])[0])
        assert not sc.explain(i, 3).feasible


def test_the_map_names_the_towns_and_draws_the_partners(market):
    s, L, D = market
    did = str(D.demand_id[1])
    with s.client() as c:
        recs = _ids(c, "demand", did, k=3)
        r = c.get(f"/v1/demands/{did}/map", params=[("proposed", x) for x in recs])
        lr = c.get(f"/v1/listings/{L.listing_id[2]}/map")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    svg = r.text
    assert svg.startswith('<svg class="svgmap') and "周巷镇" in svg and "http" not in svg.replace(
        "http://www.w3.org/2000/svg", "")
    for x in recs:
        assert f'data-id="{x}"' in svg
    for t in D.town_names(1):
        assert 'class="town' in svg and t in svg
    assert lr.status_code == 200 and 'data-layer="self"' in lr.text


def test_uploads_store_good_rows_and_report_bad_ones(market, tmp_path):
    s, _L, _D = market
    csv = ("编号,租售类型,镇街,面积,租金\nUP-1,出租,周巷,1200平,15元/平/月\nUP-2,出租,周巷,很大,15\n"
           "UP-3,出租,浒山,800,0.5元/平/天\n").encode("gb18030")
    with s.client() as c:
        assert c.post("/v1/upload/listings", params={"filename": "a.csv"}, content=csv).status_code == 401
        r = c.post("/v1/upload/listings", params={"filename": "房源.csv"}, content=csv, headers=AUTH)
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["rows"] == 3 and got["accepted"] == ["UP-1", "UP-3"]
        bad = got["rejected"]
        assert [(p["row"], p["id"], p["field"], p["value"]) for p in bad] == [(3, "UP-2", "area_m2", "很大")]
        assert bad[0]["reason_zh"]
        assert c.get("/v1/listings/UP-3").json()["rent"] == pytest.approx(15.0)
        assert c.get("/v1/listings/UP-2").status_code == 404
        # a file that cannot be read as the side's table is one rejection of row 0, nothing stored
        for name, content in (("a.pdf", b"%PDF"), ("a.xlsx", b"\x89PNG not a workbook"),
                              ("需求.csv", "编号,需求类型,需求面积\nX1,求租,800平\n".encode())):
            r = c.post("/v1/upload/listings", params={"filename": name}, content=content, headers=AUTH)
            assert r.status_code == 200, r.text
            got = r.json()
            assert got["accepted"] == [] and [(p["row"], p["field"]) for p in got["rejected"]] == [(0, "file")]
            assert got["rejected"][0]["reason_zh"] and "/tmp" not in r.text
        assert c.get("/v1/listings/X1").status_code == 404


def test_a_runs_workbooks_are_for_staff(market):
    import openpyxl

    s, _L, _D = market
    with s.client() as c:
        run_id = c.post("/v1/match", json={"top_k": 2, "per_party": True}, headers=AUTH).json()["id"]
        assert c.get(f"/v1/runs/{run_id}/files").status_code == 401
        files = c.get(f"/v1/runs/{run_id}/files", headers=AUTH).json()["files"]
        names = [f["name"] for f in files]
        assert "result.xlsx" in names and "parties.zip" in names
        xlsx = c.get(f"/v1/runs/{run_id}/files/result.xlsx", headers=AUTH)
        assert c.get(f"/v1/runs/{run_id}/files/result.xlsx").status_code == 401
        z = c.get(f"/v1/runs/{run_id}/files/parties.zip", headers=AUTH)
        one = next(n for n in names if n.startswith("parties/企业_"))
        single = c.get(f"/v1/runs/{run_id}/files/{one}", headers=AUTH)
        run = c.get(f"/v1/runs/{run_id}", headers=AUTH).json()
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["配对结果", "推荐", "未匹配", "问题行"]
    assert wb["配对结果"].max_row - 1 == len(run["pairs"])
    assert "attachment" in xlsx.headers["content-disposition"]
    members = zipfile.ZipFile(io.BytesIO(z.content)).namelist()
    assert one.removeprefix("parties/") in members and any(m.startswith("业主_") for m in members)
    assert single.status_code == 200 and single.content[:2] == b"PK"
