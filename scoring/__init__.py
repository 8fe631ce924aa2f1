"""changfang.scoring: the vectorised score of every (demand, listing) pair.

* :func:`score` -- the full matrices: ``total`` (NaN where infeasible),
  ``feasible``, ``failed`` (a bitmask of :data:`RULES`), each criterion's scores,
  and ``explain(i, j)``;
* :func:`top_k` -- the k best partners of every record, block by block;
* :class:`Scorer` -- both sides prepared once; ``for_demand(i, k)`` and
  ``for_listing(j, k)`` for one record against the other side;
* :func:`load_profile` / :func:`default_profile` -- weights, scales, tolerances.

Nothing here imports :mod:`matcher`; dependencies point one way.
"""

from scoring.criteria import CRITERIA
from scoring.engine import Ranking, Scorer, ScoreResult, TopK, score, top_k
from scoring.errors import ChangfangError, ProfileError
from scoring.explain import Explanation
from scoring.profile import Profile, default_profile, load_profile
from scoring.rules import RULES

__all__ = [
    "CRITERIA",
    "RULES",
    "ChangfangError",
    "Explanation",
    "Profile",
    "ProfileError",
    "Ranking",
    "ScoreResult",
    "Scorer",
    "TopK",
    "default_profile",
    "load_profile",
    "score",
    "top_k",
]
