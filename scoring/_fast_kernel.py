"""The compiled core of :mod:`scoring.fast` (imports numba: load it only through there).

One function evaluates a block of rows against one *tile* of listings ``j0:j1`` of the
prepared arrays, every rule into a failed-bit word and, on feasible pairs, every
criterion into the total (:func:`eval_rows`). The drivers below only differ in what
they do with a tile's results: write them (:func:`dense`), collect candidate pairs, each
row's or column's k best and per-record statistics (:func:`candidates`, which also serves
``Scorer.top_k``), or check reduced scores (:func:`dual`).

Nothing here restates a definition by value. Every constant comes in as an argument,
built in one place by :mod:`scoring.fast` from the definitions:

* ``F`` -- the rule flags, one field per rule of :data:`scoring.rules.RULES` (``F.area``);
* ``P`` -- the profile's scalars by name (``P.grace_days``), and ``K`` its decay
  kernels by criterion (``K.area_short``), with ``KIND`` naming the kernel kinds;
* ``W`` -- the normalised weights by criterion name, ``CI`` each criterion's position
  in :data:`scoring.criteria.CRITERIA` (the order of a criteria output);
* the whole-units arithmetic is :func:`scoring.units.offered_area` itself, compiled.

Rows (demands) and columns (listings) are positions in the arrays given; a driver works
on ``rows r0:r1`` and ``columns c0:c1`` and writes outputs relative to them.
"""

import math

import numba
import numpy as np

from scoring.units import offered_area as _offered_area

nan = math.nan
TILE = 1024  # listings per tile: long enough loops (the criteria's run over the feasible pairs of one)
ROWS = 16  # demand rows per work item of the row-major drivers
COLS = 2048  # listings per work item of the dense driver

offered_area = numba.njit(inline="always", error_model="numpy")(_offered_area)


@numba.njit(inline="always", error_model="numpy")
def new_buffers(n_rows, n_crit):
    """Scratch of one work item: per row of a call, failed bits ``ff``, totals ``tt`` and
    feasible counts ``nfs``; per row being evaluated, ``sc`` (offered area, squared
    chord, deal types left; the tile's divisible listings' areas and units), ``fi``
    (positions of the pairs scored; of the divisible listings), ``xs`` (criteria and
    gaps); ``cb`` the criteria of every row when they are kept."""
    ff = np.empty((n_rows, TILE), dtype=np.int64)
    tt = np.empty((n_rows, TILE), dtype=np.float32)
    nfs = np.empty(n_rows, dtype=np.int64)
    sc = np.empty((5, TILE))
    fi = np.empty((2, TILE), dtype=np.uint64)
    xs = np.empty((8, TILE))
    cb = np.empty((n_crit, n_rows if n_crit else 0, TILE), dtype=np.float32)
    return ff, tt, nfs, sc, fi, xs, cb


@numba.njit(inline="always", error_model="numpy")
def exp_neg(x, pow2):
    """``exp(x)`` for ``x <= 0`` in plain arithmetic the compiler vectorises (libm's
    ``exp`` is a call per value): ``x = n ln 2 + r`` with ``|r| <= ln 2 / 2``, a degree-11
    Taylor polynomial for ``exp(r)`` (relative error below 1e-14) and ``2^n`` from the
    table ``pow2[n + 1022]`` (see ``scoring.fast.POW2``); below -708 it is 0 to within
    1e-307."""
    x = max(x, -708.0)
    n = np.floor(x * 1.4426950408889634 + 0.5)
    r = (x - n * 0.6931471803691238) - n * 1.9082149292705877e-10
    p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (
        1.0 / 720.0 + r * (1.0 / 5040.0 + r * (1.0 / 40320.0 + r * (1.0 / 362880.0 + r * (
            1.0 / 3628800.0 + r * (1.0 / 39916800.0)))))))))))
    return p * pow2[np.uint64(n + 1022.0)]  # (an unsigned index: no sign check, vectorised)


