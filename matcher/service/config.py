"""The service's configuration: one :class:`Settings`, read from the command line or
the environment.

``changfang serve`` turns its options into the environment (``CHANGFANG_DB``,
``CHANGFANG_TOKEN``, ``CHANGFANG_MAX_BODY``, ``CHANGFANG_PROFILE``,
``CHANGFANG_LOG_LEVEL``) so that every server process uvicorn starts reads the same
settings (:meth:`Settings.from_env`, :meth:`Settings.to_env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_DB", "DEFAULT_MAX_BODY", "Settings"]

DEFAULT_MAX_BODY = 10 * 2**20
"""Largest request body accepted by default, bytes (10 MiB)."""

DEFAULT_DB = "changfang.db"


@dataclass(frozen=True)
class Settings:
    """How one server process runs.

    Attributes
    ----------
    db : str
        SQLite file (created if missing) or ``":memory:"``.
    token : str or None
        Bearer token for the write endpoints; without one every write gets 401.
    max_body_bytes : int
        Larger request bodies get 413.
    profile : str or None
        Scoring profile (TOML path); None for the bundled default.
    log_level : str or None
        Level of the service's own log lines (``"INFO"``, ``"WARNING"``), None to leave
        logging as it is.
    """

    db: str = DEFAULT_DB
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    profile: str | None = None
    log_level: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``CHANGFANG_*`` variables (``os.environ`` by default)."""
        env = os.environ if env is None else env
        return cls(db=env.get("CHANGFANG_DB") or DEFAULT_DB, token=env.get("CHANGFANG_TOKEN") or None,
                   max_body_bytes=int(env.get("CHANGFANG_MAX_BODY") or DEFAULT_MAX_BODY),
                   profile=env.get("CHANGFANG_PROFILE") or None, log_level=env.get("CHANGFANG_LOG_LEVEL") or None)

    def to_env(self) -> dict[str, str]:
        """The ``CHANGFANG_*`` variables that :meth:`from_env` reads back as these settings."""
        return {"CHANGFANG_DB": self.db, "CHANGFANG_TOKEN": self.token or "",
                "CHANGFANG_MAX_BODY": str(self.max_body_bytes), "CHANGFANG_PROFILE": self.profile or "",
                "CHANGFANG_LOG_LEVEL": self.log_level or ""}
