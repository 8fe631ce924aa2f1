"""All or nothing: a run's outputs are written into a new folder beside the target and
swapped in only when every file is complete.

:func:`staged_folder` yields the new folder; when the block ends normally the new
folder takes the target's place (on Linux in one atomic exchange of the two names,
elsewhere in two renames with the old folder restored if the second fails) and the old
outputs are removed; when the block raises (a bad character, a full disk, Ctrl-C,
running out of memory) the new folder is removed and the target is left as it was.

The target may be missing, empty, or a folder of earlier outputs (files named in
``expected``, or ``.xlsx`` workbooks in a per-party folder); a folder holding anything
else is refused (:class:`OutputFolderError`) rather than replaced, so no other file is
ever deleted.

A run killed outright (SIGKILL, the OOM killer, a power cut) cannot remove its new
folder. The folder's name carries the host and process id of the run that made it
(``.out.new-HOST-PID-XXXXXXXX``) and the run holds a lock on it while it lives; the
next run into the same target removes such folders of its own host whose process is
gone and whose lock is free (:func:`_sweep`); anything else is left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import shutil
import socket
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from matcher.errors import ChangfangError
from matcher.io.export import umask

__all__ = ["OutputFolderError", "staged_folder"]


class OutputFolderError(ChangfangError, ValueError):
    """The output folder holds files that are not earlier outputs, or is not a folder.

    Parameters
    ----------
    path : str
    reason : str
    reason_zh : str
    """

    def __init__(self, path: str, reason: str, reason_zh: str) -> None:
        self.path, self.reason, self.reason_zh = path, reason, reason_zh
        super().__init__(f"{path}: {reason}")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    the system cannot."""
    name = ctypes.util.find_library("c")
    if name is None or not hasattr(os, "O_PATH"):
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, exchange = -100, 2
    rc = fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), exchange)
    return bool(rc == 0)


def check_target(target: Path, allowed: Callable[[Path], bool]) -> None:
    """Refuse a target that is not a folder, or holds something not ``allowed``."""
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputFolderError(str(target), "is not a folder", "不是文件夹")
    strangers = sorted(p.name for p in target.iterdir() if not allowed(p))
    if strangers:
        shown = ", ".join(strangers[:5]) + (" ..." if len(strangers) > 5 else "")
        raise OutputFolderError(str(target), f"holds files that are not changfang outputs ({shown}); "
                                             "choose an empty or new folder",
                                f"含有不是 changfang 输出的文件（{shown}），请换一个空的或新的文件夹")


def outputs_only(expected: Collection[str], folders: Collection[str] = (),
                 suffixes: Collection[str] = ()) -> Callable[[Path], bool]:
    """What an earlier run may have left: the ``expected`` files, files ending in one of
    ``suffixes``, leftovers of an interrupted write (``.*.part``), and ``folders`` of
    workbooks."""
    def allowed(p: Path) -> bool:
        if p.is_dir():
            return p.name in folders and all(q.is_file() and q.suffix == ".xlsx" for q in p.iterdir())
        return (p.name in expected or p.suffix in suffixes
                or (p.name.startswith(".") and p.name.endswith(".part")))
    return allowed


def _host() -> str:
    """This host's name as a staged folder's name carries it (without dashes)."""
    return socket.gethostname().replace("-", "_").replace("/", "_") or "host"


def _tag() -> str:
    """``HOST-PID``: who made a staged folder."""
    return f"{_host()}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (PermissionError: it exists, as another user's)
        return True
    return True


_HELD: set[int] = set()  # descriptors holding the locks of this process's runs
_FORK_HOOK: list[bool] = []


def _close_in_forks() -> None:
    """Have every forked child (the workbook's process) close the lock descriptors it
    inherits: an ``flock`` lives as long as any copy of its descriptor, and a child that
    outlives a killed run would keep its folders locked."""
    if not _FORK_HOOK:
        _FORK_HOOK.append(True)
        os.register_at_fork(after_in_child=_drop_locks)


def _drop_locks() -> None:
    for fd in list(_HELD):
        with suppress(OSError):
            os.close(fd)
    _HELD.clear()


