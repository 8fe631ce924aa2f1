"""generate → CSV/XLSX/JSON/JSONL → read gives the same records; the generator's own contract."""

import numpy as np
import pytest

from matcher import generate_market, read_demands, read_listings, write_records
from matcher.records import DEAL_LEASE, DEAL_SALE
from scoring.reference import industries


@pytest.fixture(scope="module")
def market():
    return generate_market(250, 350, seed=11)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "jsonl"])
def test_round_trip(tmp_path, market, fmt):
    write_records(market.listings, tmp_path / f"l.{fmt}")
    write_records(market.demands, tmp_path / f"d.{fmt}")
    rl = read_listings(tmp_path / f"l.{fmt}")
    rd = read_demands(tmp_path / f"d.{fmt}")
    assert not list(rl.report) and not list(rd.report)
    assert rl.records.equals(market.listings)
    assert rd.records.equals(market.demands)


def test_equals_notices_a_change(market):
    other = generate_market(250, 350, seed=12)
    assert not other.listings.equals(market.listings)
    assert market.listings.take(np.arange(250)).equals(market.listings)
    assert not market.listings.take(np.arange(249)).equals(market.listings)


def test_same_seed_same_market_different_seed_different_market():
    a, b, c = generate_market(50, 60, seed=3), generate_market(50, 60, seed=3), generate_market(50, 60, seed=4)
    assert a.listings.equals(b.listings) and a.demands.equals(b.demands)
    assert not a.demands.equals(c.demands)


def test_generated_values_are_valid_and_realistic():
    m = generate_market(4000, 4000, seed=5)
    l, d = m.listings, m.demands
    table = industries()
    assert all(table.index(c) is not None for c in d.industry_code)
    assert all(table.index(c) is not None for c in l.industries_allowed.values)
    assert np.all(l.area_m2 > 0) and np.all(d.area_min_m2 <= d.area_max_m2)
    assert 700 < np.median(d.area_min_m2 / 0.8) < 1100
    lease = (l.deal & DEAL_LEASE) > 0
    assert np.all((l.rent[lease] >= 10) & (l.rent[lease] <= 25)) and np.all(np.isnan(l.rent[~lease]))
    sale = (l.deal & DEAL_SALE) > 0
    assert np.all((l.sale_price[sale] >= 2500) & (l.sale_price[sale] <= 5500))
    units = l.min_unit_m2[~np.isnan(l.min_unit_m2)]
    assert units.size > 500 and np.all(units <= l.area_m2[~np.isnan(l.min_unit_m2)])
    assert set(np.unique(l.fire_class)) <= {1, 2, 3, 4, 5}
    assert np.all(np.abs(l.lat - 30.2) < 0.3) and np.all(np.abs(l.lon - 121.3) < 0.4)
    # towns are weighted by industry clusters, not uniform
    counts = np.bincount(l.town, minlength=25)
    assert counts.max() > 3 * max(counts[counts > 0].min(), 1)


def test_empty_market():
    m = generate_market(0, 0)
    assert len(m.listings) == 0 and len(m.demands) == 0
    with pytest.raises(ValueError):
        generate_market(-1, 0)
