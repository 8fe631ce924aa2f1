"""Why each unmatched demand and listing stayed unmatched.

* ``no_feasible``: no partner passes the hard rules; the rules that excluded most
  candidates are named;
* ``excluded``: feasible partners exist, but every one of them was excluded (a refused
  pair) or locked to another record; both are counted and named;
* ``below_reservation``: feasible partners are left, none scores the reservation;
* ``outbid``: its best partner went to another pair; names that partner and to whom.

Everything comes from the per-record statistics of the scoring pass
(:class:`scoring.sparse.SideStats`: feasible partners, best partner and score, failing
pairs by rule), with no matrix: only a record whose best partner was excluded or locked
away has its row (or column) scored again, to find the best partner still available.
On a market scored with the pruning index (each record's best pairs kept), the rule
counts of ``no_feasible`` count a pair the index skipped under the rule that skipped it
(the other rules' counts are then lower bounds); with every pair kept they are exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

import scoring
from matcher.match import Unmatched

if TYPE_CHECKING:
    from matcher.solve import Market

__all__ = ["no_feasible", "reasons", "unavailable"]

_RULE_ZH = {r.name: r.zh for r in scoring.RULES}


def no_feasible(counts: dict[str, int], other: str) -> tuple[str, str]:
    """The reason of a record no partner passes the hard rules for: the three rules that
    excluded most (``counts``, most first), in Chinese and English; ``other`` is the
    partners' side (``"listing"`` or ``"demand"``)."""
    top = list(counts.items())[:3]
    zh = "，".join(f"{n} 个{'房源' if other == 'listing' else '需求'}{_RULE_ZH[k]}不符" for k, n in top)
    en = ", ".join(f"{n} {other}s fail {k.replace('_', ' ')}" for k, n in top)
    return f"没有可行的{'房源' if other == 'listing' else '需求'}：{zh}", f"no feasible {other}: {en}"


def _some(ids: np.ndarray, idx: list[int], n: int = 3) -> str:
    shown = "、".join(str(ids[k]) for k in idx[:n])
    return shown + ("…" if len(idx) > n else "")


def _counts(failed: np.ndarray) -> dict[str, int]:
    counts = {r.name: int(np.count_nonzero(failed & np.uint16(r.flag))) for r in scoring.RULES}
    return dict(sorted(((n, c) for n, c in counts.items() if c), key=lambda kv: -kv[1]))


def reasons(m: Market, demand: np.ndarray, listing: np.ndarray) -> list[Unmatched]:
    """The reason of every record of ``m`` outside the pairs ``(demand, listing)``.

    Parameters
    ----------
    m : matcher.solve.Market
        The market the allocation was made on (statistics, exclusions, locks).
    demand, listing : ndarray of int64, shape (n_pairs,)
        The pairs made (locked ones included).

    Returns
    -------
    list of Unmatched
        Demands first, then listings, each in row order.
    """
    sc = m.sc
    n_d, n_l = sc.shape
    ids_d, ids_l = sc.demand_side.ids, sc.listing_side.ids
    got_d = np.full(n_d, -1, dtype=np.int64)
    got_d[demand] = listing
    got_l: dict[int, list[int]] = {}
    for i, j in zip(demand.tolist(), listing.tolist()):
        got_l.setdefault(j, []).append(i)
    xr, xc = m.excluded
    refused = set(zip(xr.tolist(), xc.tolist()))
    locked = np.zeros(n_d, dtype=bool)
    locked[m.locked_rows] = True
    matched_l = np.zeros(n_l, dtype=bool)
    matched_l[listing] = True
    out: list[Unmatched] = []
    sides: tuple[tuple[Literal["demand", "listing"], int, str], ...] = (("demand", n_l, "listing"),
                                                                        ("listing", n_d, "demand"))
    for side, n_other, other in sides:
        stats = m.demands if side == "demand" else m.listings
        matched = got_d >= 0 if side == "demand" else matched_l
        ids_self = ids_d if side == "demand" else ids_l
        ids_other = ids_l if side == "demand" else ids_d
        gone = m.taken if side == "demand" else locked  # partners no one else may have
        word = "房源" if other == "listing" else "需求"
        alone = np.flatnonzero(~matched & (stats.n_feasible == 0)) if n_other else np.zeros(0, np.int64)
        # a pruned pass left lower bounds: the exact counts of all such lines in one go
        exact = {} if m.exact_rule_counts else dict(zip(alone.tolist(), sc.rule_counts_many(alone, side)))
        for k in np.flatnonzero(~matched).tolist():
            if n_other == 0:
                out.append(Unmatched(side, k, str(ids_self[k]), f"没有任何{word}", f"there are no {other}s",
                                     "no_feasible"))
                continue
            if stats.n_feasible[k] == 0:
                counts = stats.rules(k) if m.exact_rule_counts else exact[k]
                zh_, en_ = no_feasible(counts, other)
                out.append(Unmatched(side, k, str(ids_self[k]), zh_, en_, "no_feasible", tuple(counts.items())))
                continue
            best, score = int(stats.best_partner[k]), float(stats.best[k])
            key = (k, best) if side == "demand" else (best, k)
            if gone[best] or key in refused:
                row = _available(m, side, k, gone, refused)
                if row is None:  # every feasible partner is excluded or locked away
                    out.append(_unavailable(m, side, k, gone, refused))
                    continue
                best, score = row
            if score < m.reservation:
                out.append(Unmatched(side, k, str(ids_self[k]),
                                     f"最佳匹配 {ids_other[best]} 得分 {score:.2f}，低于保留分 {m.reservation:.2f}",
                                     f"best partner {ids_other[best]} scores {score:.2f}, "
                                     f"below the reservation score {m.reservation:.2f}", "below_reservation"))
                continue
            if side == "demand":
                whom = ", ".join(str(ids_d[t]) for t in got_l.get(best, [])) or "?"
            else:
                whom = str(ids_l[got_d[best]]) if got_d[best] >= 0 else "?"
            out.append(Unmatched(side, k, str(ids_self[k]),
                                 f"最佳匹配 {ids_other[best]}（{score:.2f}）已分配给 {whom}",
                                 f"its best partner {ids_other[best]} ({score:.2f}) went to {whom}", "outbid"))
    return out


