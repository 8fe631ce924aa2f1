"""changfang.scoring: reference data and (next) the vectorised scoring engine.

Nothing here imports :mod:`matcher`; dependencies point one way.
"""

from scoring.errors import ChangfangError, ProfileError

__all__ = ["ChangfangError", "ProfileError"]
