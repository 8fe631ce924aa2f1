"""Allocation algorithms on bare score matrices.

Each algorithm takes a score matrix -- a dense array of shape (n_demands, n_listings)
with NaN for infeasible pairs, or a scipy sparse matrix whose stored entries are the
feasible pairs -- and returns index arrays. :func:`matcher.match` (issue #4) is a thin
layer over them that adds records, locks, exclusions, reasons and explanations.
"""

from matcher.allocation.candidates import Candidates, candidates
from matcher.allocation.components import Part, parts
from matcher.allocation.divisible import DivisibleResult, divisible, lp_prices, unit_sizes
from matcher.allocation.one_to_one import (
    assignment_duals,
    has_flow,
    one_to_one,
    solve_dense,
    solve_flow,
    solve_sparse,
)
from matcher.allocation.stable import blocking_pairs, stable

__all__ = [
    "Candidates", "DivisibleResult", "Part", "assignment_duals", "blocking_pairs", "candidates", "divisible",
    "has_flow", "lp_prices", "one_to_one", "parts", "solve_dense", "solve_flow", "solve_sparse", "stable",
    "unit_sizes",
]
