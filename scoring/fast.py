"""The optional compiled path: every rule and criterion fused into one loop per pair.

With the ``[fast]`` extra (numba) installed, :class:`scoring.Scorer` evaluates large
blocks here instead of with numpy array passes: one pass over the pairs, parallel over
work items of rows and columns, nothing materialised but the outputs. The loop
(:mod:`scoring._fast_kernel`) implements the documented formulas of the rule and
criterion modules; the numpy path stays the definition (explanations always use it),
and the tests hold both paths to the plain-Python reference scorer. Rules compare
float64 values (or integer codes that keep their order, :func:`ranks`); the criteria run
in float32 like the numpy path's, in a different order of operations, so criterion
scores may differ from it in the last digits of float32.

Every constant the loop reads is built here, once, from its definition, and passed by
name (never restated as a literal in the loop):

* :func:`rule_flags` -- one field per rule of :data:`scoring.rules.RULES`, its flag;
* :func:`profile_record` -- the profile's scalars and decay kernels, by name;
* :func:`criteria_index` -- each criterion's position in :data:`scoring.criteria.CRITERIA`
  (the order of the ``crit`` output) and :func:`weight_record` the normalised weights;
* the rules that compare few-valued fields (fire class, 环评, ground floor, rating,
  admitted and banned industries) are looked up in tables made by running those rules'
  own numpy code (:data:`scoring.rules.RULES`) on one representative demand per class
  against one representative listing per class (:func:`prepare`);
* the whole-units arithmetic is :func:`scoring.units.units_wanted` and
  :func:`scoring.units.units_held`, compiled as they are and combined as
  :func:`scoring.units.offered_area` combines them.

Nothing is imported or compiled until first use; compiled code is cached on disk by
numba (and the cache is dropped when a module it compiles from is newer than it,
:func:`_drop_stale_cache`, since numba only watches the file of the function itself).

Threads: every compiled function is a plain loop over a range of work items that
releases the GIL; :func:`run_items` runs it on the calling thread and a pool of Python
threads (``NUMBA_NUM_THREADS`` in all), each taking chunks of items until none are
left. numba's own parallel loops (``prange``) are not used: they would compile every
driver a second time into a parallel kernel holding its own copy of the scoring loop
(8-12 s per driver on a fresh install, ``benchmarks/README.md``), and numba's threads
started from a service's request threads oversubscribe the cores (on its ``workqueue``
layer, concurrent launches abort the process). So numba's threading layer is never
started, and idle pool threads wait on a queue (they never spin).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import math
import os
import threading
import warnings
from collections import namedtuple
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scoring.block import Block
from scoring.criteria import CRITERIA
from scoring.geo import EARTH_RADIUS_KM
from scoring.kernels import KERNELS
from scoring.prepare import DemandSide, ListingSide, ragged_take
from scoring.profile import Profile
from scoring.rules import RULES, dense
from scoring.units import units_held

__all__ = ["CLASS_RULES", "CODE_RULES", "Prepared", "available", "criteria_index", "criteria_order",
           "evaluate_block", "prepare", "profile_record", "ranks", "rule_flags", "select_top"]

CLASS_RULES = ("fire_class", "eia", "ground_floor", "park_rating")
"""Rules looked up per (demand class, listing class): they read only the class keys."""
CODE_RULES = ("industry_allowed", "industry_banned")
"""Rules looked up per (demand code, listing's admitted and banned lists)."""

# The named records the loop takes (numba compiles attribute access on a namedtuple
# to a field load: the names cost nothing at run time).
RuleFlags = namedtuple("RuleFlags", [r.name for r in RULES])  # type: ignore[misc]
Kinds = namedtuple("Kinds", list(KERNELS))  # type: ignore[misc]
Decays = namedtuple("Decays", ["area_short", "area_over", "location_distance", "price_over", "timing_late"])
ProfileRecord = namedtuple("ProfileRecord", [
    "r2", "grace_days", "negotiable_discount", "at_minimum", "full_margin", "area_neutral",
    "location_neutral", "price_neutral", "facilities_neutral", "timing_neutral"])
Weights = namedtuple("Weights", list(CRITERIA))  # type: ignore[misc]
CriteriaIndex = namedtuple("CriteriaIndex", list(CRITERIA))  # type: ignore[misc]
Tables = namedtuple("Tables", ["cat_bits", "code_bits", "synergy", "units"])
DemandArrays = namedtuple("DemandArrays", [
    "deal", "has_area", "area_min", "area_max", "lo", "hi", "points", "point_offsets", "point_town",
    "max_distance", "thr_c2", "max_rent", "max_sale", "height", "load", "power", "n_needs",
    "certificate", "move_in", "crane_r", "load_r", "tax_r", "move_r", "lease_r", "cat", "code_row"])
ListingArrays = namedtuple("ListingArrays", [
    "deal", "notitle", "area", "unit", "held", "ucls", "has_loc", "vx", "vy", "vz", "town", "level",
    "eff_rent", "eff_sale", "height", "load", "power", "available", "crane_r", "load_r", "tax_r", "avail_r",
    "lease_r", "related", "cat", "ind", "div_pos"])


def available() -> bool:
    """True when numba can be imported."""
    return importlib.util.find_spec("numba") is not None


def _drop_stale_cache() -> None:
    """Remove numba's cached kernels when a module they compile from is newer.

    numba keys its cache on the source file of the jitted function only; the kernel
    also compiles :func:`scoring.units.units_wanted` and :func:`scoring.units.units_held`,
    which live elsewhere.
    """
    here = Path(__file__).resolve().parent
    sources = [here / "_fast_kernel.py", here / "units.py"]
    try:
        newest = max(p.stat().st_mtime for p in sources)
        cache = here / "__pycache__"
        for f in cache.glob("_fast_kernel.*.nb[ic]"):
            if f.stat().st_mtime < newest:
                f.unlink(missing_ok=True)
    except OSError:  # a read-only install: numba will not write a cache there either
        pass


@functools.cache
def kernel() -> Any:
    """The compiled module (imported, and its stale cache dropped, on first use)."""
    _drop_stale_cache()
    # the drivers take numba's parallel pipeline with no parallel loop on purpose
    # (scoring._fast_kernel.SERIAL), and numba warns that it made none
    warnings.filterwarnings("ignore", message=r"\s*The keyword argument 'parallel=True' was specified but no "
                            r"transformation for parallel execution was possible\.\s*\n\s*\nTo find out why, try "
                            r"turning on parallel diagnostics.*\n+File \"[^\"]*_fast_kernel\.py\"")
    from scoring import _fast_kernel

    return _fast_kernel


_LIMIT: list[int] = []  # the process-wide cap of limit_threads (empty: none)
_POOL: list[ThreadPoolExecutor] = []  # the helper threads, made on first use
_POOL_LOCK = threading.Lock()


def limit_threads(n: int | None) -> None:
    """Cap the threads the compiled drivers run on, for the whole process (``None``: no
    cap); a service whose workers already fill the cores calls this once
    (``limit_threads(1)``). ``numba.set_num_threads`` does not apply: it limits numba's
    own parallel loops on the thread that calls it, and there are none."""
    _LIMIT[:] = [] if n is None else [max(1, int(n))]


def threads() -> int:
    """Threads the compiled drivers run on: numba's ``NUMBA_NUM_THREADS`` (the environment
    variable; by default the CPUs), at most the cap of :func:`limit_threads`. Reading it
    does not start numba's threading layer (``numba.get_num_threads`` would, and nothing
    here runs on it)."""
    n = _configured_threads()
    return min(n, _LIMIT[0]) if _LIMIT else n


def _configured_threads() -> int:
    """numba's ``NUMBA_NUM_THREADS`` (read from its config: no threads are started)."""
    import numba

    return max(1, int(getattr(numba.config, "NUMBA_NUM_THREADS", os.cpu_count() or 1)))


def _pool() -> ThreadPoolExecutor:
    """The helper threads of :func:`run_items`, one pool for the process (as many as
    numba's thread count less one: the caller is the other)."""
    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max(1, _configured_threads() - 1),
                                            thread_name_prefix="changfang-kernel"))
        return _POOL[0]


