"""An independent plain-Python scorer: one pair at a time, ``math`` only.

Written from the documented formulas (the docstrings of ``scoring.rules`` and
``scoring.criteria.*``, ``scoring/data/default_profile.toml`` and
``scoring.kernels``), not from the vectorised code: no numpy arithmetic, no shared
helpers. It reads the reference *data* (towns, GB/T 4754, the supply-chain CSV) and
the profile's values, and nothing else from the package.

``reference_pair(d, l, i, j, profile, towns=None)`` returns ``(failed_bits, criteria,
total)``; ``towns`` is the table the town fields index (default: Cixi's gazetteer).
"""

from __future__ import annotations

import csv
import functools
import io
import math
from importlib import resources

from scoring.reference import gazetteer, industries

R = 6371.009
RULE_BITS = {
    "deal": 0, "area": 1, "fire_class": 2, "eia": 3, "industry_allowed": 4, "industry_banned": 5,
    "crane": 6, "ground_floor": 7, "floor_load": 8, "title_certificate": 9, "park_tax": 10,
    "park_rating": 11, "max_distance": 12, "available": 13, "lease_term": 14,
}
LEASE, SALE = 1, 2


def kernel(x: float, spec: dict) -> float:
    kind, offset, scale, q = spec["kind"], spec["offset"], spec["scale"], spec["decay"]
    d = max(x - offset, 0.0) / scale
    if kind == "step":
        return 1.0 if d <= 1 else 0.0
    if kind == "linear":
        return max(0.0, 1.0 - (1.0 - q) * d)
    if kind == "exp":
        return q ** d
    if kind == "gauss":
        return q ** (d * d)
    if kind == "rational":
        return 1.0 / (1.0 + (1.0 / q - 1.0) * d)
    if kind == "cauchy":
        return 1.0 / (1.0 + (1.0 / q - 1.0) * d * d)
    raise ValueError(kind)


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(math.sqrt(min(1.0, max(0.0, h))))


def isnan(x: float) -> bool:
    return x != x


@functools.cache
def chain_edges() -> list[tuple[str, str]]:
    text = resources.files("scoring").joinpath("data", "supply_chain.csv").read_text("utf-8")
    return [(r["supplier"], r["customer"]) for r in csv.DictReader(io.StringIO(text))]


def section(code: str) -> str:
    if code.isalpha():
        return code
    return industries().section_of(code) or ""


def under(code: str, prefix: str) -> bool:
    if prefix.isdigit():
        return code.startswith(prefix)
    return section(code) == prefix


def code_similarity(a: str, b: str, lv: dict, edges) -> float:
    common = 0
    if a.isdigit() and b.isdigit():
        for x, y in zip(a, b):
            if x != y:
                break
            common += 1
    if common >= 4:
        s = lv["same_class"]
    elif common == 3:
        s = lv["same_group"]
    elif common == 2:
        s = lv["same_division"]
    elif section(a) and section(a) == section(b):
        s = lv["same_section"]
    else:
        s = 0.0
    for u, v in edges:
        if (under(a, u) and under(b, v)) or (under(a, v) and under(b, u)):
            s = max(s, lv["chain"])
    return s


def days(v) -> float:
    """datetime64 -> day number; NaT -> nan; the "now" sentinel -> None."""
    s = str(v)
    if s == "NaT":
        return math.nan
    if s == "1900-01-01":
        return None
    import datetime

    return float((datetime.date.fromisoformat(s) - datetime.date(1970, 1, 1)).days)


