"""The grader's temporary folders, each tied to the process that made it by a lock, so that the
folders of a grader killed mid-run (SIGKILL, the OOM killer, a test timing out) are removed by
the next grader that starts, instead of piling up in /tmp.

A folder's owner holds an exclusive `flock` on the folder itself for as long as it uses it; the
kernel lets go of it when the owner exits, however it exits. The sweep removes a folder only if
it can take that lock itself and the folder has not changed for `STALE_AFTER` seconds: a
process id alone is not enough where containers share /tmp, and the age keeps the folders of a
grader too old to take locks (one still running beside a newer one) out of reach while they are
in use.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
import threading
import time

#: the folders a grader makes and may find left behind (work folders, the fork server's home)
PREFIXES = ("grader-sub-", "grader-template-", "grader-service-")
#: seconds without a change before an unlocked folder counts as left behind
STALE_AFTER = 3600.0

_held: dict[str, int] = {}  # folder -> the descriptor that holds its lock
_held_lock = threading.Lock()
_swept = False


def make(prefix: str, parent: str | None = None) -> str:
    """A fresh private folder (tempfile.mkdtemp), locked by this process until `release`.
    The first call in a process starts the sweep of left-behind folders in the background."""
    sweep_in_background()
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return path  # not lockable here: the folder works, only the sweep cannot vouch for it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return path
    with _held_lock:
        _held[path] = fd
    return path


def remove(path: str) -> None:
    """Delete a folder whatever a child left in it (read-only files, odd modes), then let go of
    its lock."""
    def on_error(func, failed, _exc):
        try:
            os.chmod(os.path.dirname(failed), stat.S_IRWXU)
            if not os.path.islink(failed):
                os.chmod(failed, stat.S_IRWXU)
            func(failed)
        except OSError:
            pass

    try:
        shutil.rmtree(path, onerror=on_error)
    finally:
        with _held_lock:
            fd = _held.pop(path, None)
        if fd is not None:
            os.close(fd)


@contextlib.contextmanager
def folder(prefix: str):
    """`make` as a context manager: the folder is removed at the end (tempfile.TemporaryDirectory
    with a lock)."""
    path = make(prefix)
    try:
        yield path
    finally:
        remove(path)


def sweep_in_background() -> None:
    """Sweep once per process, in a daemon thread: a start-up never waits for it."""
    global _swept
    with _held_lock:
        if _swept:
            return
        _swept = True
    threading.Thread(target=sweep, name="grader-sweep", daemon=True).start()


def sweep(parent: str | None = None, now: float | None = None) -> list[str]:
    """Remove the grader folders in `parent` (the temporary folder) whose owner is gone: no one
    holds their lock and they have not changed for STALE_AFTER seconds. Returns what it removed.
    Never raises: a folder it cannot open, lock or remove is left as it is."""
    parent = parent or tempfile.gettempdir()
    now = time.time() if now is None else now
    removed = []
    try:
        names = [name for name in os.listdir(parent) if name.startswith(PREFIXES)]
    except OSError:
        return removed
    for name in names:
        path = os.path.join(parent, name)
        try:
            info = os.lstat(path)
            if not os.path.isdir(path) or os.path.islink(path) or now - info.st_mtime < STALE_AFTER:
                continue
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by its owner while in use
        except OSError:
            os.close(fd)
            continue
        try:
            remove(path)
            removed.append(path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed
