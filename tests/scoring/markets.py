"""Hypothesis strategies for small, messy markets (every field, missing values included)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from matcher.records import AVAILABLE_NOW, Demands, Listings
from scoring.reference import gazetteer

CODES = ["2929", "2927", "292", "29", "C", "3854", "3851", "385", "38", "3525", "3813", "3831", "3982",
         "3451", "2651", "2611", "26", "1713", "1819", "F", "5191"]
N_TOWNS = len(gazetteer())
BASE = np.datetime64("2027-01-01", "D")


def maybe(s, p_none=0.3):
    """``s`` or NaN, NaN with probability about ``p_none``."""
    return st.integers(0, 99).flatmap(lambda u: st.just(math.nan) if u < 100 * p_none else s)


def rounded(lo, hi, digits=1):
    return st.floats(lo, hi, allow_nan=False).map(lambda x: round(x, digits))


tri = st.sampled_from([-1, 0, 1])
dates = st.one_of(st.just(np.datetime64("NaT")), st.just(AVAILABLE_NOW),
                  st.integers(-30, 150).map(lambda k: BASE + np.timedelta64(k, "D")))
lat = rounded(30.0, 30.35, 4)
lon = rounded(121.0, 121.6, 4)
code_lists = st.lists(st.sampled_from(CODES), max_size=3, unique=True)
# rule inputs lean permissive, so a fair share of pairs is feasible and totals get compared
rare_lists = st.one_of(st.just([]), st.just([]), code_lists)
lenient_tri = st.sampled_from([-1, -1, 0, 1, 1])


@st.composite
def listing_rows(draw):
    town = draw(st.integers(-1, N_TOWNS - 1))
    has_xy = draw(st.booleans())
    area = draw(rounded(50, 6000, 0))
    return {
        "deal": draw(st.sampled_from([0, 1, 2, 3])),
        "town": town,
        "lat": draw(lat) if has_xy else math.nan,
        "lon": draw(lon) if has_xy else math.nan,
        "loc_approx_km": 0.0 if has_xy else (math.nan if town < 0 else float(gazetteer().approx_km[town])),
        "area_m2": area,
        "min_unit_m2": draw(maybe(rounded(50, 900, 0), 0.6)),
        "rent": draw(maybe(rounded(5, 40, 1))),
        "sale_price": draw(maybe(rounded(1500, 9000, 0))),
        "negotiable": draw(st.booleans()),
        "floor": draw(maybe(st.sampled_from([1.0, 2.0, 3.0, 5.0]))),
        "clear_height_m": draw(maybe(rounded(3, 15, 1))),
        "floor_load_kg_m2": draw(maybe(rounded(300, 3000, 0))),
        "power_kva": draw(maybe(rounded(50, 2000, 0))),
        "crane_t": draw(maybe(st.sampled_from([0.0, 3.0, 5.0, 10.0, 20.0]))),
        "crane_any": draw(st.booleans()),  # a crane of unwritten tonnage where crane_t is NaN
        "fire_class": draw(st.sampled_from([0, 1, 2, 3, 3, 4, 5])),
        "eia_ok": draw(tri),
        "industries_allowed": draw(rare_lists),
        "industries_banned": draw(rare_lists),
        "tenant_industries": draw(code_lists),
        "title_certificate": draw(lenient_tri),
        "available_from": draw(dates),
        "min_lease_months": draw(maybe(st.sampled_from([6.0, 12.0, 24.0, 36.0]))),
        "min_tax_per_mu": draw(maybe(rounded(0, 50, 1), 0.8)),
        "min_rating": draw(st.sampled_from([0, 0, 0, 0, 0, 1, 2, 3, 4])),
    }


@st.composite
def demand_rows(draw):
    lo = draw(maybe(rounded(0, 5000, 0), 0.2))
    span = draw(st.one_of(st.just(math.inf), rounded(0, 3000, 0)))
    hi = math.nan if math.isnan(lo) and draw(st.booleans()) else (lo if not math.isnan(lo) else 0.0) + span
    has_o = draw(st.booleans())
    has_a = draw(st.booleans())
    return {
        "deal": draw(st.sampled_from([0, 1, 2, 3])),
        "area_min_m2": lo,
        "area_max_m2": hi,
        "towns": draw(st.lists(st.integers(0, N_TOWNS - 1), max_size=3, unique=True)),
        "origin_lat": draw(lat) if has_o else math.nan,
        "origin_lon": draw(lon) if has_o else math.nan,
        "anchor_lat": draw(lat) if has_a else math.nan,
        "anchor_lon": draw(lon) if has_a else math.nan,
        "max_distance_km": draw(maybe(rounded(0, 60, 1), 0.5)),
        "max_rent": draw(maybe(rounded(5, 40, 1))),
        "max_sale_price": draw(maybe(rounded(1500, 9000, 0))),
        "industry_code": draw(st.one_of(st.just(""), st.sampled_from(CODES))),
        "min_clear_height_m": draw(maybe(rounded(3, 15, 1), 0.5)),
        "min_floor_load_kg_m2": draw(maybe(rounded(300, 3000, 0), 0.5)),
        "min_power_kva": draw(maybe(rounded(50, 2000, 0), 0.5)),
        "crane_t": draw(maybe(st.sampled_from([0.0, 3.0, 5.0, 10.0]), 0.7)),
        "crane_any": draw(st.booleans()),
        "ground_floor": draw(st.sampled_from([-1, 0, 0, 1])),
        "fire_class": draw(st.sampled_from([0, 1, 3, 3, 4, 4, 5, 5])),
        "needs_eia": draw(st.sampled_from([-1, 0, 0, 1])),
        "needs_certificate": draw(tri),
        "move_in_by": draw(dates),
        "lease_months": draw(maybe(st.sampled_from([6.0, 12.0, 24.0, 60.0]))),
        "tax_per_mu": draw(maybe(rounded(0, 60, 1), 0.2)),
        "rating": draw(st.sampled_from([0, 1, 2, 3, 4, 4])),
    }


# Fields that only feed hard rules, blanked in "lenient" markets so that most pairs are
# feasible and the totals are compared (the criteria read the rest).
LENIENT_LISTING = {"industries_allowed": [], "industries_banned": [], "min_tax_per_mu": math.nan,
                   "min_rating": 0, "eia_ok": -1, "min_lease_months": math.nan, "title_certificate": 1}
LENIENT_DEMAND = {"fire_class": 0, "crane_t": math.nan, "crane_any": False, "ground_floor": -1, "needs_eia": -1,
                  "max_distance_km": math.nan, "needs_certificate": -1, "min_floor_load_kg_m2": math.nan}


def _lenient(rows, blank):
    return [{**r, **blank} for r in rows]


def _columns(rows, id_field, prefix):
    cols = {k: [r[k] for r in rows] for k in rows[0]} if rows else {}
    cols[id_field] = [f"{prefix}{k:03d}" for k in range(len(rows))]
    return cols


def build(listing_list, demand_list):
    listings = Listings.from_columns(_columns(listing_list, "listing_id", "L"))
    demands = Demands.from_columns(_columns(demand_list, "demand_id", "D"))
    return demands, listings


markets = st.tuples(st.lists(listing_rows(), min_size=1, max_size=6),
                    st.lists(demand_rows(), min_size=1, max_size=6)).map(lambda t: build(t[0], t[1]))
lenient_markets = st.tuples(st.lists(listing_rows(), min_size=1, max_size=6),
                            st.lists(demand_rows(), min_size=1, max_size=6)).map(
    lambda t: build(_lenient(t[0], LENIENT_LISTING), _lenient(t[1], LENIENT_DEMAND)))
