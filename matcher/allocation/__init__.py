"""Allocation algorithms on bare score matrices.

Each algorithm takes a score matrix -- a dense array of shape (n_demands, n_listings)
with NaN for infeasible pairs, or a scipy sparse matrix whose stored entries are the
feasible pairs -- and returns index arrays. :func:`matcher.match` (issue #4) is a thin
layer over them that adds records, locks, exclusions, reasons and explanations.
"""

from matcher.allocation.candidates import Candidates, candidates
from matcher.allocation.divisible import DivisibleResult, divisible, unit_sizes
from matcher.allocation.one_to_one import has_flow, one_to_one, solve_dense, solve_flow, solve_sparse
from matcher.allocation.stable import blocking_pairs, stable

__all__ = [
    "Candidates", "DivisibleResult", "blocking_pairs", "candidates", "divisible", "has_flow", "one_to_one",
    "solve_dense", "solve_flow", "solve_sparse", "stable", "unit_sizes",
]