def _try_lock(path: Path) -> int | None:
    """An open descriptor of folder ``path`` holding an exclusive ``flock`` on it, or None
    when another process holds one (a live run), the folder is a symbolic link or gone,
    or the platform or file system has no such locks (then nothing can be proven)."""
    try:
        import fcntl
    except ImportError:  # (not POSIX)
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # (BlockingIOError: held; ENOLCK and the like: cannot tell)
        os.close(fd)
        return None
    _HELD.add(fd)
    return fd


def _unlock(fd: int) -> None:
    _HELD.discard(fd)
    os.close(fd)


def _sweep(target: Path) -> list[Path]:
    """Clear what a run on this host left beside ``target`` when it was killed: a staged
    folder (``.NAME.new-HOST-PID-X``) is removed; the earlier outputs set aside during a
    two-rename swap (``.NAME.old-HOST-PID-X``) are put back when the target is missing
    (the kill came between the renames; the newest such folder), else removed.

    A folder counts as left only when both say so: its process (by the id in its name,
    on this host) is gone, and nobody holds the lock a run keeps on its folders for as
    long as it runs (:func:`_try_lock`: released by the kernel whatever ended the run, so
    a live run in another container with the same host name and pid numbers is safe).
    Symbolic links and folders of other hosts or of an older naming are left alone.
    Returns the folders removed or put back."""
    host = _host()
    done = []
    for kind in ("new", "old"):
        prefix = f".{target.name}.{kind}-"
        found = []
        for p in target.parent.glob(glob.escape(prefix) + "*"):
            parts = p.name[len(prefix):].split("-")
            if (len(parts) != 3 or parts[0] != host or not (parts[1].isascii() and parts[1].isdecimal())
                    or p.is_symlink() or not p.is_dir()):
                continue
            if int(parts[1]) == os.getpid() or _alive(int(parts[1])):
                continue
            try:
                found.append((p.stat().st_mtime, p))
            except OSError:
                continue
        for _, p in sorted(found, reverse=True):  # (newest first: the one put back)
            fd = _try_lock(p)
            if fd is None:
                continue
            try:
                if kind == "old" and not target.exists():
                    os.rename(p, target)
                else:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:  # (another run put it back first, or not ours to move)
                continue
            finally:
                _unlock(fd)
            done.append(p)
    return done


@contextmanager
def staged_folder(target: str | os.PathLike[str], allowed: Callable[[Path], bool],
                  before_swap: Callable[[], None] | None = None) -> Iterator[Path]:
    """A new empty folder beside ``target`` to write into; swapped in on success.

    Parameters
    ----------
    target : path-like
        The output folder (created with its parents if missing).
    allowed : callable
        Tells whether an entry of an existing target is an earlier output
        (:func:`outputs_only`); anything else makes the call refuse.
    before_swap : callable, optional
        Called once the folder is complete, just before it is swapped in (a command
        stops taking Ctrl-C here: from now on the outputs will be published); an
        exception from it leaves the target as it was.

    Raises
    ------
    OutputFolderError
        The target holds files that are not earlier outputs.
    OSError
        The folder cannot be created or swapped (the caller reports it).
    """
    target = Path(target)
    _sweep(target)  # (first: earlier outputs a killed run set aside are checked as outputs)
    check_target(target, allowed)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = f"{_tag()}-{uuid.uuid4().hex[:8]}"
    stage = target.parent / f".{target.name}.new-{suffix}"
    stage.mkdir(mode=0o777 & ~umask())
    # locked at once (a sweep that also took this live process for a dead one, in another
    # container with this host name, would have to come in these microseconds)
    held = [fd for fd in [_try_lock(stage)] if fd is not None]  # (and the target's while set aside)
    _close_in_forks()
    try:
        try:
            yield stage
            check_target(stage, allowed)  # nothing but outputs is published (a file slipped in is refused)
            if before_swap is not None:
                before_swap()
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        try:
            if not target.exists():
                os.rename(stage, target)
                return
            if _exchange(stage, target):  # stage now holds the old outputs
                shutil.rmtree(stage, ignore_errors=True)
                return
            old = target.parent / f".{target.name}.old-{suffix}"
            held += [fd for fd in [_try_lock(target)] if fd is not None]  # (set aside, it stays locked)
            os.rename(target, old)
            try:
                os.rename(stage, target)
            except BaseException:
                os.rename(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
    finally:
        for fd in held:
            _unlock(fd)
