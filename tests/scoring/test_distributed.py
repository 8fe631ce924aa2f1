"""Scoring on a Dask cluster: the same pairs, statistics and rankings as one local pass,
and ``changfang match --dask local`` writes the same files as a local run."""

import json

import numpy as np
import pytest

import scoring
from matcher import generate_market, match

pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def market():
    return generate_market(1300, 1500, seed=8)


def _same_stats(a, b):
    for f in ("n_feasible", "best", "best_partner", "rule_counts"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


@pytest.mark.parametrize(("keep", "prune"), [(None, False), (None, None), (7, None)])
def test_candidates_are_those_of_one_local_pass(client, market, keep, prune):
    from scoring.distributed import candidates

    sc = scoring.Scorer(market.demands, market.listings)
    want = sc.candidates(per_demand=keep, per_listing=keep, prune=prune)
    got = candidates(client, sc, per_demand=keep, per_listing=keep, prune=prune)
    assert len(got) == len(want) > 0
    for f in ("demand", "listing", "score", "indptr"):
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f)
    _same_stats(got.demands, want.demands)
    _same_stats(got.listings, want.listings)
    assert got.exact_rule_counts == want.exact_rule_counts


def test_violations_and_rankings_are_those_of_one_local_pass(client, market):
    from scoring.distributed import dual_violations, top_k

    sc = scoring.Scorer(market.demands, market.listings)
    rng = np.random.default_rng(3)
    u, v = rng.uniform(0, 0.5, sc.shape[0]), rng.uniform(0, 0.5, sc.shape[1])
    want, got = sc.dual_violations(u, v), dual_violations(client, sc, u, v)
    assert len(want) > 0
    for f in ("demand", "listing", "score", "reduced"):
        np.testing.assert_array_equal(getattr(got, f), getattr(want, f), err_msg=f)
    for by in ("demand", "listing"):
        a, b = sc.top_k(6, by=by), top_k(client, sc, 6, by=by)
        np.testing.assert_array_equal(b.index, a.index)
        np.testing.assert_array_equal(b.scores, a.scores)
        np.testing.assert_array_equal(b.count, a.count)


@pytest.mark.parametrize("method", ["one_to_one", "stable", "divisible"])
def test_match_on_the_cluster_is_the_local_match(client, market, method):
    ids_d, ids_l = market.demands.demand_id, market.listings.listing_id
    kw = {"method": method, "top_k": 3, "per_record": 6, "exclude": [(ids_d[0], ids_l[0])],
          "locks": [(ids_d[2], ids_l[3])]}
    a, b = match(market.demands, market.listings, **kw), match(market.demands, market.listings, client=client, **kw)
    for f in ("demand", "listing", "score", "area", "locked", "histogram"):
        np.testing.assert_array_equal(getattr(b, f), getattr(a, f), err_msg=f)
    assert (a.objective, a.gap, a.limits, a.feasible_pairs) == (b.objective, b.gap, b.limits, b.feasible_pairs)
    assert a.unmatched == b.unmatched
    np.testing.assert_array_equal(b.for_listing.index, a.for_listing.index)


def test_a_province_checked_by_location_groups_on_the_cluster(client, monkeypatch):
    """The checks' blocks (location groups, price buckets) as tasks at once give the
    local result."""
    from matcher import solve

    monkeypatch.setattr(solve, "SPATIAL_PAIRS", 0)
    m = generate_market(900, 900, seed=12, counties=4)
    kw = {"method": "one_to_one", "top_k": 0, "per_record": 4, "towns": m.towns}
    a, b = match(m.demands, m.listings, **kw), match(m.demands, m.listings, client=client, **kw)
    assert a.limits["checks"] >= 2
    for f in ("demand", "listing", "score"):
        np.testing.assert_array_equal(getattr(b, f), getattr(a, f), err_msg=f)
    assert (a.objective, a.gap, a.limits) == (b.objective, b.gap, b.limits)


def test_the_command_writes_the_same_files(tmp_path, market):
    from matcher.cli import main

    gen = tmp_path / "in"
    assert main(["generate", "--listings", "900", "--demands", "1000", "--seed", "2", "--out", str(gen)]) == 0
    files = [str(gen / "listings.csv"), str(gen / "demands.csv")]
    opts = ["--quiet", "--method", "one_to_one"]
    assert main(["match", *files, "--out", str(tmp_path / "here"), *opts]) == 0
    assert main(["match", *files, "--out", str(tmp_path / "there"), *opts, "--dask", "local"]) == 0
    names = ["pairs.csv", "recommendations.csv", "unmatched.csv", "rejects.csv", "result.xlsx", "report.html"]
    for name in names:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name
    here, there = (json.loads((tmp_path / d / "run.json").read_text("utf-8")) for d in ("here", "there"))
    assert there.pop("dask") == "local"
    for run in (here, there):
        run.pop("seconds")
    assert here == there