def reference_pair(d, l, i: int, j: int, profile, towns=None) -> tuple[int, dict, float]:
    p = profile.to_dict()
    rules, g = p["rules"], gazetteer() if towns is None else towns
    def F(arr, k):  # reads like the F(field, row) of the formulas
        return float(arr[k])
    failed = 0

    def fail(name):
        nonlocal failed
        failed |= 1 << RULE_BITS[name]

    # ---- deal, title, lease term
    dd = int(d.deal[i]) or 3
    ld = int(l.deal[j]) or 3
    shared = dd & ld
    sale_blocked = int(d.needs_certificate[i]) == 1 and int(l.title_certificate[j]) != 1
    lease_m, min_lease = F(d.lease_months, i), F(l.min_lease_months, j)
    lease_blocked = (not isnan(lease_m)) and (not isnan(min_lease)) and lease_m < min_lease
    modes = shared
    if sale_blocked:
        modes &= ~SALE
    if lease_blocked:
        modes &= ~LEASE
    if shared == 0:
        fail("deal")
    if modes == 0 and sale_blocked and shared & SALE:
        fail("title_certificate")
    if modes == 0 and lease_blocked and shared & LEASE:
        fail("lease_term")

    # ---- area
    amin, amax = F(d.area_min_m2, i), F(d.area_max_m2, i)
    has_area = not (isnan(amin) and isnan(amax))
    amin = 0.0 if isnan(amin) else amin
    amax = math.inf if isnan(amax) else amax
    lo, hi = amin * (1 - rules["area_below"]), amax * (1 + rules["area_above"])
    area = F(l.area_m2, j)
    unit = F(l.min_unit_m2, j)
    if isnan(unit) or unit <= 0:
        offered = area
    else:
        k = max(math.ceil(amin / unit - 1e-9), 1)
        if k * unit > hi and k > 1:
            k -= 1
        k = min(k, math.floor(area / unit + 1e-9))
        offered = k * unit
    if has_area and not (lo <= offered <= hi):
        fail("area")

    # ---- building
    fire_d = int(d.fire_class[i])
    fire_l = int(l.fire_class[j]) or ("甲乙丙丁戊".index(rules["unknown_fire_class"]) + 1)
    if fire_d > 0 and fire_d < fire_l:
        fail("fire_class")
    if int(d.needs_eia[i]) == 1 and int(l.eia_ok[j]) == 0:
        fail("eia")
    code = str(d.industry_code[i])
    allowed = [str(x) for x in l.industries_allowed[j]]
    banned = [str(x) for x in l.industries_banned[j]]
    if allowed and not (code and any(under(code, x) for x in allowed)):
        fail("industry_allowed")
    if code and any(under(code, x) for x in banned):
        fail("industry_banned")
    # a crane written without its tonnage: needed, any crane will do; had, it meets any need
    crane_need = F(d.crane_t, i)
    crane_have = F(l.crane_t, j)
    need_any = bool(getattr(d, "crane_any", [False] * (i + 1))[i]) and isnan(crane_need)
    have_any = bool(getattr(l, "crane_any", [False] * (j + 1))[j]) and isnan(crane_have)
    crane_have = 0.0 if isnan(crane_have) else crane_have
    if have_any:
        pass
    elif need_any:
        if not crane_have > 0:
            fail("crane")
    elif crane_need > 0 and crane_have < crane_need:
        fail("crane")
    floor = F(l.floor, j)
    if int(d.ground_floor[i]) == 1 and not isnan(floor) and floor != 1:
        fail("ground_floor")
    need_load, have_load = F(d.min_floor_load_kg_m2, i), F(l.floor_load_kg_m2, j)
    if need_load > 0 and not isnan(have_load) and have_load < need_load:
        fail("floor_load")
    min_tax, tax = F(l.min_tax_per_mu, j), F(d.tax_per_mu, i)
    if min_tax > 0 and not (tax >= min_tax):
        fail("park_tax")
    if int(l.min_rating[j]) > 0 and int(d.rating[i]) < int(l.min_rating[j]):
        fail("park_rating")

    # ---- places
    places = [(float(g.lat[t]), float(g.lon[t]), int(t)) for t in d.towns[i]]  # (lat, lon, town or -1)
    for a, b in ((d.origin_lat, d.origin_lon), (d.anchor_lat, d.anchor_lon)):
        if not (isnan(F(a, i)) or isnan(F(b, i))):
            places.append((F(a, i), F(b, i), -1))
    llat, llon, ltown = F(l.lat, j), F(l.lon, j), int(l.town[j])
    approx = F(l.loc_approx_km, j)
    if (isnan(llat) or isnan(llon)) and ltown >= 0:
        llat, llon = float(g.lat[ltown]), float(g.lon[ltown])
        if isnan(approx):
            approx = float(g.approx_km[ltown])
    approx = 0.0 if isnan(approx) else approx
    has_loc = not (isnan(llat) or isnan(llon))
    dist = None
    if places and has_loc:
        dist = min(0.0 if (t >= 0 and t == ltown) else haversine(a, b, llat, llon) for a, b, t in places)
        dmax = F(d.max_distance_km, i)
        if not isnan(dmax) and dist > dmax + approx + rules["distance_slack_km"]:
            fail("max_distance")

    # ---- timing
    as_of = p["timing"]["as_of"]
    as_of_day = days(__import__("numpy").datetime64(as_of, "D")) if as_of else None
    move = days(d.move_in_by[i])
    if move is None:
        move = as_of_day if as_of_day is not None else math.nan
    avail = days(l.available_from[j])
    if avail is None:
        avail = as_of_day if as_of_day is not None else -math.inf
    if not isnan(move) and not isnan(avail) and avail - move > rules["grace_days"]:
        fail("available")

    # ---- criteria
    crit = {}
    if not has_area:
        crit["area"] = p["area"]["neutral"]
    else:
        short = max(amin - offered, 0.0) / amin if amin > 0 else 0.0
        over = max(offered - amax, 0.0) / amax if (math.isfinite(amax) and amax > 0) else 0.0
        crit["area"] = kernel(short, p["area"]["short"]) * kernel(over, p["area"]["over"])

    crit["location"] = p["location"]["neutral"] if dist is None else kernel(dist, p["location"]["distance"])

    def price_score(budget, price):
        if isnan(budget) or isnan(price):
            return p["price"]["neutral"]
        if bool(l.negotiable[j]):
            price = price * (1 - p["price"]["negotiable_discount"])
        return kernel((price - budget) / budget, p["price"]["over"])

    lease_s = price_score(F(d.max_rent, i), F(l.rent, j))
    sale_s = price_score(F(d.max_sale_price, i), F(l.sale_price, j))
    if dd == LEASE:
        crit["price"] = lease_s
    elif dd == SALE:
        crit["price"] = sale_s
    else:
        m = modes or shared or dd
        crit["price"] = max([s for s, bit in ((lease_s, LEASE), (sale_s, SALE)) if m & bit])

    lv = p["industry"]
    related = [str(x) for x in l.industries_allowed[j]] + [str(x) for x in l.tenant_industries[j]]
    if not code or not related:
        crit["industry"] = lv["neutral"]
    else:
        edges = chain_edges()
        crit["industry"] = max(code_similarity(code, c, lv, edges) for c in related)

    fp = p["facilities"]
    parts = []
    for need_f, have_f in (("min_clear_height_m", "clear_height_m"), ("min_floor_load_kg_m2", "floor_load_kg_m2"),
                           ("min_power_kva", "power_kva")):
        need, have = F(getattr(d, need_f), i), F(getattr(l, have_f), j)
        if not need > 0:
            continue
        if isnan(have):
            parts.append(fp["neutral"])
        elif have < need:
            parts.append(0.0)
        else:
            frac = min(1.0, (have - need) / (need * fp["full_margin"])) if fp["full_margin"] > 0 else 1.0
            parts.append(fp["at_minimum"] + (1 - fp["at_minimum"]) * frac)
    crit["facilities"] = sum(parts) / len(parts) if parts else fp["neutral"]

    if isnan(move) or isnan(avail):
        crit["timing"] = p["timing"]["neutral"]
    else:
        crit["timing"] = kernel(max(avail - move, 0.0), p["timing"]["late"])

    w = p["weights"]
    wsum = sum(w.values())
    total = sum(w[k] / wsum * crit[k] for k in crit) if failed == 0 else math.nan
    crit = {k: v for k, v in crit.items() if w[k] > 0}
    return failed, crit, total
