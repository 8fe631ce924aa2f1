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
* the whole-units arithmetic is :func:`scoring.units.units_wanted` and
  :func:`scoring.units.units_held` themselves, compiled and combined as
  :func:`scoring.units.offered_area` combines them;
* threshold rules (crane, floor load, 亩均税收, availability, lease term) compare small
  integer codes that keep the order of the values compared (:func:`scoring.fast.ranks`).

Rows (demands) and columns (listings) are positions in the arrays given; a driver works
on ``rows r0:r1`` and ``columns c0:c1`` and writes outputs relative to them.

Threads: a driver runs the work items ``i0:i1`` it is given, as worker ``wk``, and
releases the GIL; :func:`scoring.fast.run_items` spreads the items over threads (the
small kernels that select and merge rankings too). Nothing here uses ``prange``: a
parallel loop is compiled into a kernel of its own that links and optimises its own copy
of :func:`eval_rows` again, which on a fresh install cost 8-12 s per driver (four
drivers: 40 s of a first run), and numba's threads started inside the pool's, or from a
service's request threads, would oversubscribe the cores (or, on its ``workqueue``
layer, abort the process on concurrent launches). The drivers are still compiled through numba's parallel pipeline, with
every conversion to a parallel loop turned off (:data:`SERIAL`; ``tests/scoring/
test_kernel_threads.py`` checks that none is made): plain ``njit`` ran them 8-15 % slower
(``benchmarks/README.md``). Every driver calls :func:`eval_rows` with the same argument
types, so that it is compiled once (each distinct type, a literal ``0`` included,
compiled it again: 7 s).

