"""Recommendations leave out refused pairs and records that have signed: checked against
ranking every pair of the full matrix with those masked, by hand."""

import numpy as np
import pytest

import scoring
from matcher import generate_market, match
from matcher.recommend import recommend


def _by_hand(total, k, tie, mask):
    """Best k of every row of ``total`` where ``mask`` allows (ties by ``tie``)."""
    n, m = total.shape
    index = np.full((n, k), -1)
    scores = np.full((n, k), np.nan, dtype=np.float32)
    count = np.zeros(n, dtype=np.int64)
    for i in range(n):
        ok = [j for j in range(m) if mask[i, j] and np.isfinite(total[i, j])]
        ok.sort(key=lambda j: (-float(total[i, j]), tie[j]))
        ok = ok[:k]
        index[i, :len(ok)] = ok
        scores[i, :len(ok)] = total[i, ok]
        count[i] = len(ok)
    return index, scores, count


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("by", ["demand", "listing"])
def test_refused_and_signed_are_left_out(seed, by):
    m = generate_market(120, 150, seed=seed)
    sc = scoring.Scorer(m.demands, m.listings)
    total = sc.score().total
    rng = np.random.default_rng(seed)
    feas = np.argwhere(np.isfinite(total))
    pick = feas[rng.choice(len(feas), 60, replace=False)]
    xr, xc = pick[:, 0], pick[:, 1]
    locked = rng.choice(150, 8, replace=False)
    taken = np.zeros(120, dtype=bool)
    taken[rng.choice(120, 10, replace=False)] = True
    mask = np.ones(total.shape, dtype=bool)
    mask[xr, xc] = False
    if by == "demand":
        mask[:, taken] = False
        want = _by_hand(total, 6, sc.id_ranks("listing"), mask)
    else:
        mask[locked, :] = False
        want = _by_hand(total.T, 6, sc.id_ranks("demand"), mask.T)
    got = recommend(sc, 6, by, (xr, xc), locked, taken)
    np.testing.assert_array_equal(got.index, want[0])
    np.testing.assert_array_equal(got.scores, want[1])
    np.testing.assert_array_equal(got.count, want[2])


def test_match_recommends_nothing_refused_and_no_one_signed():
    m = generate_market(200, 250, seed=3)
    base = match(m.demands, m.listings, method="one_to_one", top_k=4)
    ids_d, ids_l = m.demands.demand_id, m.listings.listing_id
    refused = [(ids_d[i], ids_l[j]) for i in range(30) for j in base.for_demand.index[i, :1] if j >= 0]
    i0, j0 = int(base.demand[0]), int(base.listing[0])
    r = match(m.demands, m.listings, method="one_to_one", top_k=4, exclude=refused,
              locks=[(ids_d[i0], ids_l[j0])])
    shown = {(ids_d[i], ids_l[j]) for i in range(250) for j in r.for_demand.index[i] if j >= 0}
    shown |= {(ids_d[i], ids_l[j]) for j in range(200) for i in r.for_listing.index[j] if i >= 0}
    assert not shown & set(refused)
    assert i0 not in r.for_listing.index  # the firm that signed is offered to no one
    assert j0 not in r.for_demand.index  # one-to-one: the plant is gone


def test_feedback_file_locks_signed_and_excludes_refused(tmp_path):
    import json

    from matcher.cli import main
    from matcher.io.pairs import read_feedback_file

    m = generate_market(150, 180, seed=5)
    gen = tmp_path / "in"
    assert main(["generate", "--listings", "150", "--demands", "180", "--seed", "5", "--out", str(gen)]) == 0
    base = match(m.demands, m.listings, method="one_to_one", top_k=3)
    ids_d, ids_l = m.demands.demand_id, m.listings.listing_id
    i0, j0 = int(base.demand[0]), int(base.listing[0])
    i1, j1 = int(base.demand[1]), int(base.listing[2])  # a pair the optimum did not make
    fb = tmp_path / "feedback.csv"
    fb.write_text("需求编号,房源编号,反馈\n"
                  f"{ids_d[i1]},{ids_l[j1]},refused\n"  # later signed: the last row counts
                  f"{ids_d[i0]},{ids_l[j0]},不合适\n"
                  f"{ids_d[i1]},{ids_l[j1]},已签约\n"
                  f"{ids_d[5]},{ids_l[5]},contacted\n", encoding="utf-8")
    locks, exclude = read_feedback_file(fb)
    assert locks == [(ids_d[i1], ids_l[j1])] and exclude == [(ids_d[i0], ids_l[j0])]
    out = tmp_path / "out"
    assert main(["match", str(gen / "listings.csv"), str(gen / "demands.csv"), "--out", str(out), "--quiet",
                 "--method", "one_to_one", "--feedback", str(fb)]) == 0
    def pairs_in(name):
        import csv

        with open(out / name, encoding="utf-8-sig", newline="") as fh:
            return {(r["demand_id"], r["listing_id"]) for r in csv.DictReader(fh)}

    made = pairs_in("pairs.csv")
    assert (ids_d[i1], ids_l[j1]) in made and (ids_d[i0], ids_l[j0]) not in made
    assert (ids_d[i0], ids_l[j0]) not in pairs_in("recommendations.csv")
    run = json.loads((out / "run.json").read_text("utf-8"))
    assert run["counts"]["locked"] == 1 and "feedback" in run["inputs"]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"demand_id,listing_id,action\n{ids_d[0]},{ids_l[0]},maybe\n", encoding="utf-8")
    assert main(["match", str(gen / "listings.csv"), str(gen / "demands.csv"), "--out", str(tmp_path / "o2"),
                 "--quiet", "--feedback", str(bad)]) == 2
