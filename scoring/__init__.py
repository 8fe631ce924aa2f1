"""changfang.scoring: the vectorised score of every (demand, listing) pair.

* :func:`score` -- the full matrices: ``total`` (NaN where infeasible),
  ``feasible``, ``failed`` (a bitmask of :data:`RULES`), each criterion's scores,
  and ``explain(i, j)``;
* :func:`top_k` -- the k best partners of every record, block by block;
* :class:`Scorer` -- both sides prepared once; ``for_demand(i, k)`` and
  ``for_listing(j, k)`` for one record against the other side;
* :func:`load_profile` / :func:`default_profile` -- weights, scales, tolerances;
* :func:`prepare_demands` / :func:`prepare_listings` -- records as the engine reads
  them (:class:`DemandSide`, :class:`ListingSide`), for callers that keep prepared
  sides and build scorers over them with :meth:`Scorer.from_sides`.

Modules by concern: :mod:`scoring.engine` (the :class:`Scorer`: blocks, evaluation,
rankings), :mod:`scoring.results` (what it returns), :mod:`scoring.select` (top k with
ties by id), :mod:`scoring.explain` (explanations), :mod:`scoring.rules` and
:mod:`scoring.criteria` (the definitions), :mod:`scoring.units` (whole units: the area a
listing offers a demand), :mod:`scoring.fast` (the optional compiled loop),
:mod:`scoring.prepare`, :mod:`scoring.profile`, :mod:`scoring.reference`.

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
from scoring.units import offered_area, offered_units

__all__ = [
    "CRITERIA",
    "RULES",
    "ChangfangError",
    "DemandSide",
    "Explanation",
    "ListingSide",
    "Profile",
    "ProfileError",
    "Ranking",
    "ScoreResult",
    "Scorer",
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
