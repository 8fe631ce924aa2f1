"""Seeded synthetic markets of listings and demands with Cixi-like distributions.

:func:`generate_market` draws every field with numpy from one
``numpy.random.Generator(PCG64(seed))``: the same arguments always give the same
market. It builds the columnar records directly (no text parsing), so 10^5 records a
side take about a second. The distributions:

* towns weighted by their industry clusters (周巷/观海卫/掌起 appliances, 逍林/横河
  bearings, 宗汉/坎墩 textiles, 滨海 zone cables and PCBs, ...); a record's
  industry comes from its town's cluster; points scatter around the town centroid
  with a spread of half its ``approx_km``;
* listing areas log-normal (median 1500 ㎡); 25 % are 小微园 units, divisible into
  units of 200–600 ㎡; demand areas log-normal around 900 ㎡ with a ±20 % range,
  10 % open-ended ("以上");
* rents uniform 10–25 元/㎡/月, sale prices 2500–5500 元/㎡; budgets a little
  above the typical market;
* fire classes mostly 丙 (buildings) and 丙/丁/戊 (processes), a few 甲/乙;
  亩均评价 A–D and 亩均税收 log-normal (median 25 万元/亩); chain anchors (龙头企业)
  at fixed places for 20 % of demands.

Dates start from :data:`BASE_DATE`, so a market does not depend on today's date.

``counties=k`` spreads the same distributions over k synthetic copies of the county
(:func:`scoring.reference.towns`): each record's home county is drawn uniformly, and
its towns, places, anchors and wanted towns lie in that county; town fields then
index ``Market.towns``. One county draws exactly the market it always did.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matcher.records import AVAILABLE_NOW, DEAL_BOTH, DEAL_LEASE, DEAL_SALE, Demands, Listings
from scoring.reference import Towns, gazetteer
from scoring.reference import towns as county_towns

__all__ = ["BASE_DATE", "Market", "generate_market"]

BASE_DATE = np.datetime64("2027-01-01", "D")

# town → (weight, industries of its cluster as GB/T 4754 小类 codes)
_CLUSTERS: dict[str, tuple[float, tuple[str, ...]]] = {
    "周巷镇": (3.0, ("3854", "3855", "2929", "3525")),
    "观海卫镇": (3.0, ("3851", "3854", "3813", "3831")),
    "掌起镇": (2.0, ("3854", "3856", "2929")),
    "胜山镇": (1.5, ("3851", "2929", "3451")),
    "逍林镇": (1.5, ("3451", "3452", "3525")),
    "横河镇": (1.5, ("3451", "3525", "3484")),
    "长河镇": (1.5, ("2929", "1713", "1762")),
    "宗汉街道": (1.5, ("1713", "1819", "2929")),
    "坎墩街道": (1.5, ("1713", "1819", "1762")),
    "新浦镇": (1.5, ("3813", "3831", "3857")),
    "附海镇": (1.5, ("3857", "3813", "3451")),
    "桥头镇": (1.0, ("3484", "3525", "2929")),
    "匡堰镇": (1.0, ("3857", "3484")),
    "龙山镇": (1.0, ("3484", "3451", "3399")),
    "庵东镇": (1.0, ("2929", "3399")),
    "崇寿镇": (1.0, ("1762", "2929")),
    "浒山街道": (0.5, ("3982", "3857")),
    "白沙路街道": (0.5, ("3982", "3831")),
    "古塘街道": (0.5, ("3982", "3857")),
    "滨海经济开发区": (2.5, ("3831", "3982", "3525", "3813")),
    "高新技术产业园区": (1.0, ("3982", "3813")),
    "杭州湾新区": (1.0, ("3831", "3982", "3525")),
}
# chain leaders (龙头企业) that suppliers want to be near: name, town
_ANCHORS = (("方太厨具", "滨海经济开发区"), ("公牛集团", "观海卫镇"), ("卓力电器", "周巷镇"),
            ("月立电器", "胜山镇"), ("先锋电器", "掌起镇"))
_FIRE_BUILDING = np.array([1, 2, 3, 4, 5], dtype=np.int8), np.array([0.03, 0.07, 0.55, 0.20, 0.15])
_FIRE_PROCESS = np.array([1, 2, 3, 4, 5], dtype=np.int8), np.array([0.02, 0.05, 0.40, 0.30, 0.23])
_KM_PER_DEG_LAT = 111.2


@dataclass(frozen=True)
class Market:
    """A generated market: both sides, and the towns table their town fields index
    (:func:`scoring.reference.gazetteer` for one county; pass it to the scorer as
    ``scoring.Scorer(m.demands, m.listings, towns=m.towns)``)."""

    listings: Listings
    demands: Demands
    towns: Towns = field(default_factory=gazetteer)


def _towns_table(counties: int = 1) -> tuple[np.ndarray, np.ndarray, list[tuple[str, ...]]]:
    """The cluster towns of every county (county by county), their weights, their industries."""
    g = gazetteer()
    idx, weights, inds = [], [], []
    for name, (w, codes) in _CLUSTERS.items():
        i = g.find(name)
        if i is not None:
            idx.append(i)
            weights.append(w)
            inds.append(codes)
    p = np.array(weights)
    base = np.array(idx, dtype=np.int64)
    shift = np.repeat(np.arange(counties, dtype=np.int64) * len(g), len(base))
    return (np.tile(base, counties) + shift).astype(np.int16), np.tile(p / p.sum(), counties) / counties, \
        inds * counties


def _scatter(rng: np.random.Generator, town: np.ndarray, spread: float = 0.5,
             g: Towns | None = None) -> tuple[np.ndarray, np.ndarray]:
    g = gazetteer() if g is None else g
    sd_km = g.approx_km[town] * spread
    lat = g.lat[town] + rng.normal(0.0, 1.0, len(town)) * sd_km / _KM_PER_DEG_LAT
    lon = g.lon[town] + rng.normal(0.0, 1.0, len(town)) * sd_km / (_KM_PER_DEG_LAT * np.cos(np.radians(g.lat[town])))
    return np.round(lat, 6), np.round(lon, 6)


def _pick_industry(rng: np.random.Generator, cluster: np.ndarray, inds: list[tuple[str, ...]]) -> np.ndarray:
    width = max(len(c) for c in inds)
    table = np.array([list(c) + [c[0]] * (width - len(c)) for c in inds], dtype="<U4")
    sizes = np.array([len(c) for c in inds])
    which = (rng.random(len(cluster)) * sizes[cluster]).astype(np.int64)
    return table[cluster, which]


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{k:07d}" for k in range(1, n + 1)], dtype=str)


def _maybe(rng: np.random.Generator, p: float, values: np.ndarray, empty: float = np.nan) -> np.ndarray:
    out = values.astype(np.float64)
    out[rng.random(len(values)) >= p] = empty
    return out


def _tri(rng: np.random.Generator, n: int, p_known: float, p_yes: float) -> np.ndarray:
    known = rng.random(n) < p_known
    yes = rng.random(n) < p_yes
    return np.where(known, yes.astype(np.int8), np.int8(-1)).astype(np.int8)


def _dates(rng: np.random.Generator, n: int, p_now: float, p_known: float) -> np.ndarray:
    u = rng.random(n)
    days = rng.integers(0, 365, n)
    out = BASE_DATE + days.astype("timedelta64[D]")
    out = np.where(u < p_now, AVAILABLE_NOW, out)
    return np.where(u >= p_known, np.datetime64("NaT", "D"), out).astype("datetime64[D]")


def generate_market(n_listings: int, n_demands: int, seed: int = 0, counties: int = 1) -> Market:
    """Draw a synthetic market.

    Parameters
    ----------
    n_listings, n_demands : int
        Records per side (>= 0).
    seed : int
        Seed of the random generator; same seed, same market.
    counties : int
        Copies of the county's towns placed side by side (:func:`scoring.reference.towns`),
        1 to :data:`scoring.reference.MAX_COUNTIES`; records are spread evenly over them.

    Returns
    -------
    Market
        ``listings`` (ids ``L0000001`` ...), ``demands`` (ids ``D0000001`` ...) and
        ``towns``, the table their town fields index.

    Examples
    --------
    >>> m = generate_market(100, 150, seed=1)
    >>> len(m.listings), len(m.demands)
    (100, 150)
    >>> m = generate_market(100, 150, seed=1, counties=3)
    >>> len(m.towns), int(m.listings.town.max()) >= 25
    (75, True)
    """
    if n_listings < 0 or n_demands < 0:
        raise ValueError("n_listings and n_demands must be >= 0")
    g = county_towns(counties)
    rng = np.random.default_rng(seed)
    towns, p_town, inds = _towns_table(counties)
    return Market(_listings(rng, n_listings, towns, p_town, inds, g),
                  _demands(rng, n_demands, towns, p_town, inds, g), g)


def _listings(rng: np.random.Generator, n: int, towns: np.ndarray, p_town: np.ndarray,
              inds: list[tuple[str, ...]], g: Towns) -> Listings:
    cluster = rng.choice(len(towns), size=n, p=p_town)
    town = towns[cluster]
    lat, lon = _scatter(rng, town, g=g)
    micro = rng.random(n) < 0.25
    unit = np.round(rng.uniform(200, 600, n) / 10) * 10
    n_units = rng.integers(3, 13, n)
    area = np.where(micro, unit * n_units, np.round(rng.lognormal(np.log(1500), 0.6, n) / 10) * 10)
    area = np.clip(area, 100, 200_000)
    deal = rng.choice(np.array([DEAL_LEASE, DEAL_SALE, DEAL_BOTH], dtype=np.int8), size=n, p=[0.7, 0.15, 0.15])
    rent = np.where(deal & DEAL_LEASE, np.round(rng.uniform(10, 25, n), 1), np.nan)
    sale = np.where(deal & DEAL_SALE, np.round(rng.uniform(2500, 5500, n) / 10) * 10, np.nan)
    ground = rng.random(n) < 0.7
    floor = np.where(ground, 1.0, rng.integers(2, 6, n).astype(np.float64))
    height = np.where(ground, np.round(rng.uniform(6, 12, n), 1), np.round(rng.uniform(4.5, 6, n), 1))
    load = np.where(ground, np.round(rng.uniform(2000, 5000, n), -2), np.round(rng.uniform(500, 1000, n), -2))
    crane = np.where(ground & (rng.random(n) < 0.35), rng.choice([3.0, 5.0, 10.0, 16.0, 20.0], n), 0.0)
    allowed_lists: list[tuple[str, ...]] = []
    banned_lists: list[tuple[str, ...]] = []
    tenant_lists: list[tuple[str, ...]] = []
    u = rng.random((n, 3))
    for k in range(n):
        c = inds[cluster[k]]
        allowed_lists.append(tuple(sorted({code[:2] for code in c})) if micro[k] and u[k, 0] < 0.6 else ())
        banned_lists.append(("26",) if u[k, 1] < 0.15 else ())
        tenant_lists.append(c[:2] if micro[k] and u[k, 2] < 0.5 else ())
    tax = np.where(micro & (rng.random(n) < 0.5), rng.choice([10.0, 20.0, 30.0], n), np.nan)
    rating = np.where(micro & (rng.random(n) < 0.5), rng.choice(np.array([2, 3], dtype=np.int8), n), 0)
    ids = _ids("L", n)
    short = [str(name)[:2] for name in g.names]
    parks = np.array([f"{g.names[t]}小微企业园" if m else "" for t, m in zip(town, micro)], dtype=str)
    return Listings.from_columns({
        "listing_id": ids,
        "owner": np.array([f"慈溪市{short[t]}{k % 997:03d}实业有限公司" for k, t in enumerate(town)], dtype=str),
        "deal": deal,
        "town": town,
        "lat": lat,
        "lon": lon,
        "loc_approx_km": np.zeros(n),
        "park": parks,
        "micro_park": micro.astype(np.int8),
        "area_m2": area,
        "min_unit_m2": np.where(micro, unit, np.nan),
        "rent": rent,
        "sale_price": sale,
        "negotiable": rng.random(n) < 0.1,
        "floor": floor,
        "clear_height_m": height,
        "floor_load_kg_m2": load,
        "power_kva": np.round(rng.uniform(100, 1250, n), -1),
        "crane_t": crane,
        "fire_class": rng.choice(_FIRE_BUILDING[0], size=n, p=_FIRE_BUILDING[1]).astype(np.int8),
        "eia_ok": _tri(rng, n, 0.9, 0.8),
        "industries_allowed": allowed_lists,
        "industries_banned": banned_lists,
        "tenant_industries": tenant_lists,
        "title_certificate": np.where(deal & DEAL_SALE, (rng.random(n) < 0.9).astype(np.int8),
                                      _tri(rng, n, 0.8, 0.7)).astype(np.int8),
        "available_from": _dates(rng, n, 0.6, 0.95),
        "min_lease_months": _maybe(rng, 0.5, rng.choice([12.0, 24.0, 36.0], n)),
        "min_tax_per_mu": tax,
        "min_rating": rating.astype(np.int8),
    })


def _demands(rng: np.random.Generator, n: int, towns: np.ndarray, p_town: np.ndarray,
             inds: list[tuple[str, ...]], g: Towns) -> Demands:
    cluster = rng.choice(len(towns), size=n, p=p_town)
    home = towns[cluster]
    n_cl = len(towns) // g.n_counties  # cluster towns per county
    county = cluster // n_cl
    centre = np.round(rng.lognormal(np.log(900), 0.7, n) / 10) * 10
    centre = np.clip(centre, 50, 100_000)
    lo = np.round(centre * 0.8, 1)
    hi = np.where(rng.random(n) < 0.1, np.inf, np.round(centre * 1.2, 1))
    deal = rng.choice(np.array([DEAL_LEASE, DEAL_SALE, DEAL_BOTH], dtype=np.int8), size=n, p=[0.75, 0.15, 0.10])
    n_towns = rng.choice([0, 1, 2, 3], size=n, p=[0.2, 0.4, 0.3, 0.1])
    near = rng.integers(0, n_cl, size=(n, 2)) + (county * n_cl)[:, None]  # in the home county
    town_lists = []
    for k in range(n):
        chosen = [int(home[k])]
        for extra in near[k]:
            t = int(towns[extra])
            if t not in chosen:
                chosen.append(t)
        town_lists.append(tuple(chosen[: n_towns[k]]))
    has_origin = rng.random(n) < 0.6
    olat, olon = _scatter(rng, home, g=g)
    has_anchor = rng.random(n) < 0.2
    anchor_k = rng.integers(0, len(_ANCHORS), n)
    anchor_town = (np.array([g.find(t) for _, t in _ANCHORS], dtype=np.int64)[anchor_k]
                   + county * (len(g) // g.n_counties))
    anchor_name = np.array([a for a, _ in _ANCHORS], dtype=str)[anchor_k]
    ids = _ids("D", n)
    industry = _pick_industry(rng, cluster, inds)
    with np.errstate(invalid="ignore"):
        needs_cert = np.where(deal & DEAL_SALE, np.int8(1), _tri(rng, n, 0.3, 0.5)).astype(np.int8)
    return Demands.from_columns({
        "demand_id": ids,
        "company": np.array([f"慈溪{k % 9973:04d}制造有限公司" for k in range(n)], dtype=str),
        "deal": deal,
        "area_min_m2": lo,
        "area_max_m2": hi,
        "towns": town_lists,
        "origin": np.where(has_origin, g.names[home], ""),
        "origin_lat": np.where(has_origin, olat, np.nan),
        "origin_lon": np.where(has_origin, olon, np.nan),
        "anchor": np.where(has_anchor, anchor_name, ""),
        "anchor_lat": np.where(has_anchor, g.lat[anchor_town], np.nan),
        "anchor_lon": np.where(has_anchor, g.lon[anchor_town], np.nan),
        "max_distance_km": _maybe(rng, 0.3, np.round(rng.uniform(5, 20, n))),
        "max_rent": np.where(deal & DEAL_LEASE, np.round(rng.uniform(12, 28, n), 1), np.nan),
        "max_sale_price": np.where(deal & DEAL_SALE, np.round(rng.uniform(3000, 6000, n) / 10) * 10, np.nan),
        "industry_code": industry,
        "min_clear_height_m": _maybe(rng, 0.3, np.round(rng.uniform(6, 9, n), 1)),
        "min_floor_load_kg_m2": _maybe(rng, 0.2, np.round(rng.uniform(1000, 3000, n), -2)),
        "min_power_kva": _maybe(rng, 0.3, np.round(rng.uniform(50, 800, n), -1)),
        "crane_t": _maybe(rng, 0.15, rng.choice([3.0, 5.0, 10.0, 16.0], n)),
        "ground_floor": np.where(rng.random(n) < 0.4, np.int8(1), np.int8(-1)).astype(np.int8),
        "fire_class": rng.choice(_FIRE_PROCESS[0], size=n, p=_FIRE_PROCESS[1]).astype(np.int8),
        "needs_eia": _tri(rng, n, 0.8, 0.5),
        "needs_certificate": needs_cert,
        "move_in_by": _dates(rng, n, 0.2, 0.8),
        "lease_months": np.where(deal & DEAL_LEASE, _maybe(rng, 0.6, rng.choice([12.0, 24.0, 36.0, 60.0], n)), np.nan),
        "tax_per_mu": _maybe(rng, 0.7, np.round(rng.lognormal(np.log(25), 0.6, n), 1)),
        "rating": rng.choice(np.array([0, 1, 2, 3, 4], dtype=np.int8), n, p=[0.2, 0.1, 0.3, 0.3, 0.1]),
        "srdi": np.where(rng.random(n) < 0.1, np.int8(1), np.int8(-1)).astype(np.int8),
    })