def run_items(driver: Callable[..., None], args: tuple[Any, ...], n_items: int, workers: int | None = None,
              chunks: int = 8) -> None:
    """Run ``driver(*args, i0, i1, wk)`` over the work items ``0:n_items`` on up to
    ``workers`` threads (default :func:`threads`): the calling thread and helpers.

    Each thread has a worker slot ``wk`` in ``range(workers)`` (what a driver indexes its
    per-worker outputs by; the caller is slot 0) and takes chunks of items from a shared
    counter until none are left, about ``chunks`` per thread, so uneven items balance
    out (each chunk is a call from Python, ~50 us: a single query of ~1 ms asks for one
    per thread). The caller works too, so a call always progresses by itself: helpers
    busy with another call (a service answering several clients) or a call made from a
    helper thread only mean fewer threads for it, never a wait; helpers that had not
    started when the items ran out are cancelled. An exception in any chunk is raised
    here once the started helpers have stopped; an exception in the calling thread
    (Ctrl-C) stops the helpers after the chunk they are running.
    """
    nw = max(1, min(threads() if workers is None else workers, n_items))
    if nw == 1:
        if n_items > 0:
            driver(*args, 0, n_items, 0)
        return
    chunk = max(1, -(-n_items // (nw * max(1, chunks))))
    counter = itertools.count()  # (next() on it is atomic under the GIL)
    stop: list[BaseException] = []

    def work(wk: int) -> None:
        while not stop:
            i0 = next(counter) * chunk
            if i0 >= n_items:
                return
            try:
                driver(*args, i0, min(i0 + chunk, n_items), wk)
            except BaseException as e:  # the others stop at their next chunk
                stop.append(e)
                raise

    helpers = [_pool().submit(work, wk) for wk in range(1, nw)]
    interrupted = False
    try:
        work(0)
    except BaseException as e:
        stop.append(e)
        interrupted = not isinstance(e, Exception)  # (Ctrl-C does not wait for the helpers)
        raise
    finally:
        for f in helpers:
            f.cancel()  # not started yet: not needed any more
        for f in helpers:
            if not (interrupted or f.cancelled()):
                f.exception()  # wait for the started ones
    if stop:
        raise stop[0]


# ---- the named records ----------------------------------------------------------------
@functools.cache
def rule_flags() -> tuple[int, ...]:
    """:class:`RuleFlags`: each rule's flag (``1 << bit``, uint16 like the ``failed``
    words), by rule name."""
    return RuleFlags(*[np.uint16(r.flag) for r in RULES])


@functools.cache
def criteria_index() -> tuple[int, ...]:
    """:class:`CriteriaIndex`: each criterion's position in :data:`CRITERIA`."""
    return CriteriaIndex(*range(len(CRITERIA)))


def criteria_order() -> tuple[str, ...]:
    """Criterion names in the order of the ``crit`` output's first axis."""
    return tuple(CRITERIA)


def weight_record(weights: dict[str, float]) -> tuple[float, ...]:
    """:class:`Weights`: the normalised weight of each criterion by name (0 when not weighted)."""
    return Weights(*[float(weights.get(name, 0.0)) for name in CRITERIA])


def _decay(k: Any) -> np.ndarray:
    """A decay kernel as the loop reads it: float64 ``[kind, offset, 1 / scale, coef]``
    (kind: its position in :data:`scoring.kernels.KERNELS`; coef: ``1 - q`` linear,
    ``log q`` exp and gauss, ``1 / q - 1`` rational and cauchy)."""
    q = k.decay
    coef = {"linear": 1.0 - q, "exp": math.log(q), "gauss": math.log(q), "rational": 1.0 / q - 1.0,
            "cauchy": 1.0 / q - 1.0, "step": 0.0}[k.kind]
    return np.array([list(KERNELS).index(k.kind), k.offset, 1.0 / k.scale, coef], dtype=np.float64)


def profile_record(profile: Profile) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[int, ...]]:
    """The profile as the loop reads it: (:class:`ProfileRecord`, :class:`Decays`, :class:`Kinds`)."""
    p = profile
    rec = ProfileRecord(
        r2=2.0 * EARTH_RADIUS_KM, grace_days=float(p["rules"]["grace_days"]),
        negotiable_discount=float(p["price"]["negotiable_discount"]),
        at_minimum=float(p["facilities"]["at_minimum"]), full_margin=float(p["facilities"]["full_margin"]),
        area_neutral=float(p["area"]["neutral"]), location_neutral=float(p["location"]["neutral"]),
        price_neutral=float(p["price"]["neutral"]), facilities_neutral=float(p["facilities"]["neutral"]),
        timing_neutral=float(p["timing"]["neutral"]))
    decays = Decays(_decay(p.kernel("area", "short")), _decay(p.kernel("area", "over")),
                    _decay(p.kernel("location", "distance")), _decay(p.kernel("price", "over")),
                    _decay(p.kernel("timing", "late")))
    return rec, decays, Kinds(*[np.int64(k) for k in range(len(KERNELS))])


# ---- the prepared market ----------------------------------------------------------------
def _classes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each class, class of each row) of the rows of ``keys``."""
    if keys.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first.astype(np.int64), inverse.reshape(-1).astype(np.int64)


def ranks(l_values: np.ndarray, d_values: np.ndarray, listing_below: bool) -> tuple[np.ndarray, np.ndarray]:
    """Small integer codes of two float arrays compared against each other, keeping the
    comparison: with ``listing_below``, ``rl[j] < rd[i]`` exactly when ``l_values[j] <
    d_values[i]``; otherwise ``rd[i] < rl[j]`` exactly when ``d_values[i] < l_values[j]``;
    NaN on either side never compares true (as in float arithmetic).

    The codes are positions in the sorted distinct values of both arrays (so equal
    values get equal codes and the order is kept), uint16 when they fit, else uint32:
    the loop compares 16 or 32 pairs in one instruction instead of 4 float64 pairs.

    >>> rl, rd = ranks(np.array([1.5, np.nan, 3.0]), np.array([2.0, -np.inf]), listing_below=True)
    >>> (rl[:, None] < rd[None, :]).tolist()
    [[True, False], [False, False], [False, False]]
    """
    lv = np.asarray(l_values, dtype=np.float64)
    dv = np.asarray(d_values, dtype=np.float64)
    nan_l, nan_d = np.isnan(lv), np.isnan(dv)
    u = np.unique(np.concatenate([lv[~nan_l], dv[~nan_d]]))
    top = len(u) + 1
    dtype = np.uint16 if top <= np.iinfo(np.uint16).max else np.uint32
    rl = np.searchsorted(u, lv) + 1
    rd = np.searchsorted(u, dv) + 1
    if listing_below:  # rl < rd: a NaN listing is below nothing, nothing is below a NaN demand
        rl[nan_l], rd[nan_d] = top, 0
    else:  # rd < rl
        rl[nan_l], rd[nan_d] = 0, top
    return rl.astype(dtype), rd.astype(dtype)


def _rule_table(d: DemandSide, l: ListingSide, rep_d: np.ndarray, rep_l: np.ndarray, b: Block,
                names: tuple[str, ...]) -> np.ndarray:
    """uint16 (len(rep_d), len(rep_l)): the flags of rules ``names`` failing on the
    representatives, evaluated by the rules' own (numpy) code."""
    out = np.zeros((len(rep_d), len(rep_l)), dtype=np.uint16)
    if len(rep_d) == 0 or len(rep_l) == 0:
        return out
    rb = Block(d.take(rep_d), l.take(rep_l), b.tables, b.profile)
    for r in RULES:
        if r.name in names:
            out |= (dense(r.fails(rb), rb.shape) * r.flag).astype(np.uint16)
    return out


