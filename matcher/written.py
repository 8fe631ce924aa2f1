"""Explanations that never call a field blank when the file had text there: see
:mod:`scoring.written` (the engine amends its own explanations; these names stay for
the callers that amend sentences built elsewhere)."""

from scoring.written import amend, amend_summary, explain, explain_row

__all__ = ["amend", "amend_summary", "explain", "explain_row"]