@numba.njit(inline="always", error_model="numpy")
def decay_all(x, out, n, kind, off, inv, coef, KIND, pow2):
    """``out[q] = decay(x[q])`` for q < n, the kernel's kind chosen once (each branch is
    a plain loop the compiler vectorises; the gaps are never NaN here)."""
    if kind == KIND.step:
        for q in range(n):
            out[q] = 1.0 if (x[q] - off) * inv <= 1.0 else 0.0
    elif kind == KIND.linear:
        for q in range(n):
            out[q] = max(1.0 - coef * max((x[q] - off) * inv, 0.0), 0.0)
    elif kind == KIND.exp:
        for q in range(n):
            out[q] = exp_neg(coef * max((x[q] - off) * inv, 0.0), pow2)
    elif kind == KIND.gauss:
        for q in range(n):
            d = max((x[q] - off) * inv, 0.0)
            out[q] = exp_neg(coef * d * d, pow2)
    elif kind == KIND.rational:
        for q in range(n):
            out[q] = 1.0 / (1.0 + coef * max((x[q] - off) * inv, 0.0))
    else:  # cauchy
        for q in range(n):
            d = max((x[q] - off) * inv, 0.0)
            out[q] = 1.0 / (1.0 + coef * d * d)


@numba.njit(error_model="numpy")
def eval_rows(rows, n_rows, j0, j1, bounds, D, L, T, P, F, K, KIND, W, CI, ff, tt, nfs, sc, fis, xs, keep, cb):
    """Demands ``rows[:n_rows]`` against listings ``j0:j1`` (at most TILE of them).

    Row r of the call, against the listings ``bounds[r, 0]:bounds[r, 1]`` (all of
    ``j0:j1`` when ``bounds`` is empty): failed bits into ``ffr[t]`` (-1 for a pair
    outside its bounds), totals into ``ttr[t]`` (NaN where a rule fails), the number
    of feasible pairs into ``nfs[r]``, and when ``keep`` every criterion into
    ``cb[:, r, t]`` (then computed on every pair); ``t = j - j0``.

    Each step is a short loop over the tile touching few arrays, which the compiler
    vectorises (one loop doing everything is not vectorised, and is 8x slower). Every
    array is taken out of its record once per call, outside the loops: a call covers
    many rows, so the reference counting this costs is paid once per block of pairs.
    """
    # ---- every array and constant into a local, once per call
    d_points, d_ptown, d_off, d_maxd, d_thr = D.points, D.point_town, D.point_offsets, D.max_distance, D.thr_c2
    d_deal, d_amin, d_amax, d_lo, d_hi, d_has_area = D.deal, D.area_min, D.area_max, D.lo, D.hi, D.has_area
    d_cert, d_lease, d_crane, d_load, d_tax, d_move = D.certificate, D.lease_months, D.crane, D.load, D.tax, D.move_in
    d_cat, d_code, d_rent, d_sale, d_needs = D.cat, D.code_row, D.max_rent, D.max_sale, D.n_needs
    d_height, d_power = D.height, D.power
    l_area, l_unit, l_crane, l_load, l_tax_need, l_avail = L.area, L.unit, L.crane, L.load, L.tax_need, L.available
    l_vec, l_town, l_has_loc, l_level, l_deal, l_title = L.vectors, L.town, L.has_loc, L.level, L.deal, L.title
    l_min_lease, l_cat, l_ind, l_rent, l_sale = L.min_lease, L.cat, L.ind, L.eff_rent, L.eff_sale
    l_related, l_height, l_power = L.related, L.height, L.power
    cat_bits, code_bits, synergy, pow2, div_pos = T.cat_bits, T.code_bits, T.synergy, T.pow2, L.div_pos
    f_area, f_crane, f_load, f_tax, f_avail = F.area, F.crane, F.floor_load, F.park_tax, F.available
    f_dist, f_deal, f_title, f_lease = F.max_distance, F.deal, F.title_certificate, F.lease_term
    ka_s, kb_s, kc_s, kd_s = K.area_short[0], K.area_short[1], K.area_short[2], K.area_short[3]
    ka_o, kb_o, kc_o, kd_o = K.area_over[0], K.area_over[1], K.area_over[2], K.area_over[3]
    ka_l, kb_l, kc_l, kd_l = K.location_distance[0], K.location_distance[1], K.location_distance[2], \
        K.location_distance[3]
    ka_p, kb_p, kc_p, kd_p = K.price_over[0], K.price_over[1], K.price_over[2], K.price_over[3]
    ka_t, kb_t, kc_t, kd_t = K.timing_late[0], K.timing_late[1], K.timing_late[2], K.timing_late[3]
    grace, r2 = P.grace_days, P.r2
    n_area, n_loc, n_price, n_fac, n_time = (P.area_neutral, P.location_neutral, P.price_neutral,
                                             P.facilities_neutral, P.timing_neutral)
    at_min, full = P.at_minimum, P.full_margin
    inv_full = 1.0 / full if full > 0 else 0.0
    wa, wl, wp, wi, wf, wt = W.area, W.location, W.price, W.industry, W.facilities, W.timing
    ci_a, ci_l, ci_p, ci_i, ci_f, ci_t = CI.area, CI.location, CI.price, CI.industry, CI.facilities, CI.timing
    full_tile = bounds.shape[0] == 0
    uj0 = np.uint64(j0)
    # the divisible listings of the tile (offered area differs from the whole area only
    # there), gathered once per call so that each row's whole units run as one plain loop
    q0, q1 = np.searchsorted(div_pos, j0), np.searchsorted(div_pos, j1)
    n_div = np.uint64(q1 - q0)
    fi, dv_t, dv_area, dv_unit = fis[0], fis[1], sc[3], sc[4]
    for q in range(n_div):
        j = div_pos[q0 + q]
        dv_area[q] = l_area[j]
        dv_unit[q] = l_unit[j]
        dv_t[q] = j - j0

    for r in range(n_rows):
        i = rows[r]
        ta, tb = 0, j1 - j0
        if not full_tile:
            ta, tb = max(bounds[r, 0] - j0, 0), min(bounds[r, 1] - j0, j1 - j0)
            for t in range(j1 - j0):
                ff[r, t] = -1
                tt[r, t] = nan
            if tb <= ta:
                nfs[r] = 0
                continue
        # loop indices unsigned: numba wraps negative indices around, and a loop whose
        # index might be negative is not vectorised (7x slower)
        uta, utb = np.uint64(ta), np.uint64(tb)
        # 1-D views of this row's outputs and of the scratch rows: the loops below index
        # plain vectors, which the compiler vectorises (2-D indexing it does not)
        ffr, ttr, aa, c2, mo = ff[r], tt[r], sc[0], sc[1], sc[2]
        x_area, x_loc, x_price, x_ind, x_fac, x_time, g1, g2 = xs[0], xs[1], xs[2], xs[3], xs[4], xs[5], xs[6], xs[7]
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
        ci, di = d_cat[i], d_code[i]
        located = p1 > p0
        limited = located and d_maxd[i] < math.inf

        # pass 1: the nearest place of a row with a distance limit, one point at a time
        # (other rows need it on the pairs scored only, in pass 3)
        if limited:
            for t in range(uta, utb):
                c2[t] = -2.0
            for q in range(p0, p1):
                x, y, z = d_points[q, 0], d_points[q, 1], d_points[q, 2]
                for t in range(uta, utb):
                    j = uj0 + t
                    c2[t] = max(c2[t], x * l_vec[j, 0] + y * l_vec[j, 1] + z * l_vec[j, 2])
                tq = d_ptown[q]
                if tq >= 0:  # a wanted town: a listing inside it is at 0 km (cosine 1)
                    for t in range(uta, utb):
                        c2[t] = 1.0 if l_town[uj0 + t] == tq else c2[t]
            for t in range(uta, utb):
                c2[t] = max(2.0 - 2.0 * c2[t], 0.0)

        # pass 2: every rule, branch-free bit arithmetic
        for t in range(uta, utb):
            aa[t] = l_area[uj0 + t]
        for q in range(n_div):
            g2[q] = offered_area(amin, hi, dv_area[q], dv_unit[q])
        for q in range(n_div):
            aa[dv_t[q]] = g2[q]
        for t in range(uta, utb):
            a = aa[t]
            ffr[t] = (has_area & (not ((lo <= a) & (a <= hi)))) * f_area
        for t in range(uta, utb):
            j = uj0 + t
            ffr[t] |= ((l_crane[j] < crane_i) * f_crane | (l_load[j] < load_i) * f_load
                       | (tax_i < l_tax_need[j]) * f_tax | (l_avail[j] > move_by) * f_avail)
        if limited:
            thr_row = d_thr[i]
            for t in range(uta, utb):
                j = uj0 + t
                ffr[t] |= (l_has_loc[j] & (c2[t] > thr_row[l_level[j]])) * f_dist
        # fire class, 环评, ground floor, rating per demand class x listing class; admitted
        # and banned industries per demand code x listing lists (tables made by the rules)
        for t in range(uta, utb):
            j = uj0 + t
            ffr[t] |= cat_bits[ci, l_cat[j]] | code_bits[di, l_ind[j]]
        # the deal types both sides accept, less those the title or lease term rules out
        for t in range(uta, utb):
            j = uj0 + t
            shared = dd & l_deal[j]
            sb = cert & (l_title[j] != 1)
            lb = lease < l_min_lease[j]
            modes = shared & (3 - 2 * sb - lb)
            mo[t] = modes
            lost = modes == 0
            ffr[t] |= ((shared == 0) * f_deal | (lost & sb & ((shared & 2) != 0)) * f_title
                         | (lost & lb & ((shared & 1) != 0)) * f_lease)
        nf = 0
        for t in range(uta, utb):
            fi[nf] = t
            nf += ffr[t] == 0
            ttr[t] = nan
        nfs[r] = nf
        if nf == 0 and not keep:
            continue
        n = nf
        if keep:
            n = tb - ta
            for q in range(n):
                fi[q] = uta + np.uint64(q)
        un = np.uint64(n)

        # pass 3: the criteria, on the n pairs of fi (the feasible ones, or all when kept)
        if has_area:
            inv_lo = 1.0 / amin if amin > 0 else 0.0
            inv_hi = 1.0 / amax if (amax < math.inf and amax > 0) else 0.0
            for q in range(un):
                a = aa[fi[q]]
                g1[q] = max(amin - a, 0.0) * inv_lo
                g2[q] = max(a - amax, 0.0) * inv_hi  # (an open range: 0 * 0, never -inf * 0)
            decay_all(g1, x_area, un, ka_s, kb_s, kc_s, kd_s, KIND, pow2)
            decay_all(g2, g1, un, ka_o, kb_o, kc_o, kd_o, KIND, pow2)
            for q in range(un):
                x_area[q] *= g1[q]
        else:
            for q in range(un):
                x_area[q] = n_area
        if located:
            if limited:
                for q in range(un):
                    g1[q] = c2[fi[q]]
            else:
                for q in range(un):
                    g1[q] = -2.0
                for p in range(p0, p1):
                    x, y, z = d_points[p, 0], d_points[p, 1], d_points[p, 2]
                    for q in range(un):
                        j = uj0 + fi[q]
                        g1[q] = max(g1[q], x * l_vec[j, 0] + y * l_vec[j, 1] + z * l_vec[j, 2])
                    tq = d_ptown[p]
                    if tq >= 0:
                        for q in range(un):
                            g1[q] = 1.0 if l_town[uj0 + fi[q]] == tq else g1[q]
                for q in range(un):
                    g1[q] = max(2.0 - 2.0 * g1[q], 0.0)
            # km = 2R asin(chord / 2): a series exact to double precision below 1270 km
            far = False
            for q in range(un):
                y = math.sqrt(g1[q]) * 0.5
                far |= y >= 0.1
                y2 = y * y
                g2[q] = r2 * y * (1.0 + y2 * (1.0 / 6.0 + y2 * (3.0 / 40.0 + y2 * (5.0 / 112.0
                                                                                        + y2 * (35.0 / 1152.0)))))
            if far:
                for q in range(un):
                    y = math.sqrt(g1[q]) * 0.5
                    if y >= 0.1:
                        g2[q] = r2 * math.asin(min(y, 1.0))
            decay_all(g2, x_loc, un, ka_l, kb_l, kc_l, kd_l, KIND, pow2)
            for q in range(un):
                x_loc[q] = x_loc[q] if l_has_loc[uj0 + fi[q]] else n_loc
        else:
            for q in range(un):
                x_loc[q] = n_loc
        # price: the lease score into G1, the sale score into G2, then the one the demand
        # wants, or the better of those the pair allows
        for side in range(2):
            budget = d_rent[i] if side == 0 else d_sale[i]
            dst = g1 if side == 0 else g2
            prices = l_rent if side == 0 else l_sale
            if budget == budget and (dd & (side + 1)) != 0:
                inv_b = 1.0 / budget
                for q in range(un):
                    pr = prices[uj0 + fi[q]]
                    x_price[q] = pr * inv_b - 1.0 if pr == pr else 0.0
                decay_all(x_price, dst, un, ka_p, kb_p, kc_p, kd_p, KIND, pow2)
                for q in range(un):
                    pr = prices[uj0 + fi[q]]
                    dst[q] = dst[q] if pr == pr else n_price
            else:
                for q in range(un):
                    dst[q] = n_price
        if dd == 1:
            for q in range(un):
                x_price[q] = g1[q]
        elif dd == 2:
            for q in range(un):
                x_price[q] = g2[q]
        else:
            for q in range(un):
                t = fi[q]
                mm = int(mo[t])
                mm = mm if mm != 0 else dd & l_deal[uj0 + t]
                mm = mm if mm != 0 else 3
                a = g1[q] if (mm & 1) != 0 else -1.0
                b = g2[q] if (mm & 2) != 0 else -1.0
                x_price[q] = max(a, b)
        for q in range(un):
            x_ind[q] = synergy[di, l_related[uj0 + fi[q]]]
        # facilities: the mean over the minimums the demand gives
        if d_needs[i] > 0:
            for q in range(un):
                x_fac[q] = 0.0
            for f in range(3):
                need = d_height[i] if f == 0 else (d_load[i] if f == 1 else d_power[i])
                if not need > 0:
                    continue
                inv_need = 1.0 / need
                haves = l_height if f == 0 else (l_load if f == 1 else l_power)
                for q in range(un):
                    have = haves[uj0 + fi[q]]
                    m = at_min + (1.0 - at_min) * (min((have - need) * inv_need * inv_full, 1.0) if full > 0
                                                   else 1.0)
                    m = m if have >= need else 0.0
                    x_fac[q] += m if have == have else n_fac
            inv_n = 1.0 / d_needs[i]
            for q in range(un):
                x_fac[q] *= inv_n
        else:
            for q in range(un):
                x_fac[q] = n_fac
        if move == move:
            for q in range(un):
                av = l_avail[uj0 + fi[q]]
                g1[q] = av - move if av == av else 0.0
            decay_all(g1, x_time, un, ka_t, kb_t, kc_t, kd_t, KIND, pow2)
            for q in range(un):
                av = l_avail[uj0 + fi[q]]
                x_time[q] = x_time[q] if av == av else n_time
        else:
            for q in range(un):
                x_time[q] = n_time
        for q in range(un):
            tot = (wa * x_area[q] + wl * x_loc[q] + wp * x_price[q] + wi * x_ind[q]
                   + wf * x_fac[q] + wt * x_time[q])
            t = fi[q]
            ttr[t] = tot if ffr[t] == 0 else nan
        if keep:
            for q in range(un):
                t = fi[q]
                cb[ci_a, r, t] = x_area[q]
                cb[ci_l, r, t] = x_loc[q]
                cb[ci_p, r, t] = x_price[q]
                cb[ci_i, r, t] = x_ind[q]
                cb[ci_f, r, t] = x_fac[q]
                cb[ci_t, r, t] = x_time[q]