@dataclass(frozen=True, eq=False)
class Prepared:
    """The whole market as the loop reads it: named records of arrays, made once per scorer.

    Attributes
    ----------
    D : DemandArrays
        One array per demand field, shape (n_demands,) (or (n_demands, k)).
    L : ListingArrays
        One array per listing field, shape (n_listings,) (or (n_listings, 3)).
    T : Tables
        ``cat_bits`` uint16 (n_demand_classes, n_listing_classes), ``code_bits`` uint16
        (n_codes + 1, n_list_pairs), ``synergy`` float32 (n_codes + 1, n_related_lists).
    P, K, KIND, F, W, CI : named records
        Profile scalars, decay kernels, kernel kinds, rule flags, weights, criteria order.
    """

    D: Any
    L: Any
    T: Any
    P: Any
    K: Any
    KIND: Any
    F: Any
    W: Any
    CI: Any

    @property
    def args(self) -> tuple[Any, ...]:
        """The leading arguments of every driver of :mod:`scoring._fast_kernel`."""
        return (self.D, self.L, self.T, self.P, self.F, self.K, self.KIND, self.W, self.CI)

    def take_demands(self, idx: np.ndarray) -> Prepared:
        """The same market with the demands at rows ``idx``, in that order (every table
        and code stays the whole market's: each pair evaluates bit for bit as here)."""
        offsets, pts = ragged_take(self.D.point_offsets, np.asarray(idx, dtype=np.int64))
        ragged = {"points": np.ascontiguousarray(self.D.points[pts]), "point_offsets": offsets,
                  "point_town": np.ascontiguousarray(self.D.point_town[pts])}
        D = type(self.D)(**{f: ragged[f] if f in ragged else np.ascontiguousarray(a[idx])
                            for f, a in self.D._asdict().items()})
        return Prepared(D, self.L, self.T, self.P, self.K, self.KIND, self.F, self.W, self.CI)

    def take_listings(self, idx: np.ndarray) -> Prepared:
        """The same market with the listings at positions ``idx``, in that order (the
        pruning index runs the loop over listings sorted by its keys)."""
        L = type(self.L)(*[np.ascontiguousarray(a[idx]) for a in self.L[:-1]],
                         div_pos=np.flatnonzero(self.L.unit[idx] > 0).astype(np.int64))
        return Prepared(self.D, L, self.T, self.P, self.K, self.KIND, self.F, self.W, self.CI)