Speed (``benchmarks/README.md``): loop indices are unsigned (numba wraps negative
indices, and a loop whose index may be negative is not vectorised); every loop is short
and touches few arrays, each as a plain contiguous vector; rule inputs are narrow
integers; the criteria run in float32 (an exponential of float32 accuracy in plain
arithmetic, 16 lanes at a time) on the feasible pairs only.
"""

import math
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from scoring.units import units_held as _units_held
from scoring.units import units_wanted as _units_wanted

nan = math.nan
TILE = 2048  # listings per tile: long loops (the criteria run over a tile's feasible pairs); 7 % faster than 1024
ROWS = 16  # demand rows per work item of the row-major drivers
COLS = 2048  # listings per work item of the dense driver

# the drivers' compile options: numba's parallel pipeline with every conversion to a
# parallel loop turned off (see the module's docstring: the drivers run on
# scoring.fast.run_items' threads, and a parallel loop would start numba's inside them)
SERIAL: Any = {"comprehension": False, "prange": False, "numpy": False, "reduction": False, "setitem": False,
                "stencil": False, "fusion": False, "inplace_binop": False}

units_wanted = numba.njit(inline="always", error_model="numpy")(_units_wanted)
units_held = numba.njit(inline="always", error_model="numpy")(_units_held)

# float32 constants (a bare Python float literal would make numba compute in float64)
F0, F1, FHALF = np.float32(0.0), np.float32(1.0), np.float32(0.5)
LOG2E, LN2_HI, LN2_LO = np.float32(1.4426950408889634), np.float32(0.693359375), np.float32(-2.12194440e-4)
EXP_MIN = np.float32(-87.0)
C2, C3, C4, C5, C6, C7 = (np.float32(1 / 2), np.float32(1 / 6), np.float32(1 / 24), np.float32(1 / 120),
                          np.float32(1 / 720), np.float32(1 / 5040))
S1, S2, S3, S4 = np.float32(1 / 6), np.float32(3 / 40), np.float32(5 / 112), np.float32(35 / 1152)
SERIES_LIMIT = np.float32(0.1)


@numba.njit(inline="always", error_model="numpy")
def no_bounds():
    """An empty ``bounds`` for :func:`eval_rows` (every pair of the tile), of the type
    the drivers that pass spans give it (a strided view): one compiled :func:`eval_rows`."""
    return np.empty((0, 2, 1), dtype=np.int64)[:, :, 0]


@numba.njit(inline="always", error_model="numpy")
def new_buffers(n_rows, n_classes):
    """Scratch of one work item (``n_rows``: rows per call of :func:`eval_rows`;
    ``n_classes``: unit sizes of the market): ``ff`` failed words and ``tt`` totals per
    row (when the driver does not pass its outputs), ``nfs`` feasible pairs per row,
    ``sd`` float64 per-pair scratch (squared chords, offered areas, divisible listings'
    units and held units, units wanted per unit size), ``si`` integer per-pair scratch
    (divisible positions, their unit sizes' slots, deal types left, unit sizes, then
    from ``si[4]`` on the feasible positions of each row: ``max(n_rows, 1)`` of them,
    a call with more rows reuses the last), ``xs`` float32 criteria and gaps of the feasible pairs, ``stamp`` the unit
    sizes already seen by a call (``stamp[-1]`` counts the calls)."""
    ff = np.empty((n_rows, TILE), dtype=np.uint16)
    tt = np.empty((n_rows, TILE), dtype=np.float32)
    nfs = np.empty(n_rows, dtype=np.int64)
    sd = np.empty((9, TILE))
    si = np.empty((4 + max(n_rows, 1), TILE), dtype=np.uint32)
    si64 = np.empty((3, TILE), dtype=np.int64)
    xs = np.empty((8, TILE), dtype=np.float32)
    stamp = np.empty((2, n_classes + 1), dtype=np.int64)
    for c in range(n_classes + 1):
        stamp[0, c] = -1
        stamp[1, c] = -1
    stamp[0, n_classes] = 0
    return ff, tt, nfs, sd, si, si64, xs, stamp


@intrinsic
def pow2(typingctx, n):
    """``2.0 ** n`` as a float32 for an int32 ``n`` in -126..127, made from its bits
    (exponent ``n + 127``): a plain integer shift the compiler vectorises, where a table
    lookup (an indexed load) would keep the loop scalar."""
    if n != types.int32:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        e = builder.add(args[0], ir.Constant(ir.IntType(32), 127))
        return builder.bitcast(builder.shl(e, ir.Constant(ir.IntType(32), 23)), ir.FloatType())

    return types.float32(n), codegen


@intrinsic
def trailing_zeros(typingctx, m):
    """The number of trailing zero bits of a uint64 (``m != 0``)."""
    if m != types.uint64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return types.uint64(m), codegen


@numba.njit(inline="always", error_model="numpy")
def exp_neg(x):
    """``exp(x)`` in float32 for ``x <= 0``, in plain arithmetic the compiler vectorises
    (libm's ``exp`` is a call per value): ``x = n ln 2 + r`` with ``|r| <= ln 2 / 2``, a
    degree-7 Taylor polynomial for ``exp(r)`` (truncation below 6e-9 relative; float32
    rounding a few units in the last place) and ``2^n`` from its bits; below -87 it is
    0 to within 2e-38."""
    x = max(x, EXP_MIN)
    n = np.floor(x * LOG2E + FHALF)
    r = (x - n * LN2_HI) - n * LN2_LO
    p = F1 + r * (F1 + r * (C2 + r * (C3 + r * (C4 + r * (C5 + r * (C6 + r * C7))))))
    return p * pow2(np.int32(n))  # type: ignore[call-arg]  # (numba passes the typing context)


@numba.njit(inline="always", error_model="numpy")
def compact(ffr, ta, tb, fi, words, count_only):
    """The positions ta <= t < tb with ``ffr[t] == 0`` into ``fi`` (ascending; not
    written when ``count_only``), and how many: one bit per pair (a plain loop), then
    the set bits read word by word (``words``: scratch of (tb - ta + 63) // 64)."""
    w = tb - ta
    n_words = (w + 63) >> 6
    for wd in range(n_words):
        base = np.uint64(ta + wd * 64)
        lim = np.uint64(min(64, w - wd * 64))
        m = np.uint64(0)
        for b in range(lim):
            m |= np.uint64(ffr[base + b] == 0) << b
        words[wd] = np.int64(m)
    nf = 0
    for wd in range(n_words):
        m = np.uint64(words[wd])
        if count_only:
            while m:
                nf += 1
                m &= m - np.uint64(1)
        else:
            base = np.uint64(ta + wd * 64)
            while m:
                fi[nf] = base + trailing_zeros(m)  # type: ignore[call-arg]  # (as pow2)
                nf += 1
                m &= m - np.uint64(1)
    return nf


@numba.njit(error_model="numpy")
def decay_all(x, out, n, kern, KIND):
    """``out[q] = decay(x[q])`` for q < n (float32), the kernel ``kern`` (``[kind, offset,
    1 / scale, coef]``) chosen once: each branch is a plain loop the compiler vectorises
    (the gaps are never NaN here)."""
    kind = kern[0]
    off, inv, coef = np.float32(kern[1]), np.float32(kern[2]), np.float32(kern[3])
    if kind == KIND.step:
        for q in range(n):
            out[q] = F1 if (x[q] - off) * inv <= F1 else F0
    elif kind == KIND.linear:
        for q in range(n):
            out[q] = max(F1 - coef * max((x[q] - off) * inv, F0), F0)
    elif kind == KIND.exp:
        for q in range(n):
            out[q] = exp_neg(coef * max((x[q] - off) * inv, F0))
    elif kind == KIND.gauss:
        for q in range(n):
            d = max((x[q] - off) * inv, F0)
            out[q] = exp_neg(coef * d * d)
    elif kind == KIND.rational:
        for q in range(n):
            out[q] = F1 / (F1 + coef * max((x[q] - off) * inv, F0))
    else:  # cauchy
        for q in range(n):
            d = max((x[q] - off) * inv, F0)
            out[q] = F1 / (F1 + coef * d * d)


@numba.njit(error_model="numpy")
def eval_rows(rows, n_rows, j0, j1, bounds, D, L, T, P, F, K, KIND, W, CI, ff, tt, r_off, c_off, crit, keep, dense,
              nfs, sd, si, si64, xs, stamp):
    """Demands ``rows[:n_rows]`` against listings ``j0:j1`` (at most TILE of them).

    Row r of the call, against the listings ``bounds[r, 0]:bounds[r, 1]`` (all of
    ``j0:j1`` when ``bounds`` is empty): with ``t = j - j0``, failed bits into
    ``ff[r_off + r, c_off + t]``, totals into ``tt[r_off + r, c_off + t]`` (on the
    feasible pairs; on the others NaN when ``dense`` or ``keep``, else nothing: a scratch
    is read at the feasible positions only; a pair outside the row's bounds is not
    written: callers read only the pairs inside), the number of feasible pairs into ``nfs[r]`` and (unless
    ``keep``) their positions t, ascending, into ``si[4 + r, :nfs[r]]`` when the
    scratch holds a row per row (:func:`new_buffers`), and when ``keep`` every
    criterion into ``crit[:, r_off + r, c_off + t]`` (then computed on every pair). A driver
    passes its outputs as ``ff``/``tt`` (nothing is copied) or scratch of (n_rows, TILE)
    with zero offsets.

    Each step is a short loop over the tile touching few arrays, which the compiler
    vectorises (one loop doing everything is not vectorised, and is 8x slower). Every
    array is taken out of its record once per call, outside the loops: a call covers
    many rows, so the reference counting this costs is paid once per block of pairs.
    """
    # ---- every array and constant into a local, once per call
    d_points, d_ptown, d_off, d_maxd, d_thr = D.points, D.point_town, D.point_offsets, D.max_distance, D.thr_c2
    d_deal, d_amin, d_amax, d_lo, d_hi, d_has_area = D.deal, D.area_min, D.area_max, D.lo, D.hi, D.has_area
    d_cert, d_move = D.certificate, D.move_in
    d_crane_r, d_load_r, d_tax_r, d_move_r, d_lease_r = D.crane_r, D.load_r, D.tax_r, D.move_r, D.lease_r
    d_cat, d_code, d_rent, d_sale, d_needs = D.cat, D.code_row, D.max_rent, D.max_sale, D.n_needs
    d_height, d_load, d_power = D.height, D.load, D.power
    l_area, l_unit, l_held, l_ucls, u_vals, div_pos = L.area, L.unit, L.held, L.ucls, T.units, L.div_pos
    l_crane_r, l_load_r, l_tax_r, l_avail_r, l_lease_r = L.crane_r, L.load_r, L.tax_r, L.avail_r, L.lease_r
    l_vx, l_vy, l_vz, l_town, l_has_loc, l_level = L.vx, L.vy, L.vz, L.town, L.has_loc, L.level
    l_deal, l_notitle, l_cat, l_ind, l_rent, l_sale = L.deal, L.notitle, L.cat, L.ind, L.eff_rent, L.eff_sale
    l_related, l_height, l_load, l_power, l_avail = L.related, L.height, L.load, L.power, L.available
    cat_bits, code_bits, synergy = T.cat_bits, T.code_bits, T.synergy
    f_area, f_crane, f_load, f_tax, f_avail = F.area, F.crane, F.floor_load, F.park_tax, F.available
    f_dist, f_deal, f_title, f_lease = F.max_distance, F.deal, F.title_certificate, F.lease_term
    k_ashort, k_aover, k_loc, k_price, k_time = K.area_short, K.area_over, K.location_distance, K.price_over, \
        K.timing_late
    r2 = np.float32(P.r2)
    n_area, n_loc, n_price = np.float32(P.area_neutral), np.float32(P.location_neutral), np.float32(P.price_neutral)
    n_fac, n_time = np.float32(P.facilities_neutral), np.float32(P.timing_neutral)
    at_min, full = P.at_minimum, P.full_margin
    inv_full = 1.0 / full if full > 0 else 0.0
    wa, wl, wp = np.float32(W.area), np.float32(W.location), np.float32(W.price)
    wi, wf, wt = np.float32(W.industry), np.float32(W.facilities), np.float32(W.timing)
    ci_a, ci_l, ci_p, ci_i, ci_f, ci_t = CI.area, CI.location, CI.price, CI.industry, CI.facilities, CI.timing
    full_tile = bounds.shape[0] == 0
    n_levels = d_thr.shape[1]
    w = j1 - j0
    uj0 = np.uint64(j0)
    c2, aa, dv_unit, dv_held, kw = sd[0], sd[1], sd[2], sd[3], sd[4]
    gd, gx, gy, gz = sd[5], sd[6], sd[7], sd[8]
    dv_t, dv_slot, mo, sizes = si[0], si[1], si[2], si[3]
    n_fi = si.shape[0] - 4
    tw, h1 = si64[0], si64[1]
    words = si64[2]
    x_area, x_loc, x_price, x_ind, x_fac, x_time, g1, g2 = xs[0], xs[1], xs[2], xs[3], xs[4], xs[5], xs[6], xs[7]

    # the divisible listings of the tile (offered area differs from the whole area only
    # there) and the unit sizes among them, gathered once per call: per row, the units
    # wanted are worked out once per unit size
    q0, q1 = np.searchsorted(div_pos, j0), np.searchsorted(div_pos, j1)
    n_div = np.uint64(q1 - q0)
    call = stamp[0, -1] + 1
    stamp[0, -1] = call
    n_sizes = 0
    for q in range(n_div):
        j = div_pos[q0 + q]
        dv_t[q] = j - j0
        dv_unit[q] = l_unit[j]
        dv_held[q] = l_held[j]
        c = l_ucls[j]
        if stamp[0, c] != call:
            stamp[0, c] = call
            stamp[1, c] = n_sizes
            sizes[n_sizes] = c
            n_sizes += 1
        dv_slot[q] = stamp[1, c]

    for r in range(n_rows):
        i = rows[r]
        ffr = ff[r_off + r][c_off:c_off + w]
        ttr = tt[r_off + r][c_off:c_off + w]
        fi = si[4 + min(r, n_fi - 1)]
        ta, tb = 0, w
        if not full_tile:  # (the pairs outside the row's bounds are left as they were)
            ta, tb = max(bounds[r, 0] - j0, 0), min(bounds[r, 1] - j0, w)
            if tb <= ta:
                nfs[r] = 0
                continue
        # loop indices unsigned: numba wraps negative indices around, and a loop whose
        # index might be negative is not vectorised (7x slower)
        uta, utb = np.uint64(ta), np.uint64(tb)
        dd = d_deal[i]
        p0, p1 = d_off[i], d_off[i + 1]
        amin, amax, lo, hi = d_amin[i], d_amax[i], d_lo[i], d_hi[i]
        cert = np.uint8(d_cert[i] == 1)
        crane_ri, load_ri, tax_ri, move_ri, lease_ri = d_crane_r[i], d_load_r[i], d_tax_r[i], d_move_r[i], \
            d_lease_r[i]
        has_area = d_has_area[i]
        move = d_move[i]
        located = p1 > p0
        limited = located and d_maxd[i] < math.inf
        cat_row, code_row, syn_row = cat_bits[d_cat[i]], code_bits[d_code[i]], synergy[d_code[i]]

        # pass 1: the nearest place of a row with a distance limit, one point at a time
        # (other rows need it on the pairs scored only, in pass 3)
        if limited:
            for t in range(uta, utb):
                c2[t] = -2.0
            for q in range(p0, p1):
                x, y, z = d_points[q, 0], d_points[q, 1], d_points[q, 2]
                for t in range(uta, utb):
                    j = uj0 + t
                    c2[t] = max(c2[t], x * l_vx[j] + y * l_vy[j] + z * l_vz[j])
                tq = d_ptown[q]
                if tq >= 0:  # a wanted town: a listing inside it is at 0 km (cosine 1)
                    for t in range(uta, utb):
                        c2[t] = 1.0 if l_town[uj0 + t] == tq else c2[t]
            for t in range(uta, utb):
                c2[t] = max(2.0 - 2.0 * c2[t], 0.0)

        # pass 2: every rule, branch-free bit arithmetic
        for t in range(uta, utb):
            aa[t] = l_area[uj0 + t]
        if has_area:  # whole units (a demand without an area passes the rule everywhere)
            for s in range(n_sizes):
                kw[s] = units_wanted(amin, hi, u_vals[sizes[s]])
            for q in range(n_div):
                aa[dv_t[q]] = np.minimum(kw[dv_slot[q]], dv_held[q]) * dv_unit[q]
        for t in range(uta, utb):
            a = aa[t]
            ffr[t] = (has_area & (not ((lo <= a) & (a <= hi)))) * f_area
        for t in range(uta, utb):
            j = uj0 + t
            ffr[t] |= ((l_crane_r[j] < crane_ri) * f_crane | (l_load_r[j] < load_ri) * f_load
                       | (tax_ri < l_tax_r[j]) * f_tax | (move_ri < l_avail_r[j]) * f_avail)
        if limited:
            thr_row = d_thr[i]
            if n_levels == 1:  # one location uncertainty (the usual case): one threshold
                thr0 = thr_row[0]
                for t in range(uta, utb):
                    ffr[t] |= (l_has_loc[uj0 + t] & (c2[t] > thr0)) * f_dist
            elif n_levels <= 4:  # a few: one plain pass per level (no indexed load)
                for v in range(n_levels):
                    thr_v, uv = thr_row[v], np.uint32(v)
                    for t in range(uta, utb):
                        j = uj0 + t
                        ffr[t] |= (l_has_loc[j] & (l_level[j] == uv) & (c2[t] > thr_v)) * f_dist
            else:
                for t in range(uta, utb):
                    j = uj0 + t
                    ffr[t] |= (l_has_loc[j] & (c2[t] > thr_row[l_level[j]])) * f_dist
        # fire class, 环评, ground floor, rating per demand class x listing class; admitted
        # and banned industries per demand code x listing lists (tables made by the rules)
        for t in range(uta, utb):
            j = uj0 + t
            ffr[t] |= cat_row[l_cat[j]] | code_row[l_ind[j]]
        # the deal types both sides accept, less those the title or lease term rules out
        for t in range(uta, utb):
            j = uj0 + t
            shared = dd & l_deal[j]
            sb = cert & l_notitle[j]
            lb = np.uint8(lease_ri < l_lease_r[j])
            modes = shared & (np.uint8(3) - np.uint8(2) * sb - lb)
            mo[t] = modes
            lost = modes == 0
            ffr[t] |= ((shared == 0) * f_deal | (lost & (sb == 1) & ((shared & 2) != 0)) * f_title
                       | (lost & (lb == 1) & ((shared & 1) != 0)) * f_lease)
        if dense and not keep:  # an output: NaN where a rule fails (scratch is read at nfs' positions only)
            for t in range(uta, utb):
                ttr[t] = np.float32(nan)
        if keep:  # the criteria of every pair
            n = tb - ta
            for q in range(n):
                fi[q] = uta + np.uint64(q)
            nfs[r] = compact(ffr, ta, tb, fi, words, True)
        else:  # the positions of the feasible pairs, from one bit per pair
            n = compact(ffr, ta, tb, fi, words, False)
            nfs[r] = n
            if n == 0:
                continue
        un = np.uint64(n)

        # pass 3: the criteria in float32, on the n pairs of fi (the feasible ones, or all
        # when kept). The listing values are gathered first (scalar loops: indexed
        # loads), then every formula runs as a plain loop over contiguous scratch.
        if has_area:
            inv_lo = 1.0 / amin if amin > 0 else 0.0
            inv_hi = 1.0 / amax if (amax < math.inf and amax > 0) else 0.0
            for q in range(un):
                a = aa[fi[q]]
                g1[q] = max(amin - a, 0.0) * inv_lo
                g2[q] = max(a - amax, 0.0) * inv_hi  # (an open range: 0 * 0, never -inf * 0)
            decay_all(g1, x_area, un, k_ashort, KIND)
            decay_all(g2, g1, un, k_aover, KIND)
            for q in range(un):
                x_area[q] *= g1[q]
        else:
            for q in range(un):
                x_area[q] = n_area
        if located:
            if limited:
                for q in range(un):
                    gd[q] = c2[fi[q]]
                    h1[q] = l_has_loc[uj0 + fi[q]]
            else:
                for q in range(un):
                    j = uj0 + fi[q]
                    gx[q], gy[q], gz[q] = l_vx[j], l_vy[j], l_vz[j]
                    h1[q] = l_has_loc[j]
                    gd[q] = -2.0
                towns = False
                for p in range(p0, p1):
                    x, y, z = d_points[p, 0], d_points[p, 1], d_points[p, 2]
                    for q in range(un):
                        gd[q] = max(gd[q], x * gx[q] + y * gy[q] + z * gz[q])
                    towns |= d_ptown[p] >= 0
                if towns:
                    for q in range(un):
                        tw[q] = l_town[uj0 + fi[q]]
                    for p in range(p0, p1):
                        tq = d_ptown[p]
                        if tq >= 0:  # a listing inside a wanted town: 0 km (cosine 1)
                            for q in range(un):
                                gd[q] = 1.0 if tw[q] == tq else gd[q]
                for q in range(un):
                    gd[q] = max(2.0 - 2.0 * gd[q], 0.0)
            # km = 2R asin(chord / 2): a series exact to float32 precision below 1270 km
            far = False
            for q in range(un):
                y = np.float32(math.sqrt(gd[q])) * FHALF
                far |= bool(y >= SERIES_LIMIT)
                y2 = y * y
                g2[q] = r2 * y * (F1 + y2 * (S1 + y2 * (S2 + y2 * (S3 + y2 * S4))))
            if far:
                for q in range(un):
                    y = math.sqrt(gd[q]) * 0.5
                    if y >= 0.1:
                        g2[q] = r2 * math.asin(min(y, 1.0))
            decay_all(g2, x_loc, un, k_loc, KIND)
            for q in range(un):
                x_loc[q] = x_loc[q] if h1[q] else n_loc
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
                    gd[q] = prices[uj0 + fi[q]]
                for q in range(un):
                    pr = gd[q]
                    x_price[q] = pr * inv_b - 1.0 if pr == pr else 0.0
                decay_all(x_price, dst, un, k_price, KIND)
                for q in range(un):
                    dst[q] = dst[q] if gd[q] == gd[q] else n_price
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
                mm = np.int64(mo[t])
                mm = mm if mm != 0 else np.int64(dd & l_deal[uj0 + t])
                tw[q] = mm if mm != 0 else np.int64(3)
            for q in range(un):
                mm = tw[q]
                a32 = g1[q] if (mm & 1) != 0 else np.float32(-1.0)
                b32 = g2[q] if (mm & 2) != 0 else np.float32(-1.0)
                x_price[q] = max(a32, b32)
        for q in range(un):
            x_ind[q] = syn_row[l_related[uj0 + fi[q]]]
        # facilities: the mean over the minimums the demand gives
        if d_needs[i] > 0:
            for q in range(un):
                x_fac[q] = F0
            for f in range(3):
                need = d_height[i] if f == 0 else (d_load[i] if f == 1 else d_power[i])
                if not need > 0:
                    continue
                inv_need = 1.0 / need
                haves = l_height if f == 0 else (l_load if f == 1 else l_power)
                for q in range(un):
                    gd[q] = haves[uj0 + fi[q]]
                for q in range(un):
                    have = gd[q]
                    m = at_min + (1.0 - at_min) * (min((have - need) * inv_need * inv_full, 1.0) if full > 0
                                                   else 1.0)
                    m = m if have >= need else 0.0
                    x_fac[q] += np.float32(m) if have == have else n_fac
            inv_n = np.float32(1.0 / d_needs[i])
            for q in range(un):
                x_fac[q] *= inv_n
        else:
            for q in range(un):
                x_fac[q] = n_fac
        if move == move:
            for q in range(un):
                gd[q] = l_avail[uj0 + fi[q]]
            for q in range(un):
                av = gd[q]
                g1[q] = av - move if av == av else 0.0
            decay_all(g1, x_time, un, k_time, KIND)
            for q in range(un):
                x_time[q] = x_time[q] if gd[q] == gd[q] else n_time
        else:
            for q in range(un):
                x_time[q] = n_time
        for q in range(un):
            g1[q] = (wa * x_area[q] + wl * x_loc[q] + wp * x_price[q] + wi * x_ind[q]
                     + wf * x_fac[q] + wt * x_time[q])
        if keep:
            for q in range(un):
                t = fi[q]
                ttr[t] = g1[q] if ffr[t] == 0 else np.float32(nan)
            ro, co = r_off + r, np.uint64(c_off)
            for q in range(un):
                t = co + fi[q]
                crit[ci_a, ro, t] = x_area[q]
                crit[ci_l, ro, t] = x_loc[q]
                crit[ci_p, ro, t] = x_price[q]
                crit[ci_i, ro, t] = x_ind[q]
                crit[ci_f, ro, t] = x_fac[q]
                crit[ci_t, ro, t] = x_time[q]
        else:
            for q in range(un):
                ttr[fi[q]] = g1[q]


# ---- drivers --------------------------------------------------------------------------


def dense_items(n, m):
    """The work items of :func:`dense` over n rows x m columns."""
    return ((n + ROWS - 1) // ROWS) * ((m + COLS - 1) // COLS)


@numba.njit(parallel=SERIAL, nogil=True, cache=True, error_model="numpy")
def dense(D, L, T, P, F, K, KIND, W, CI, r0, r1, c0, c1, failed, total, crit, keep, i0, i1, wk):
    """Rows ``r0:r1`` x columns ``c0:c1`` into ``failed`` / ``total`` (and ``crit`` when
    ``keep``), shape (r1 - r0, c1 - c0), written in place by :func:`eval_rows`: work
    items ``i0:i1`` (of :func:`dense_items`), each ROWS rows x COLS columns, so that one
    row against many listings runs on many threads too (``wk``: the worker, unused)."""
    n, m = r1 - r0, c1 - c0
    n_cc = (m + COLS - 1) // COLS
    nb = no_bounds()
    yes = np.bool_(True)
    _, _, nfs, sd, si, si64, xs, stamp = new_buffers(0, T.units.shape[0])
    nfs = np.empty(ROWS, dtype=np.int64)
    for item in range(i0, i1):
        rc, cc = item // n_cc, item % n_cc
        ra, rb = rc * ROWS, min(rc * ROWS + ROWS, n)
        rows = np.arange(r0 + ra, r0 + rb)
        for a in range(cc * COLS, min(cc * COLS + COLS, m), TILE):
            b = min(a + TILE, m)
            eval_rows(rows, rb - ra, c0 + a, c0 + b, nb, D, L, T, P, F, K, KIND, W, CI, failed, total, ra, a, crit,
                      keep, yes, nfs, sd, si, si64, xs, stamp)


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
def finish(index, scores, count, k, h0, h1):
    """Pad rows ``h0:h1`` with fewer than k entries: NaN scores, -1 partners."""
    for h in range(h0, h1):
        for q in range(count[h], k):
            scores[h, q] = nan
            index[h, q] = -1


@numba.njit(nogil=True, cache=True, error_model="numpy")
def select_top(t, k, tie, index, scores, count, i0, i1, wk):
    """Per row ``i0:i1`` of ``t`` (the work items, :func:`scoring.fast.run_items`; ``wk``
    unused): the k highest non-NaN values, ties by ascending ``tie``.

    Writes ``index`` (int64, -1 padded), ``scores`` (NaN padded) and ``count``; the same
    result as ``scoring.select.select_top``.
    """
    m = t.shape[1]
    for r in range(i0, i1):
        count[r] = 0
        for j in range(m):
            v = t[r, j]
            if v >= kth(k, scores, count, r):
                heap_push(v, j, tie[j], k, index, scores, count, r, tie)
    finish(index, scores, count, k, i0, i1)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def merge_top(parts_index, parts_scores, parts_count, k, tie, index, scores, count, i0, i1, wk):
    """Merge per-worker best-first lists (``parts_*``: (n_parts, n, k)) into one of k per
    row, for the rows ``i0:i1`` (work items, as :func:`select_top`)."""
    for h in range(i0, i1):
        count[h] = 0
        for p in range(parts_index.shape[0]):
            for q in range(parts_count[p, h]):
                x = parts_index[p, h, q]
                heap_push(parts_scores[p, h, q], x, tie[x], k, index, scores, count, h, tie)
    finish(index, scores, count, k, i0, i1)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def merge_best(best, best_x, tie, out_best, out_x, i0, i1, wk):
    """Per column ``i0:i1`` (work items, as :func:`select_top`): the best of the
    per-worker bests (``best``/``best_x``: (n_parts, m)), ties by ascending ``tie`` of
    the partner; -inf / -1 where none."""
    for h in range(i0, i1):
        v, x = -math.inf, -1
        for p in range(best.shape[0]):
            bv, bx = best[p, h], best_x[p, h]
            if bx >= 0 and (x < 0 or bv > v or (bv == v and tie[bx] < tie[x])):
                v, x = bv, bx
        out_best[h], out_x[h] = v, x


ITEM = 4 * TILE  # listings per work item of the single-record driver


@numba.njit(parallel=SERIAL, nogil=True, cache=True, error_model="numpy")
def row_top(D, L, T, P, F, K, KIND, W, CI, i, starts, ends, k, tie, index, scores, count, i0, i1, wk):
    """Demand row ``i``'s k best feasible listings among the positions ``starts[q]:ends[q]``
    of work items ``q`` in ``i0:i1`` (at most ITEM positions each): each item keeps its
    own k best in row q of ``index`` / ``scores`` ((n_items, 1, k), best first, ties by
    ascending ``tie``) and ``count`` ((n_items, 1)), for :func:`merge_top` to merge
    (``wk``: the worker, unused). Nothing per listing is written."""
    rows = np.empty(1, np.int64)
    rows[0] = i
    nb = no_bounds()
    cb = np.empty((0, 0, 0), dtype=np.float32)
    z0, no = np.int64(0), np.bool_(False)  # (not literals: one eval_rows for every driver)
    n_classes = T.units.shape[0]
    ff, tt, nfs, sd, si, si64, xs, stamp = new_buffers(1, n_classes)
    for item in range(i0, i1):
        hi, hs, hc = index[item], scores[item], count[item]
        hc[0] = 0
        for a in range(starts[item], ends[item], TILE):
            b = min(a + TILE, ends[item])
            eval_rows(rows, np.int64(1), a, b, nb, D, L, T, P, F, K, KIND, W, CI, ff, tt, z0, z0, cb, no, no,
                      nfs, sd, si, si64, xs, stamp)
            ttr, fr = tt[0], si[4]
            for q in range(nfs[0]):  # the feasible pairs, ascending
                t = fr[q]
                v = ttr[t]
                if v >= kth(k, hs, hc, 0):
                    heap_push(v, a + t, tie[a + t], k, hi, hs, hc, 0, tie)


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


def row_items(n_rows):
    """The work items of :func:`candidates` and :func:`dual` over n rows."""
    return (n_rows + ROWS - 1) // ROWS


@numba.njit(parallel=SERIAL, nogil=True, cache=True, error_model="numpy")
def candidates(D, L, T, P, F, K, KIND, W, CI, rows, spans, reservation, positive, stats, per_d, per_l, keep_all,
               tie_l, tie_d, n_bits, d_count, d_best, d_best_j, d_rules, d_visits, l_count, l_best, l_best_i, l_rules,
               buf_r, buf_j, buf_s, fill, hd_index, hd_scores, hd_count, hl_index, hl_scores, hl_count,
               top_d, top_l, td_index, td_scores, td_count, tl_index, tl_scores, tl_count, i0, i1, wk):
    """Demand rows ``rows[p]`` (p: the row's position, which every per-row output is
    indexed by), each against the listing positions of its spans ``spans[p, g]`` ([start,
    end) per group g; empty when start >= end): work items ``i0:i1`` of ROWS rows each
    (:func:`row_items`), run by worker ``wk``.

    Per row: feasible pairs ``d_count``, best feasible score ``d_best`` (NaN: none) and
    its listing ``d_best_j`` (-1), failed pairs per rule bit ``d_rules[p, bit]``, pairs
    visited ``d_visits`` (all only when ``stats``). Per listing, one slot per worker (``wk``,
    merged by the caller): ``l_count``, ``l_best`` (-inf: none), ``l_best_i`` (-1),
    ``l_rules[w, bit, j]`` (when ``stats``). Pairs scoring >= reservation (and > 0 when
    ``positive``; ``Scorer.top_k`` keeps every feasible pair): when ``keep_all``,
    every one into the worker's ``buf_*`` (as (p, j, score); ``fill[w]``: entries used,
    -1 once overflowed, then the caller retries with more room); when ``per_d > 0`` the
    best per_d of each row into ``hd_*``; when ``per_l > 0`` the best per_l of each
    listing per worker into ``hl_*``. Every feasible pair, whatever its score: when
    ``top_d > 0`` the best top_d of each row into ``td_*``, when ``top_l > 0`` the best
    top_l of each listing per worker into ``tl_*`` (the rankings of
    :meth:`scoring.Scorer.top_k`, in the same pass). Ties everywhere by ascending id
    rank (``tie_l`` by listing position, ``tie_d`` by demand row).
    """
    n_rows = rows.shape[0]
    n_groups = spans.shape[1]
    rr = ROWS
    ff, tt, nfs, sd, si, si64, xs, stamp = new_buffers(rr, T.units.shape[0])
    cb = np.empty((0, 0, 0), dtype=np.float32)
    z0, no = np.int64(0), np.bool_(False)  # (not literals: one eval_rows for every driver)
    for item in range(i0, i1):
        ra, rb = item * rr, min(item * rr + rr, n_rows)
        # the worker's slots as views once per item (a view made per pair costs a
        # reference count each time)
        lc_w, lb_w, lbi_w = l_count[wk], l_best[wk], l_best_i[wk]
        hli_w, hls_w, hlc_w = hl_index[wk], hl_scores[wk], hl_count[wk]
        tli_w, tls_w, tlc_w = tl_index[wk], tl_scores[wk], tl_count[wk]
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
                eval_rows(rows[ra:rb], rb - ra, a, b, spans[ra:rb, g], D, L, T, P, F, K, KIND, W, CI, ff, tt, z0,
                          z0, cb, no, no, nfs, sd, si, si64, xs, stamp)
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
                        seen = np.uint16(0)  # the rules failing anywhere in the span: count only those
                        for t in range(uta, utb):
                            seen |= ffr[t]
                        for bit in range(n_bits):
                            if (seen >> bit) & 1 == 0:
                                continue
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
                    fr, ttr = si[4 + r], tt[r]
                    for q in range(nfs[r]):  # the row's feasible pairs, ascending
                        t = fr[q]
                        v = ttr[t]
                        if v != v:
                            continue
                        j = a + t
                        if stats:
                            lc_w[j] += 1
                            bx = lbi_w[j]
                            if bx < 0 or v > lb_w[j] or (v == lb_w[j] and rank_i < tie_d[bx]):
                                lb_w[j] = v
                                lbi_w[j] = i
                            if v > d_best[p] or (v == d_best[p] and tie_l[j] < tie_l[d_best_j[p]]):
                                d_best[p] = v
                                d_best_j[p] = j
                        if top_d > 0 and v >= kth(top_d, td_scores, td_count, p):
                            heap_push(v, j, tie_l[j], top_d, td_index, td_scores, td_count, p, tie_l)
                        if top_l > 0 and v >= kth(top_l, tls_w, tlc_w, j):
                            heap_push(v, i, rank_i, top_l, tli_w, tls_w, tlc_w, j, tie_d)
                        if v >= reservation and (v > 0 or not positive):
                            if keep_all:
                                push_pair(wk, p, j, v, buf_r, buf_j, buf_s, fill)
                            if per_d > 0 and v >= kth(per_d, hd_scores, hd_count, p):
                                heap_push(v, j, tie_l[j], per_d, hd_index, hd_scores, hd_count, p, tie_l)
                            if per_l > 0 and v >= kth(per_l, hls_w, hlc_w, j):
                                heap_push(v, i, rank_i, per_l, hli_w, hls_w, hlc_w, j, tie_d)
        for p in range(ra, rb if stats else ra):
            if d_best_j[p] < 0:
                d_best[p] = nan


@numba.njit(parallel=SERIAL, nogil=True, cache=True, error_model="numpy")
def dual(D, L, T, P, F, K, KIND, W, CI, rows, spans, reservation, u, v, tol, buf_r, buf_j, buf_s, fill, i0, i1, wk):
    """Feasible pairs of demand rows ``rows[p]`` (against their spans, as in
    :func:`candidates`; work items ``i0:i1``, worker ``wk``) scoring >= reservation
    whose reduced score ``s - u[i] - v[j]`` exceeds ``tol``, into worker wk's buffer as
    (p, j, score)."""
    n_rows = rows.shape[0]
    n_groups = spans.shape[1]
    rr = ROWS
    ff, tt, nfs, sd, si, si64, xs, stamp = new_buffers(rr, T.units.shape[0])
    cb = np.empty((0, 0, 0), dtype=np.float32)
    z0, no = np.int64(0), np.bool_(False)  # (not literals: one eval_rows for every driver)
    for item in range(i0, i1):
        ra, rb = item * rr, min(item * rr + rr, n_rows)
        for g in range(n_groups):
            lo, hi = span_union(spans, ra, rb, g)
            for a in range(lo, hi, TILE):
                b = min(a + TILE, hi)
                eval_rows(rows[ra:rb], rb - ra, a, b, spans[ra:rb, g], D, L, T, P, F, K, KIND, W, CI, ff, tt, z0,
                          z0, cb, no, no, nfs, sd, si, si64, xs, stamp)
                for r in range(rb - ra):
                    if nfs[r] == 0:
                        continue
                    p = ra + r
                    ui = u[rows[p]]
                    fr, ttr = si[4 + r], tt[r]
                    for q in range(nfs[r]):  # the row's feasible pairs, ascending
                        t = fr[q]
                        x = ttr[t]
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


@numba.njit(nogil=True, cache=True, error_model="numpy")
def place_rows(dem, lis, sco, starts, indptr, out_l, out_s, i0, i1, wk):
    """Copy each demand's run of pairs (``starts``: where each run begins in ``dem``, one
    run per demand, plus the end) to its CSR place ``indptr[dem]``, sorted by listing:
    the runs ``i0:i1`` (work items, as :func:`select_top`)."""
    for r in range(i0, i1):
        a, b = starts[r], starts[r + 1]
        order = np.argsort(lis[a:b])
        dst = indptr[dem[a]]
        for q in range(b - a):
            out_l[dst + q] = lis[a + order[q]]
            out_s[dst + q] = sco[a + order[q]]
