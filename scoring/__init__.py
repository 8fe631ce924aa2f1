"""changfang.scoring: the vectorised score of every (demand, listing) pair.

* :func:`score` -- the full matrices: ``total`` (NaN where infeasible),
  ``feasible``, ``failed`` (a bitmask of :data:`RULES`), each criterion's scores,
  and ``explain(i, j)``;
* :func:`top_k` -- the k best partners of every record, block by block;
* :class:`Scorer` -- both sides prepared once; ``for_demand(i, k)`` and
  ``for_listing(j, k)`` for one record against the other side;
* :meth:`Scorer.candidates` -- the feasible pairs above the reservation (all, or each
  record's best), with every record's feasible count, best partner and failing rules,
  blockwise (:class:`Candidates`); :meth:`Scorer.dual_violations` -- the optimality
  check of a one-to-one solution's duals over every pair (:mod:`scoring.sparse`);
* :func:`offered_area` -- the area a listing offers a demand in whole units (the one
  definition, :mod:`scoring.units`);
* :func:`load_profile` / :func:`default_profile` -- weights, scales, tolerances;
* :func:`prepare_demands` / :func:`prepare_listings` -- records as the engine reads
  them (:class:`DemandSide`, :class:`ListingSide`), for callers that keep prepared
  sides and build scorers over them with :meth:`Scorer.from_sides`.

Modules by concern: :mod:`scoring.engine` (the :class:`Scorer`: blocks, evaluation,
rankings), :mod:`scoring.results` (what it returns), :mod:`scoring.select` (top k with
ties by id), :mod:`scoring.explain` (explanations), :mod:`scoring.rules` and
:mod:`scoring.criteria` (the definitions), :mod:`scoring.units` (whole units),
:mod:`scoring.sparse` and :mod:`scoring.prune` (candidates without the matrix, and the
index that skips what the rules rule out), :mod:`scoring.fast` (the optional compiled
loop), :mod:`scoring.prepare`, :mod:`scoring.profile`, :mod:`scoring.reference`.

Nothing here imports :mod:`matcher`; dependencies point one way.
"""

from scoring.criteria import CRITERIA
from scoring.engine import Scorer, score, top_k
from scoring.errors import ChangfangError, ProfileError
from scoring.explain import Explanation
from scoring.prepare import DemandSide, ListingSide, prepare_demands, prepare_listings
from scoring.profile import Profile, default_profile, load_profile
from scoring.results import Ranking, ScoreResult, TopK
from scoring.rules import RULES
from scoring.sparse import Candidates, DualViolations, SideStats
from scoring.units import offered_area, offered_units

__all__ = [
    "CRITERIA",
    "RULES",
    "Candidates",
    "ChangfangError",
    "DemandSide",
    "DualViolations",
    "Explanation",
    "ListingSide",
    "Profile",
    "ProfileError",
    "Ranking",
    "ScoreResult",
    "Scorer",
    "SideStats",
    "TopK",
    "default_profile",
    "load_profile",
    "offered_area",
    "offered_units",
    "prepare_demands",
    "prepare_listings",
    "score",
    "top_k",
]
