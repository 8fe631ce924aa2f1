"""The service's configuration: one :class:`Settings`, read from the command line or
the environment.

``changfang serve`` turns its options into the environment (``CHANGFANG_DB``,
``CHANGFANG_TOKEN``, ``CHANGFANG_MAX_BODY``, ``CHANGFANG_PROFILE``,
``CHANGFANG_LOG_LEVEL``, ``CHANGFANG_CORS_ORIGINS``, ``CHANGFANG_WORKERS``,
``CHANGFANG_BUSY_TIMEOUT``, ``CHANGFANG_STAFF``) so that every
server process uvicorn starts reads the same settings (:meth:`Settings.from_env`,
:meth:`Settings.to_env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "BUSY_SECONDS_PER_MIB",
    "BUSY_TIMEOUT_FLOOR_S",
    "DEFAULT_DB",
    "DEFAULT_MAX_BODY",
    "KEEPALIVE_REQUESTS",
    "Settings",
    "busy_timeout_s",
    "parse_staff",
]

DEFAULT_MAX_BODY = 10 * 2**20
"""Largest request body accepted by default, bytes (10 MiB)."""

DEFAULT_DB = "changfang.db"

KEEPALIVE_REQUESTS = 100
"""Requests one keep-alive connection serves before the server closes it (so that
connections spread over the server processes: :class:`~matcher.service.middleware.ConnectionRequests`)."""

BUSY_TIMEOUT_FLOOR_S = 30.0
"""Shortest time a writer waits for another process's write transaction, seconds."""

BUSY_SECONDS_PER_MIB = 1.0
"""Seconds a writer waits per MiB of the largest accepted body. A write transaction
holds only the inserts of one request (records are read, checked and prepared before
it begins): about 0.06 s per MiB of body on the project's 2-core machine, idle, and
0.15 s under load (``benchmarks/README.md``); the factor leaves room for a slow disk."""


def busy_timeout_s(max_body_bytes: int) -> float:
    """How long a writer waits for another process's write transaction: long enough
    for the largest body the service accepts (:data:`BUSY_SECONDS_PER_MIB`), at least
    :data:`BUSY_TIMEOUT_FLOOR_S`.

    >>> busy_timeout_s(10 * 2**20), busy_timeout_s(100 * 2**20)
    (30.0, 100.0)
    """
    return max(BUSY_TIMEOUT_FLOOR_S, BUSY_SECONDS_PER_MIB * max_body_bytes / 2**20)


@dataclass(frozen=True)
class Settings:
    """How one server process runs.

    Attributes
    ----------
    db : str
        SQLite file (created if missing) or ``":memory:"``.
    token : str or None
        Bearer token for the write endpoints (and for the private fields on reads);
        without one every write gets 401.
    max_body_bytes : int
        Larger request bodies get 413.
    profile : str or None
        Scoring profile (TOML path); None for the bundled default.
    log_level : str or None
        Level of the service's own log lines (``"INFO"``, ``"WARNING"``), None to leave
        logging as it is.
    cors_origins : tuple of str
        Origins whose browser pages may call the service (``https://portal.example``);
        none by default.
    workers : int
        Server processes sharing the database (``--workers``); with as many as the
        machine has cores, each process scores on one thread.
    busy_timeout : float or None
        Seconds a writer waits for another process's write
        (``$CHANGFANG_BUSY_TIMEOUT``); None: long enough for the largest body
        (:func:`busy_timeout_s`).
    staff : tuple of (name, token)
        One token per member of staff (``--staff NAME=TOKEN``,
        ``$CHANGFANG_STAFF="王芳=tok1,李明=tok2"``): each may do what ``token`` does,
        and feedback records the name.
    """

    db: str = DEFAULT_DB
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    profile: str | None = None
    log_level: str | None = None
    cors_origins: tuple[str, ...] = field(default=())
    workers: int = 1
    busy_timeout: float | None = None
    staff: tuple[tuple[str, str], ...] = field(default=())

    @property
    def busy_timeout_s(self) -> float:
        """Seconds a writer waits for another process's write: ``busy_timeout``, or
        long enough for the largest body (:func:`busy_timeout_s`)."""
        return self.busy_timeout if self.busy_timeout is not None else busy_timeout_s(self.max_body_bytes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``CHANGFANG_*`` variables (``os.environ`` by default)."""
        env = os.environ if env is None else env
        origins = tuple(o.strip() for o in (env.get("CHANGFANG_CORS_ORIGINS") or "").split(",") if o.strip())
        return cls(db=env.get("CHANGFANG_DB") or DEFAULT_DB, token=env.get("CHANGFANG_TOKEN") or None,
                   max_body_bytes=int(env.get("CHANGFANG_MAX_BODY") or DEFAULT_MAX_BODY),
                   profile=env.get("CHANGFANG_PROFILE") or None, log_level=env.get("CHANGFANG_LOG_LEVEL") or None,
                   cors_origins=origins, workers=int(env.get("CHANGFANG_WORKERS") or 1),
                   busy_timeout=float(env["CHANGFANG_BUSY_TIMEOUT"]) if env.get("CHANGFANG_BUSY_TIMEOUT") else None,
                   staff=parse_staff(env.get("CHANGFANG_STAFF") or ""))

    def to_env(self) -> dict[str, str]:
        """The ``CHANGFANG_*`` variables that :meth:`from_env` reads back as these settings."""
        return {"CHANGFANG_DB": self.db, "CHANGFANG_TOKEN": self.token or "",
                "CHANGFANG_MAX_BODY": str(self.max_body_bytes), "CHANGFANG_PROFILE": self.profile or "",
                "CHANGFANG_LOG_LEVEL": self.log_level or "", "CHANGFANG_CORS_ORIGINS": ",".join(self.cors_origins),
                "CHANGFANG_WORKERS": str(self.workers),
                "CHANGFANG_BUSY_TIMEOUT": "" if self.busy_timeout is None else str(self.busy_timeout),
                "CHANGFANG_STAFF": ",".join(f"{name}={token}" for name, token in self.staff)}


def parse_staff(text: str) -> tuple[tuple[str, str], ...]:
    """Named tokens from ``"name=token,name=token"`` (names hold no ``=`` or ``,``,
    tokens no ``,``).

    >>> parse_staff("王芳=tok1, 李明=tok2")
    (('王芳', 'tok1'), ('李明', 'tok2'))

    Raises
    ------
    ValueError
        An item without ``=``, or with an empty name or token.
    """
    out = []
    for item in text.split(","):
        if not item.strip():
            continue
        name, eq, token = item.partition("=")
        if not eq or not name.strip() or not token.strip():
            raise ValueError(f"staff token {item.strip()[:20]!r}...: must be NAME=TOKEN")
        out.append((name.strip(), token.strip()))
    return tuple(out)
