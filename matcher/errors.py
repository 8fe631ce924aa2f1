"""Exceptions raised by :mod:`matcher`.

Every exception the package raises on purpose derives from
:class:`~scoring.errors.ChangfangError`; those caused by bad input also derive from
the matching builtin (``ValueError``, ``KeyError``), so callers may catch either.
Each carries structured fields (the file, the id, the request field) so that callers
map them by type, never by reading their messages: the command line to exit codes,
the service to HTTP statuses. Problems with single rows or cells never raise: they are
collected in the ingestion report (see :mod:`matcher.io.ingest`).

=========================  =====================  ==================================
exception                  builtin                raised when
=========================  =====================  ==================================
:class:`InputFileError`    ValueError             a whole file or table cannot be read
:class:`UnknownIdError`    KeyError, LookupError  an id names no record (a lock, an
                                                  exclusion, a request)
:class:`PairConflictError` ValueError             locks and exclusions contradict
                                                  each other
:class:`RequestError`      ValueError             a request's field is invalid
:class:`ProfileError`      ValueError             a scoring profile is invalid
:class:`OutOfMemory`       MemoryError            a stage of a run needs more memory
                                                  than the machine has
:class:`StoreBusyError`    TimeoutError           the service's database stayed
                                                  locked by another writer longer
                                                  than the busy timeout
=========================  =====================  ==================================
"""

from __future__ import annotations

from collections.abc import Sequence

from scoring.errors import ChangfangError, ProfileError

__all__ = ["ChangfangError", "InputFileError", "OutOfMemory", "PairConflictError", "ProfileError", "RequestError",
           "StoreBusyError", "UnknownIdError", "out_of_memory"]


class InputFileError(ChangfangError, ValueError):
    """A whole input could not be read as a table of records.

    Parameters
    ----------
    source : str
        The file path or a short description of the in-memory table.
    reason : str
        What is wrong, as a short domain fact ("no id column", "file is empty").
    reason_zh : str, optional
        The same in Chinese (what the command line shows under ``--lang zh``).
    """

    def __init__(self, source: str, reason: str, reason_zh: str = "") -> None:
        self.source = source
        self.reason = reason
        if reason_zh:
            self.reason_zh = reason_zh
        super().__init__(f"{source}: {reason}")


class UnknownIdError(ChangfangError, KeyError):
    """An id names no record.

    Parameters
    ----------
    side : {"demand", "listing", "run"}
        What the id should name.
    record_id : str
    where : str, optional
        Where the id was given: ``"locks"``, ``"exclude"``, ``"path"`` ...
    """

    def __init__(self, side: str, record_id: str, where: str = "") -> None:
        self.side = side
        self.record_id = record_id
        self.where = where
        super().__init__(side, record_id, where)

    def __str__(self) -> str:
        at = f" in {self.where}" if self.where else ""
        return f"unknown {self.side} id {self.record_id!r}{at}"

    @property
    def reason_zh(self) -> str:
        """The same in Chinese."""
        side = {"demand": "需求", "listing": "房源", "run": "运行"}.get(self.side, self.side)
        at = {"locks": "（锁定文件中）", "exclude": "（排除文件中）"}.get(self.where, "")
        return f"未知的{side}编号 {self.record_id!r}{at}"


class PairConflictError(ChangfangError, ValueError):
    """Locks and exclusions contradict each other (a demand locked twice, a listing
    locked twice under one-to-one, a pair both locked and excluded).

    Parameters
    ----------
    reason : str
    pairs : sequence of (demand_id, listing_id)
        The pairs concerned.
    where : str
        ``"locks"`` or ``"exclude"``: the input to fix.
    reason_zh : str, optional
        ``reason`` in Chinese.
    """

    def __init__(self, reason: str, pairs: Sequence[tuple[str, str]] = (), where: str = "locks",
                 reason_zh: str = "") -> None:
        self.reason = reason
        self.pairs = tuple(pairs)
        self.where = where
        shown = ", ".join(f"({d}, {l})" for d, l in self.pairs[:3])
        self.reason_zh = f"{reason_zh or reason}：{shown}" if shown else (reason_zh or reason)
        super().__init__(f"{reason}: {shown}" if shown else reason)


class RequestError(ChangfangError, ValueError):
    """A field of a request is invalid.

    Parameters
    ----------
    loc : sequence of str or int
        Path of the field in the request (``("body", "locks", 0)``).
    reason : str
    reason_zh : str, optional
        The reason in Chinese.
    """

    def __init__(self, loc: Sequence[str | int], reason: str, reason_zh: str = "") -> None:
        self.loc = tuple(loc)
        self.reason = reason
        self.reason_zh = reason_zh
        super().__init__(f"{'.'.join(str(x) for x in self.loc)}: {reason}")


class OutOfMemory(ChangfangError, MemoryError):
    """A stage of a run ran out of memory.

    Parameters
    ----------
    stage : str
        The stage (``"scoring and allocating"``, ``"writing"`` ...).
    need_bytes : int
        An estimate of the memory the stage needs for this market, bytes (0: unknown).
    """

    def __init__(self, stage: str, need_bytes: int = 0) -> None:
        self.stage = stage
        self.need_bytes = int(need_bytes)
        super().__init__(f"out of memory in stage {stage} (about {self.need_bytes / 2**30:.1f} GiB needed)")


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` means the process ran out of memory: a :class:`MemoryError`, an
    :class:`OSError` with ``ENOMEM``, or an :class:`ImportError` of a compiled module the
    loader had no memory to map (``failed to map segment from shared object``, as
    OR-tools' library is when a ``ulimit -v`` leaves no room)."""
    import errno

    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        return True
    text = str(exc).lower()
    return isinstance(exc, ImportError) and ("failed to map segment" in text or "cannot allocate memory" in text)


class StoreBusyError(ChangfangError, TimeoutError):
    """Another process held the service's database for writing longer than this
    writer's busy timeout; nothing of this write was stored.

    Parameters
    ----------
    waited_s : float
        The busy timeout, seconds.
    """

    def __init__(self, waited_s: float) -> None:
        self.waited_s = waited_s
        super().__init__(f"the database stayed locked by another writer for {waited_s:g} s")