# ---- drivers --------------------------------------------------------------------------


@numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def dense(D, L, T, P, F, K, KIND, W, CI, r0, r1, c0, c1, failed, total, crit, keep):
    """Rows ``r0:r1`` x columns ``c0:c1`` into ``failed`` / ``total`` (and ``crit`` when
    ``keep``), shape (r1 - r0, c1 - c0). Work items are ROWS rows x COLS columns, so one
    row against many listings runs in parallel too."""
    n, m = r1 - r0, c1 - c0
    n_rc = (n + ROWS - 1) // ROWS
    n_cc = (m + COLS - 1) // COLS
    n_crit = crit.shape[0]
    nb = np.zeros((0, 2), dtype=np.int64)
    for item in numba.prange(n_rc * n_cc):
        rc, cc = item // n_cc, item % n_cc
        ff, tt, nfs, sc, fi, xs, cb = new_buffers(ROWS, n_crit if keep else 0)
        ra, rb = rc * ROWS, min(rc * ROWS + ROWS, n)
        rows = np.arange(r0 + ra, r0 + rb)
        for a in range(cc * COLS, min(cc * COLS + COLS, m), TILE):
            b = min(a + TILE, m)
            eval_rows(rows, rb - ra, c0 + a, c0 + b, nb, D, L, T, P, F, K, KIND, W, CI, ff, tt, nfs, sc, fi, xs,
                      keep, cb)
            ua, w = np.uint64(a), np.uint64(b - a)
            for r in range(rb - ra):
                fr, tr, ffr, ttr = failed[ra + r], total[ra + r], ff[r], tt[r]
                for t in range(w):
                    fr[ua + t] = ffr[t]
                    tr[ua + t] = ttr[t]
                if keep:
                    for c in range(n_crit):
                        cr, cbr = crit[c, ra + r], cb[c, r]
                        for t in range(w):
                            cr[ua + t] = cbr[t]


