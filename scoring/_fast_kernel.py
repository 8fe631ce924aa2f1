"""The compiled loop of :mod:`scoring.fast` (imports numba: load it only through there)."""

import math

import numba
import numpy as np

nan = math.nan
ROWS, TILE = 32, 256  # demand rows per parallel task, listings per cache tile


@numba.njit(inline="always")
def decay(x, kind, kp):
    # kp: offset, scale, decay q, log(q)
    if x != x:
        return nan
    d = x - kp[0]
    if d <= 0.0:
        return 1.0  # every kernel scores a gap within the offset 1
    d = d / kp[1]
    if kind == 0:
        return 1.0 if d <= 1.0 else 0.0
    if kind == 1:
        v = 1.0 - (1.0 - kp[2]) * d
        return v if v > 0.0 else 0.0
    if kind == 2:
        return math.exp(kp[3] * d)
    if kind == 3:
        return math.exp(kp[3] * d * d)
    if kind == 4:
        return 1.0 / (1.0 + (1.0 / kp[2] - 1.0) * d)
    return 1.0 / (1.0 + (1.0 / kp[2] - 1.0) * d * d)

@numba.njit(inline="always")
def margin(need, have, at_min, full, neutral):
    """One facility's score (0 when the demand asks for none of it)."""
    if not need > 0:
        return 0.0
    if have != have:
        return neutral
    if have < need:
        return 0.0
    r = (have - need) / (need * full) if full > 0 else 1.0
    return at_min + (1.0 - at_min) * (r if r < 1.0 else 1.0)


@numba.njit(inline="always")
def nearest_c2(points, p0, p1, vec, j, in_town):
    """Squared chord to the nearest place (0 inside a wanted town)."""
    if in_town:
        return 0.0
    best = -2.0
    for q in range(p0, p1):
        c = points[q, 0] * vec[j, 0] + points[q, 1] * vec[j, 1] + points[q, 2] * vec[j, 2]
        if c > best:
            best = c
    c2 = 2.0 - 2.0 * best
    return c2 if c2 > 0.0 else 0.0

@numba.njit(inline="always")
def c2_km(c2, r2):
    y = math.sqrt(c2) / 2.0
    if y < 0.1:  # asin series, exact to double precision well past a county
        y2 = y * y
        return r2 * y * (1.0 + y2 * (1.0 / 6.0 + y2 * (3.0 / 40.0 + y2 * (5.0 / 112.0 + y2 * (35.0 / 1152.0)))))
    return r2 * math.asin(y if y < 1.0 else 1.0)

