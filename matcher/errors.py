"""Exceptions raised by :mod:`matcher`.

Every exception the package raises on purpose derives from
:class:`~scoring.errors.ChangfangError`; those caused by bad input also derive from
the matching builtin (``ValueError``), so callers may catch either. Problems with
single rows or cells never raise: they are collected in the ingestion report (see
:mod:`matcher.io.ingest`).
"""

from __future__ import annotations

from scoring.errors import ChangfangError, ProfileError

__all__ = ["ChangfangError", "InputFileError", "ProfileError"]


class InputFileError(ChangfangError, ValueError):
    """A whole input could not be read as a table of records.

    Parameters
    ----------
    source : str
        The file path or a short description of the in-memory table.
    reason : str
        What is wrong, as a short domain fact ("no id column", "file is empty").
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")