def prepare(b: Block, weights: dict[str, float]) -> Prepared:
    """Precompute for the whole market ``b`` (all demands against all listings)."""
    d, l, prof = b.d, b.l, b.profile
    c = np.ascontiguousarray
    # few-valued rules: one table per class pair, made by the rules themselves
    d_keys = np.stack([d.fire, d.eia == 1, d.ground == 1, d.rating], axis=1).astype(np.int64)
    floor_state = np.where(np.isnan(l.floor), 0, np.where(l.floor == 1, 1, 2))
    l_keys = np.stack([l.fire, l.eia, floor_state, l.min_rating], axis=1).astype(np.int64)
    rep_d, d_cat = _classes(d_keys)
    rep_l, l_cat = _classes(l_keys)
    cat_bits = _rule_table(d, l, rep_d, rep_l, b, CLASS_RULES)
    # industry rules: one representative demand per code (and one without), one listing
    # per (admitted, banned) pair of lists
    code_row = np.where(d.code >= 0, d.code, len(d.codes)).astype(np.int64)
    rep_code, _ = _classes(code_row[:, None])
    rep_ind, l_ind = _classes(np.stack([l.allowed, l.banned], axis=1).astype(np.int64))
    code_bits = np.zeros((len(d.codes) + 1, max(len(rep_ind), 1)), dtype=np.uint16)
    if len(rep_ind):
        code_bits[code_row[rep_code]] = _rule_table(d, l, rep_code, rep_ind, b, CODE_RULES)
    # distance limits: the listings' location uncertainty (+ slack) takes few values; per
    # demand and value, the limit as a squared chord: km > limit <=> chord^2 > (2 sin(limit / 2R))^2
    slack = prof["rules"]["distance_slack_km"]
    levels, level = np.unique(l.approx + slack, return_inverse=True)
    if levels.size == 0:
        levels = np.zeros(1)
    half = (d.max_distance[:, None] + levels[None, :]) / (2.0 * EARTH_RADIUS_KM)
    with np.errstate(invalid="ignore"):
        thr_c2 = np.where(half < math.pi / 2, (2.0 * np.sin(np.minimum(half, math.pi / 2))) ** 2, 4.0)
    disc = prof["price"]["negotiable_discount"]  # a 面议 price is scored as this much lower
    n_needs = ((d.height > 0).astype(np.int64) + (d.load > 0) + (d.power > 0)).astype(np.float64)
    # threshold rules as order-keeping codes (each comparison exactly the rule's own,
    # missing values as scoring.rules documents them)
    crane_l, crane_d = ranks(l.crane, d.crane, listing_below=True)  # crane: listing lighter than needed
    load_l, load_d = ranks(l.load, np.where(d.load > 0, d.load, -np.inf), listing_below=True)
    tax_l, tax_d = ranks(np.where(l.min_tax > 0, l.min_tax, -np.inf), np.where(np.isnan(d.tax), -np.inf, d.tax),
                         listing_below=False)  # park_tax: the firm's tax below the park's need
    avail_l, move_d = ranks(l.available, d.move_in + prof["rules"]["grace_days"], listing_below=False)
    lease_l, lease_d = ranks(l.min_lease, d.lease_months, listing_below=False)  # lease shorter than the minimum
    # whole units: per listing the units it holds, per unit size (a class) the units wanted
    div = l.unit > 0
    sizes, ucls = np.unique(np.where(div, l.unit, 0.0), return_inverse=True)
    held = np.where(div, units_held(l.area, np.where(div, l.unit, 1.0)), np.nan)
    D = DemandArrays(
        deal=d.deal.astype(np.uint8), has_area=d.has_area, area_min=d.area_min, area_max=d.area_max, lo=d.lo,
        hi=d.hi, points=c(d.points), point_offsets=d.point_offsets, point_town=d.point_town,
        max_distance=d.max_distance, thr_c2=c(thr_c2), max_rent=d.max_rent, max_sale=d.max_sale, height=d.height,
        load=d.load, power=d.power, n_needs=n_needs, certificate=d.certificate, move_in=d.move_in,
        crane_r=crane_d, load_r=load_d, tax_r=tax_d, move_r=move_d, lease_r=lease_d, cat=d_cat, code_row=code_row)
    L = ListingArrays(
        # (indices into tables unsigned: the loop indexes with them without a sign check)
        deal=l.deal.astype(np.uint8), notitle=(l.title != 1).astype(np.uint8), area=l.area, unit=l.unit,
        held=held, ucls=ucls.reshape(-1).astype(np.uint32), has_loc=l.has_loc,
        vx=c(l.vectors[:, 0]), vy=c(l.vectors[:, 1]), vz=c(l.vectors[:, 2]), town=l.town.astype(np.int32),
        level=level.reshape(-1).astype(np.uint32), eff_rent=np.where(l.negotiable, l.rent * (1.0 - disc), l.rent),
        eff_sale=np.where(l.negotiable, l.sale * (1.0 - disc), l.sale),
        height=l.height, load=l.load, power=l.power, available=l.available, crane_r=crane_l, load_r=load_l,
        tax_r=tax_l, avail_r=avail_l, lease_r=lease_l, related=l.related.astype(np.uint32),
        cat=l_cat.astype(np.uint32), ind=l_ind.astype(np.uint32), div_pos=np.flatnonzero(div).astype(np.int64))
    T = Tables(c(cat_bits), c(code_bits), c(b.tables.synergy), sizes.astype(np.float64))
    P, K, KIND = profile_record(prof)
    return Prepared(D, L, T, P, K, KIND, rule_flags(), weight_record(weights), criteria_index())


