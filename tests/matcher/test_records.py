import numpy as np
import pytest

from matcher import Demands, Listings, Ragged, generate_market


def test_ragged_layout_and_take():
    r = Ragged.from_lists([["a"], [], ["b", "c"]], str)
    assert len(r) == 3 and list(r.lengths) == [1, 0, 2] and list(r.row_index) == [0, 2, 2]
    assert list(r[2]) == ["b", "c"] and list(r[1]) == []
    t = r.take(np.array([2, 0]))
    assert [list(x) for x in t] == [["b", "c"], ["a"]]
    assert r.take(np.array([1])).values.size == 0
    with pytest.raises(ValueError):
        Ragged(np.array([1, 2]), np.array([0, 3]))


def test_records_validate_shapes_dtypes_and_ids():
    ok = Listings.from_columns({"listing_id": ["a", "b"]})
    assert len(ok) == 2 and np.isnan(ok.area_m2).all() and list(ok.eia_ok) == [-1, -1]
    with pytest.raises(ValueError, match="unique"):
        Listings.from_columns({"listing_id": ["a", "a"]})
    with pytest.raises(ValueError, match="empty"):
        Demands.from_columns({"demand_id": ["a", ""]})
    with pytest.raises(ValueError, match="unknown"):
        Demands.from_columns({"demand_id": ["a"], "colour": ["red"]})
    kw = {f.name: getattr(ok, f.name) for f in Listings.FIELDS}
    kw["area_m2"] = np.array([1, 2])  # int, not float64
    with pytest.raises(ValueError, match="area_m2"):
        Listings(**kw, rows=ok.rows)


def test_record_access_and_index():
    m = generate_market(5, 5, seed=1)
    d = m.demands
    i = d.index_of(str(d.ids[3]))
    assert i == 3
    rec = d.record(3)
    assert rec["demand_id"] == d.ids[3] and rec["deal"] in ("lease", "buy", "either")
    with pytest.raises(KeyError):
        d.index_of("nope")
    sub = d.take(d.deal == d.deal[0])
    assert len(sub) == int(np.sum(d.deal == d.deal[0])) and sub.ids[0] == d.ids[0]


def test_fields_cover_design():
    design_listing = [
        "listing_id", "deal", "town", "address", "lat", "lon", "park", "micro_park", "area_m2", "min_unit_m2",
        "rent", "sale_price", "negotiable", "floor", "clear_height_m", "floor_load_kg_m2", "power_kva",
        "crane_t", "fire_class", "eia_ok", "industries_allowed", "industries_banned", "title_certificate",
        "available_from", "min_lease_months", "min_tax_per_mu", "min_rating",
    ]
    design_demand = [
        "demand_id", "company", "deal", "area_min_m2", "area_max_m2", "towns", "origin", "anchor",
        "max_distance_km", "max_rent", "max_sale_price", "industry_code", "min_clear_height_m",
        "min_floor_load_kg_m2", "min_power_kva", "crane_t", "ground_floor", "fire_class", "needs_eia",
        "needs_certificate", "move_in_by", "lease_months", "tax_per_mu", "rating", "srdi",
    ]
    assert set(design_listing) <= {f.name for f in Listings.FIELDS}
    assert set(design_demand) <= {f.name for f in Demands.FIELDS}