@numba.njit(inline="always", error_model="numpy")
def heap_push(v, x, rank, k, index, scores, count, h, tie):
    """Insert value ``v`` of partner ``x`` (tie rank ``rank``) into row ``h`` of a
    best-first list of at most k (``index``, ``scores``, ``count``), ties by ascending rank."""
    c = count[h]
    if c == k:  # full: v must beat the last one
        lv = scores[h, k - 1]
        if v < lv or (v == lv and rank > tie[index[h, k - 1]]):
            return
        pos = k - 1
    else:
        pos = c
        count[h] = c + 1
    while pos > 0:
        pv = scores[h, pos - 1]
        if v > pv or (v == pv and rank < tie[index[h, pos - 1]]):
            scores[h, pos] = pv
            index[h, pos] = index[h, pos - 1]
            pos -= 1
        else:
            break
    scores[h, pos] = v
    index[h, pos] = x


@numba.njit(inline="always", error_model="numpy")
def kth(k, scores, count, h):
    """The value a newcomer must reach to enter row h (-inf while the row is not full)."""
    return scores[h, k - 1] if count[h] == k else -math.inf


@numba.njit(error_model="numpy")
def finish(index, scores, count, k):
    """Pad rows with fewer than k entries: NaN scores, -1 partners."""
    for h in range(index.shape[0]):
        for q in range(count[h], k):
            scores[h, q] = nan
            index[h, q] = -1


@numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def select_top(t, k, tie, index, scores, count):
    """Per row of ``t``: the k highest non-NaN values, ties by ascending ``tie``.

    Writes ``index`` (int64, -1 padded), ``scores`` (NaN padded) and ``count``; the same
    result as ``scoring.select.select_top``.
    """
    n, m = t.shape
    count[:] = 0
    for r in numba.prange(n):
        for j in range(m):
            v = t[r, j]
            if v >= kth(k, scores, count, r):
                heap_push(v, j, tie[j], k, index, scores, count, r, tie)
    finish(index, scores, count, k)


@numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def merge_top(parts_index, parts_scores, parts_count, k, tie, index, scores, count):
    """Merge per-worker best-first lists (``parts_*``: (n_parts, n, k)) into one of k per row."""
    count[:] = 0
    for h in numba.prange(index.shape[0]):
        for p in range(parts_index.shape[0]):
            for q in range(parts_count[p, h]):
                x = parts_index[p, h, q]
                heap_push(parts_scores[p, h, q], x, tie[x], k, index, scores, count, h, tie)
    finish(index, scores, count, k)


@numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def merge_best(best, best_x, tie, out_best, out_x):
    """Per column: the best of the per-worker bests (``best``/``best_x``: (n_parts, m)),
    ties by ascending ``tie`` of the partner; -inf / -1 where none."""
    for h in numba.prange(best.shape[1]):
        v, x = -math.inf, -1
        for p in range(best.shape[0]):
            bv, bx = best[p, h], best_x[p, h]
            if bx >= 0 and (x < 0 or bv > v or (bv == v and tie[bx] < tie[x])):
                v, x = bv, bx
        out_best[h], out_x[h] = v, x