# ---- thin wrappers over the drivers -------------------------------------------------------
def evaluate_block(pre: Prepared, rows: slice, cols: slice, failed: np.ndarray, total: np.ndarray,
                   crit: np.ndarray | None) -> None:
    """Fill ``failed``, ``total`` (and ``crit`` when given) for demands ``rows`` x listings ``cols``.

    Parameters
    ----------
    pre : Prepared
    rows, cols : slice
        Contiguous ranges of the market ``pre`` was made for.
    failed : ndarray of uint16, shape (n_rows, n_cols)
    total : ndarray of float32, shape (n_rows, n_cols)
    crit : ndarray of float32, shape (len(CRITERIA), n_rows, n_cols), optional
        In the order of :data:`scoring.criteria.CRITERIA`.
    """
    keep = crit is not None
    if crit is None:
        crit = np.empty((0, 0, 0), dtype=np.float32)
    k = kernel()
    args = (*pre.args, rows.start, rows.stop, cols.start, cols.stop, failed, total, crit, keep)
    run_items(k.dense, args, k.dense_items(rows.stop - rows.start, cols.stop - cols.start))


def select_top(t: np.ndarray, k: int, tie: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compiled :func:`scoring.select.select_top` (same arguments, same result)."""
    n = t.shape[0]
    index = np.empty((n, k), dtype=np.int64)
    scores = np.empty((n, k), dtype=np.float32)
    count = np.empty(n, dtype=np.int64)
    run_items(kernel().select_top, (np.ascontiguousarray(t), k, tie.astype(np.int64), index, scores, count), n)
    return index, scores, count