def _line(m: Market, side: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rule bits and totals of record ``k`` against the whole other side (one row or
    column scored again)."""
    n_d, n_l = m.sc.shape
    blk = m.sc.block(k, k + 1, 0, n_l) if side == "demand" else m.sc.block(0, n_d, k, k + 1)
    failed, total = m.sc.evaluate(blk)
    return failed.reshape(-1), total.reshape(-1)


def _usable(side: str, k: int, n: int, gone: np.ndarray, refused: set[tuple[int, int]]) -> np.ndarray:
    ok = ~gone.copy()
    for i, j in refused:
        if side == "demand" and i == k:
            ok[j] = False
        elif side == "listing" and j == k:
            ok[i] = False
    return ok


def _available(m: Market, side: str, k: int, gone: np.ndarray,
               refused: set[tuple[int, int]]) -> tuple[int, float] | None:
    """Record ``k``'s best feasible partner neither excluded nor locked away (ties by id
    rank, as every ranking), and its score; None when there is none."""
    failed, total = _line(m, side, k)
    ok = (failed == 0) & _usable(side, k, len(total), gone, refused)
    if not ok.any():
        return None
    idx = np.flatnonzero(ok)
    rank = (m.rank_l if side == "demand" else m.rank_d)[idx]
    best = idx[np.lexsort((rank, -total[idx].astype(np.float64)))[0]]
    return int(best), float(total[best])


def _unavailable(m: Market, side: str, k: int, gone: np.ndarray, refused: set[tuple[int, int]]) -> Unmatched:
    sc = m.sc
    ids_self = sc.demand_side.ids if side == "demand" else sc.listing_side.ids
    ids_other = sc.listing_side.ids if side == "demand" else sc.demand_side.ids
    failed, _ = _line(m, side, k)
    feasible = np.flatnonzero(failed == 0).tolist()
    keys = [(k, o) if side == "demand" else (o, k) for o in feasible]
    ex = [o for o, key in zip(feasible, keys) if key in refused]
    lk = [o for o, key in zip(feasible, keys) if key not in refused]
    zh, en = unavailable(side, ids_other, ex, lk)
    return Unmatched(side, k, str(ids_self[k]), zh, en, "excluded", tuple(_counts(failed).items()))


def unavailable(side: str, ids_other: np.ndarray, excluded: list[int], locked: list[int]) -> tuple[str, str]:
    """The reason of a record whose feasible partners are all excluded (``excluded``,
    rows of the other side) or locked to other records (``locked``), in Chinese and
    English, naming a few of each by id (``ids_other``)."""
    word, other = ("房源", "listing") if side == "demand" else ("需求", "demand")
    ex, lk = excluded, locked
    zh = [f"已排除 {len(ex)} 个（{_some(ids_other, ex)}）"] if ex else []
    en = [f"{len(ex)} excluded ({_some(ids_other, ex).replace('、', ', ')})"] if ex else []
    if lk:
        zh.append(f"已锁定给其他{'需求' if side == 'demand' else '房源'} {len(lk)} 个（{_some(ids_other, lk)}）")
        en.append(f"{len(lk)} locked to other {'demands' if side == 'demand' else 'listings'} "
                  f"({_some(ids_other, lk).replace('、', ', ')})")
    n = len(ex) + len(lk)
    return (f"{n} 个可行{word}均不可用：{'，'.join(zh)}",
            f"all {n} feasible {other}s are unavailable: {'; '.join(en)}")