@numba.njit(parallel=True, nogil=True, cache=True)
def run(  # demands
        d_deal, d_has_area, d_amin, d_amax, d_lo, d_hi, d_points, d_off, d_wanted, d_maxd,
        d_rent, d_sale, d_height, d_load, d_power, d_crane, d_cert, d_move, d_lease, d_tax,
        d_cat, d_code_row,
        # listings
        l_deal, l_area, l_unit, l_has_loc, l_vec, l_town, l_rent, l_sale, l_neg,
        l_height, l_load, l_power, l_crane, l_title, l_avail, l_min_lease, l_related,
        l_level, l_inv_unit, l_units, l_tax_need,
        # tables (per demand class or code, by listing) and profile
        levels, cat_bits, code_bits, synergy, kinds, kparams, p, weights,
        # outputs
        failed, total, crit, keep):
    n, m = failed.shape
    R2 = 2.0 * p[0]
    grace, disc = p[2], p[3]
    n_area, n_loc, n_price, n_fac, n_time = p[4], p[5], p[6], p[7], p[8]
    at_min, full = p[9], p[10]
    # rows in chunks across threads; listings in tiles that stay in cache while a
    # chunk's rows sweep them
    # the distance limit of every row for every level of listing uncertainty,
    # as a squared chord: km > limit  <=>  chord^2 > (2 sin(limit / 2R))^2
    thr_c2 = np.empty((n, levels.size))
    for i in numba.prange(n):
        for k in range(levels.size):
            half = (d_maxd[i] + levels[k]) / R2
            thr_c2[i, k] = (2.0 * math.sin(half)) ** 2 if half < math.pi / 2 else 4.0
    n_chunks = (n + ROWS - 1) // ROWS
    for ci in numba.prange(n_chunks):
        c2 = np.empty(TILE)  # squared chord to the nearest place, per listing of the tile
        ff = np.empty(TILE, dtype=np.int64)  # failed bits, per listing of the tile
        aa = np.empty(TILE)  # offered area
        mo = np.empty(TILE, dtype=np.int64)  # deal types left
        for j0 in range(0, m, TILE):
            j1 = min(j0 + TILE, m)
            w = j1 - j0
            for i in range(ci * ROWS, min(ci * ROWS + ROWS, n)):
                dd = d_deal[i]
                p0, p1 = d_off[i], d_off[i + 1]
                amin, amax, lo, hi = d_amin[i], d_amax[i], d_lo[i], d_hi[i]
                cert = d_cert[i] == 1
                lease = d_lease[i]
                crane_i = d_crane[i]  # 0 when none: no listing is lighter than 0
                load_i = d_load[i] if d_load[i] > 0 else -math.inf
                tax_i = d_tax[i] if d_tax[i] == d_tax[i] else -math.inf  # unknown: below any need
                has_area = d_has_area[i]
                move = d_move[i]
                move_by = move + grace  # NaN when no date: never late
                n_needs = (d_height[i] > 0) + (d_load[i] > 0) + (d_power[i] > 0)
                cat_i = d_cat[i]
                code_i = d_code_row[i]
                located = p1 > p0
                limited = located and d_maxd[i] < math.inf

                # pass 1: the nearest place, one point at a time (vectorises over listings);
                # rows without a distance limit need it on feasible pairs only (pass 3)
                if limited:
                    for t in range(w):
                        c2[t] = -2.0
                    for q in range(p0, p1):
                        x, y, z = d_points[q, 0], d_points[q, 1], d_points[q, 2]
                        for t in range(w):
                            j = j0 + t
                            c = x * l_vec[j, 0] + y * l_vec[j, 1] + z * l_vec[j, 2]
                            c2[t] = max(c2[t], c)
                    for t in range(w):
                        j = j0 + t
                        v = 2.0 - 2.0 * c2[t]
                        v = v if v > 0.0 else 0.0
                        c2[t] = 0.0 if d_wanted[i, l_town[j]] else v

                # pass 2: every rule, branch-free bit arithmetic; numeric rules first
                for t in range(w):
                    j = j0 + t
                    # offered area: whole units of a divisible listing (unit > 0), else all
                    u = l_unit[j]
                    k = max(math.ceil(amin * l_inv_unit[j] - 1e-9), 1.0)
                    k -= (k * u > hi) & (k > 1.0)
                    k = min(k, l_units[j])
                    a = k * u if u > 0 else l_area[j]
                    aa[t] = a
                    ff[t] = ((has_area & (not ((lo <= a) & (a <= hi)))) << 1
                             | (l_crane[j] < crane_i) << 6
                             | (l_load[j] < load_i) << 8
                             | (tax_i < l_tax_need[j]) << 10
                             | (l_avail[j] > move_by) << 13)
                if limited:
                    for t in range(w):
                        j = j0 + t
                        ff[t] |= (l_has_loc[j] & (c2[t] > thr_c2[i, l_level[j]])) << 12
                # then the deal types left, and the rules precomputed per demand class
                # (fire, eia, ground floor, rating) and per code (admitted, banned)
                for t in range(w):
                    j = j0 + t
                    shared = dd & l_deal[j]
                    sb = cert & (l_title[j] != 1)
                    lb = lease < l_min_lease[j]
                    modes = shared & (3 - 2 * sb - lb)
                    mo[t] = modes
                    lost = modes == 0
                    f = (ff[t] | cat_bits[cat_i, j] | code_bits[code_i, j] | (shared == 0)
                         | (lost & sb & ((shared & 2) != 0)) << 9
                         | (lost & lb & ((shared & 1) != 0)) << 14)
                    ff[t] = f
                    failed[i, j] = f

                # pass 3: the criteria, on feasible pairs (all pairs when they are kept)
                for t in range(w):
                    j = j0 + t
                    f = ff[t]
                    if f != 0 and not keep:
                        total[i, j] = nan
                        continue
                    shared = dd & l_deal[j]
                    modes = mo[t]
                    a = aa[t]
                    if has_area:
                        short = (amin - a) / amin if amin > 0 else 0.0
                        over = (a - amax) / amax if (amax < math.inf and amax > 0) else 0.0
                        s_area = decay(short, kinds[0], kparams[0]) * decay(over, kinds[1], kparams[1])
                    else:
                        s_area = n_area
                    if located and l_has_loc[j]:
                        cc = c2[t] if limited else nearest_c2(d_points, p0, p1, l_vec, j, d_wanted[i, l_town[j]])
                        s_loc = decay(c2_km(cc, R2), kinds[2], kparams[2])
                    else:
                        s_loc = n_loc
                    # price: one deal type, or the better of those the pair allows
                    s_lease = n_price
                    if d_rent[i] == d_rent[i] and l_rent[j] == l_rent[j]:
                        price = l_rent[j] * (1.0 - disc) if l_neg[j] else l_rent[j]
                        s_lease = decay(price / d_rent[i] - 1.0, kinds[3], kparams[3])
                    s_sale = n_price
                    if d_sale[i] == d_sale[i] and l_sale[j] == l_sale[j]:
                        price = l_sale[j] * (1.0 - disc) if l_neg[j] else l_sale[j]
                        s_sale = decay(price / d_sale[i] - 1.0, kinds[3], kparams[3])
                    if dd == 1:
                        s_price = s_lease
                    elif dd == 2:
                        s_price = s_sale
                    else:
                        mm = modes
                        if mm == 0:
                            mm = shared
                        if mm == 0:
                            mm = 3
                        s_price = -1.0
                        if mm & 1:
                            s_price = s_lease
                        if mm & 2 and s_sale > s_price:
                            s_price = s_sale
                    s_ind = synergy[code_i, l_related[j]]
                    if n_needs:
                        acc = (margin(d_height[i], l_height[j], at_min, full, n_fac)
                               + margin(d_load[i], l_load[j], at_min, full, n_fac)
                               + margin(d_power[i], l_power[j], at_min, full, n_fac))
                        s_fac = acc / n_needs
                    else:
                        s_fac = n_fac
                    if move == move and l_avail[j] == l_avail[j]:
                        s_time = decay(l_avail[j] - move, kinds[4], kparams[4])
                    else:
                        s_time = n_time
                    tot = (weights[0] * s_area + weights[1] * s_loc + weights[2] * s_price
                           + weights[3] * s_ind + weights[4] * s_fac + weights[5] * s_time)
                    total[i, j] = tot if f == 0 else nan
                    if keep:
                        crit[0, i, j] = s_area
                        crit[1, i, j] = s_loc
                        crit[2, i, j] = s_price
                        crit[3, i, j] = s_ind
                        crit[4, i, j] = s_fac
                        crit[5, i, j] = s_time


@numba.njit(parallel=True, nogil=True, cache=True)
def select_top(t, k, tie, index, scores, count):
    """Per row of ``t``: the k highest non-NaN values, ties by ascending ``tie``.

    Writes ``index`` (int64, -1 padded), ``scores`` (NaN padded) and ``count``; the same
    result as ``scoring.engine.select_top``.
    """
    n, m = t.shape
    for r in numba.prange(n):
        c = 0
        for j in range(m):
            v = t[r, j]
            if v != v:
                continue
            tj = tie[j]
            if c == k:  # full: v must beat the last one
                lv, lt = scores[r, k - 1], tie[index[r, k - 1]]
                if v < lv or (v == lv and tj > lt):
                    continue
                pos = k - 1
            else:
                pos = c
                c += 1
            # insertion: move worse entries down
            while pos > 0:
                pv, pt = scores[r, pos - 1], tie[index[r, pos - 1]]
                if v > pv or (v == pv and tj < pt):
                    scores[r, pos] = pv
                    index[r, pos] = index[r, pos - 1]
                    pos -= 1
                else:
                    break
            scores[r, pos] = v
            index[r, pos] = j
        count[r] = c
        for q in range(c, k):
            scores[r, q] = nan
            index[r, q] = -1