# ---- candidates and the dual check -----------------------------------------------------
@numba.njit(inline="always", error_model="numpy")
def span_union(spans, ra, rb, g):
    """[lo, hi) covering the non-empty spans ``g`` of rows ``ra:rb`` (lo >= hi: none)."""
    lo, hi = 1 << 62, -1
    for r in range(ra, rb):
        a, b = spans[r, g, 0], spans[r, g, 1]
        if b > a:
            lo = min(lo, a)
            hi = max(hi, b)
    return lo, hi


@numba.njit(inline="always", error_model="numpy")
def push_pair(wk, r, j, v, buf_r, buf_j, buf_s, fill):
    """Append (r, j, v) to worker wk's buffer (its fill becomes -1 when it overflows)."""
    f = fill[wk]
    if f >= 0:
        if f < buf_j.shape[1]:
            buf_r[wk, f] = r
            buf_j[wk, f] = j
            buf_s[wk, f] = v
            fill[wk] = f + 1
        else:
            fill[wk] = -1


@numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def candidates(D, L, T, P, F, K, KIND, W, CI, rows, spans, reservation, positive, stats, per_d, per_l, keep_all,
               tie_l, tie_d, n_bits, d_count, d_best, d_best_j, d_rules, d_visits, l_count, l_best, l_best_i, l_rules,
               buf_r, buf_j, buf_s, fill, hd_index, hd_scores, hd_count, hl_index, hl_scores, hl_count):
    """Demand rows ``rows[p]`` (p: the row's position, which every per-row output is
    indexed by), each against the listing positions of its spans ``spans[p, g]`` ([start,
    end) per group g; empty when start >= end), in work items of 16 rows.

    Per row: feasible pairs ``d_count``, best feasible score ``d_best`` (NaN: none) and
    its listing ``d_best_j`` (-1), failed pairs per rule bit ``d_rules[p, bit]``, pairs
    visited ``d_visits`` (all only when ``stats``). Per listing, one slot per worker (``numba.get_thread_id()``,
    merged by the caller): ``l_count``, ``l_best`` (-inf: none), ``l_best_i`` (-1),
    ``l_rules[w, bit, j]`` (when ``stats``). Pairs scoring >= reservation (and > 0 when
    ``positive``; ``Scorer.top_k`` keeps every feasible pair): when ``keep_all``,
    every one into the worker's ``buf_*`` (as (p, j, score); ``fill[w]``: entries used,
    -1 once overflowed, then the caller retries with more room); when ``per_d > 0`` the
    best per_d of each row into ``hd_*``; when ``per_l > 0`` the best per_l of each
    listing per worker into ``hl_*``. Ties everywhere by ascending id rank (``tie_l``
    by listing position, ``tie_d`` by demand row).
    """
    n_w = l_count.shape[0]
    n_rows = rows.shape[0]
    n_groups = spans.shape[1]
    rr = 16
    n_items = (n_rows + rr - 1) // rr
    for item in numba.prange(n_items):
        wk = numba.get_thread_id() % n_w
        ra, rb = item * rr, min(item * rr + rr, n_rows)
        ff, tt, nfs, sc, fi, xs, cb = new_buffers(rr, 0)
        for p in range(ra, rb if stats else ra):
            d_count[p] = 0
            d_best[p] = -math.inf
            d_best_j[p] = -1
            d_visits[p] = 0
            for bit in range(n_bits):
                d_rules[p, bit] = 0
        for g in range(n_groups):
            lo, hi = span_union(spans, ra, rb, g)
            for a in range(lo, hi, TILE):
                b = min(a + TILE, hi)
                eval_rows(rows[ra:rb], rb - ra, a, b, spans[ra:rb, g], D, L, T, P, F, K, KIND, W, CI, ff, tt, nfs,
                          sc, fi, xs, False, cb)
                for r in range(rb - ra):
                    p = ra + r
                    ta, tb = max(spans[p, g, 0] - a, 0), min(spans[p, g, 1] - a, b - a)
                    if tb <= ta:
                        continue
                    if stats:
                        d_visits[p] += tb - ta
                        d_count[p] += nfs[r]
                        # failed pairs per rule, for the row and for each listing
                        uta, utb, ua = np.uint64(ta), np.uint64(tb), np.uint64(a)
                        ffr = ff[r]
                        for bit in range(n_bits):
                            cnt = 0
                            lr = l_rules[wk, bit]
                            for t in range(uta, utb):
                                x = (ffr[t] >> bit) & 1
                                cnt += x
                                lr[ua + t] += x
                            d_rules[p, bit] += cnt
                    if nfs[r] == 0:
                        continue
                    i = rows[p]
                    rank_i = tie_d[i]
                    for t in range(ta, tb):
                        v = tt[r, t]
                        if v != v:
                            continue
                        j = a + t
                        if stats:
                            l_count[wk, j] += 1
                            bx = l_best_i[wk, j]
                            if bx < 0 or v > l_best[wk, j] or (v == l_best[wk, j] and rank_i < tie_d[bx]):
                                l_best[wk, j] = v
                                l_best_i[wk, j] = i
                            if v > d_best[p] or (v == d_best[p] and tie_l[j] < tie_l[d_best_j[p]]):
                                d_best[p] = v
                                d_best_j[p] = j
                        if v >= reservation and (v > 0 or not positive):
                            if keep_all:
                                push_pair(wk, p, j, v, buf_r, buf_j, buf_s, fill)
                            if per_d > 0 and v >= kth(per_d, hd_scores, hd_count, p):
                                heap_push(v, j, tie_l[j], per_d, hd_index, hd_scores, hd_count, p, tie_l)
                            if per_l > 0 and v >= kth(per_l, hl_scores[wk], hl_count[wk], j):
                                heap_push(v, i, rank_i, per_l, hl_index[wk], hl_scores[wk], hl_count[wk], j, tie_d)
        for p in range(ra, rb if stats else ra):
            if d_best_j[p] < 0:
                d_best[p] = nan


@numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def dual(D, L, T, P, F, K, KIND, W, CI, rows, spans, reservation, u, v, tol, buf_r, buf_j, buf_s, fill):
    """Feasible pairs of demand rows ``rows[p]`` (against their spans, as in
    :func:`candidates`) scoring >= reservation whose reduced score ``s - u[i] - v[j]``
    exceeds ``tol``, into per-worker buffers as (p, j, score)."""
    n_w = fill.shape[0]
    n_rows = rows.shape[0]
    n_groups = spans.shape[1]
    rr = 16
    n_items = (n_rows + rr - 1) // rr
    for item in numba.prange(n_items):
        wk = numba.get_thread_id() % n_w
        ra, rb = item * rr, min(item * rr + rr, n_rows)
        ff, tt, nfs, sc, fi, xs, cb = new_buffers(rr, 0)
        for g in range(n_groups):
            lo, hi = span_union(spans, ra, rb, g)
            for a in range(lo, hi, TILE):
                b = min(a + TILE, hi)
                eval_rows(rows[ra:rb], rb - ra, a, b, spans[ra:rb, g], D, L, T, P, F, K, KIND, W, CI, ff, tt, nfs,
                          sc, fi, xs, False, cb)
                for r in range(rb - ra):
                    if nfs[r] == 0:
                        continue
                    p = ra + r
                    ui = u[rows[p]]
                    for t in range(b - a):
                        x = tt[r, t]
                        if x >= reservation and x - ui - v[a + t] > tol:
                            push_pair(wk, p, a + t, x, buf_r, buf_j, buf_s, fill)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def assemble(buf_r, buf_j, buf_s, fill, n_rows, indptr, out_j, out_s):
    """The per-worker (p, j, score) buffers as CSR rows by position p, each row's pairs
    in the order they were found (every row is found by one worker)."""
    indptr[:] = 0
    for w in range(fill.shape[0]):
        for q in range(fill[w]):
            indptr[buf_r[w, q] + 1] += 1
    for p in range(n_rows):
        indptr[p + 1] += indptr[p]
    pos = indptr[:-1].copy()
    for w in range(fill.shape[0]):
        for q in range(fill[w]):
            p = buf_r[w, q]
            out_j[pos[p]] = buf_j[w, q]
            out_s[pos[p]] = buf_s[w, q]
            pos[p] += 1


@numba.njit(parallel=True, nogil=True, cache=True, error_model="numpy")
def place_rows(dem, lis, sco, starts, indptr, out_l, out_s):
    """Copy each demand's run of pairs (``starts``: where each run begins in ``dem``, one
    run per demand, plus the end) to its CSR place ``indptr[dem]``, sorted by listing."""
    for r in numba.prange(starts.shape[0] - 1):
        a, b = starts[r], starts[r + 1]
        order = np.argsort(lis[a:b])
        dst = indptr[dem[a]]
        for q in range(b - a):
            out_l[dst + q] = lis[a + order[q]]
            out_s[dst + q] = sco[a + order[q]]
