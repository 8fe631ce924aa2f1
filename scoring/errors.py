"""Exceptions shared by every changfang package.

:class:`ChangfangError` is the root of every exception changfang raises on purpose.
It lives here, in the lowest layer, so that :mod:`scoring` and :mod:`matcher` share
one tree while :mod:`matcher` imports :mod:`scoring` and never the reverse.
"""

from __future__ import annotations

__all__ = ["ChangfangError", "ProfileError"]


class ChangfangError(Exception):
    """Root of every exception raised on purpose by changfang."""


class ProfileError(ChangfangError, ValueError):
    """A scoring profile is invalid; ``key`` names the offending entry."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"profile key {key!r}: {reason}")
