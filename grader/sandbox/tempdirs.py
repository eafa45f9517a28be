"""The grader's temporary folders, each tied to the process that made it by a lock, so that the
folders of a grader killed mid-run (SIGKILL, the OOM killer, a test timing out) are removed by
the next grader that starts, instead of piling up in /tmp.

A folder's owner holds an exclusive `flock` on the folder itself for as long as it uses it; the
kernel lets go of it when the owner exits, however it exits. Only folders whose name says they
were made locked (`LOCKED`, at the end of the name) are ever swept, so folders of graders from
before this scheme, or made where locking failed, are never taken for abandoned ones. The sweep
removes such a folder once it can take its lock itself and the folder has not changed for
`STALE_AFTER` seconds (a process id alone is not enough where containers share /tmp).

Removal never follows a symbolic link and never changes a mode by path: what a child left in a
folder (links to elsewhere, read-only folders, a folder swapped for a link while the sweep runs)
cannot make the grader, perhaps root, touch anything outside it.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locks, so nothing is swept (folders work as before)
    fcntl = None

#: the folders a grader makes and may find left behind (work folders, the fork server's home, the service's uploads)
PREFIXES = ("grader-sub-", "grader-template-", "grader-service-")
#: the end of the name of a folder made locked: only these are swept
LOCKED = ".locked"
#: seconds without a change before an unlocked folder counts as left behind
STALE_AFTER = 3600.0
#: descriptors relative to a folder and no path-based mode changes: Linux and macOS
_BY_DESCRIPTOR = (fcntl is not None and os.open in os.supports_dir_fd and os.rmdir in os.supports_dir_fd
                  and os.scandir in os.supports_fd and hasattr(os, "O_DIRECTORY") and hasattr(os, "O_NOFOLLOW"))

_held: dict[str, int] = {}  # folder -> the descriptor that holds its lock
_held_lock = threading.Lock()
_swept = False


def make(prefix: str, parent: str | None = None) -> str:
    """A fresh private folder (tempfile.mkdtemp), locked by this process until `remove`. The
    first call in a process starts the sweep of left-behind folders in the background. Where the
    lock cannot be taken the folder is made without it, under a name the sweep never touches."""
    if _BY_DESCRIPTOR:
        sweep_in_background()
        path = tempfile.mkdtemp(prefix=prefix, suffix=LOCKED, dir=parent)
        fd = _lock(path)
        if fd is not None:
            with _held_lock:
                _held[path] = fd
            return path
        os.rmdir(path)
    return tempfile.mkdtemp(prefix=prefix, dir=parent)


def _lock(path: str) -> int | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def remove(path: str) -> None:
    """Delete a folder whatever a child left in it (read-only folders, odd modes, links), then let
    go of its lock. Never raises: what cannot be removed stays."""
    try:
        if _BY_DESCRIPTOR:
            _remove_safely(path)
        else:  # pragma: no cover - Windows
            shutil.rmtree(path, onerror=_make_writable_and_retry)
    except OSError:
        pass
    finally:
        with _held_lock:
            fd = _held.pop(path, None)
        if fd is not None:
            os.close(fd)


def _remove_safely(path: str) -> None:
    parent, name = os.path.split(os.path.abspath(path))
    parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _remove_at(parent_fd, name)
    finally:
        os.close(parent_fd)


def _remove_at(parent_fd: int, name: str, depth: int = 0) -> None:
    """Remove the folder `name` in the folder open as `parent_fd`, never following a link."""
    fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    try:
        _empty(fd, depth)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)


def _empty(fd: int, depth: int = 0) -> None:
    """Remove what the folder open as `fd` holds, by descriptor; each folder is made writable
    through its own descriptor first (a child may leave read-only folders, which a normal user
    cannot empty otherwise)."""
    if depth > 200:  # deeper than any submission: left as it is rather than risk the stack
        raise OSError("too deep to remove")
    if stat.S_IMODE(os.fstat(fd).st_mode) & stat.S_IRWXU != stat.S_IRWXU:
        with contextlib.suppress(OSError):
            os.fchmod(fd, stat.S_IRWXU)
    with os.scandir(fd) as entries:
        names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for entry, is_dir in names:
        with contextlib.suppress(OSError):
            if is_dir:
                _remove_at(fd, entry, depth + 1)
            else:
                os.unlink(entry, dir_fd=fd)


def _make_writable_and_retry(func, failed, _exc):  # pragma: no cover - Windows only
    with contextlib.suppress(OSError):
        os.chmod(failed, stat.S_IWRITE)
        func(failed)


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
    """Remove the locked-made grader folders in `parent` (the temporary folder) whose owner is
    gone: no one holds their lock and they have not changed for STALE_AFTER seconds. Returns what
    it removed. Never raises: a folder it cannot open, lock or remove is left as it is."""
    if not _BY_DESCRIPTOR:
        return []
    parent = parent or tempfile.gettempdir()
    now = time.time() if now is None else now
    removed = []
    try:
        parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return removed
    try:
        names = [name for name in os.listdir(parent_fd) if name.startswith(PREFIXES) and name.endswith(LOCKED)]
        for name in names:
            if _sweep_one(parent_fd, name, now):
                removed.append(os.path.join(parent, name))
    except OSError:
        pass
    finally:
        os.close(parent_fd)
    return removed


def _sweep_one(parent_fd: int, name: str, now: float) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except OSError:
        return False  # gone, or not a folder (a link is not followed)
    try:
        if now - os.fstat(fd).st_mtime < STALE_AFTER:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by its owner while in use
        except OSError:
            return False
        try:  # the name still names the folder we locked (not removed and made again, not swapped for a link)
            if not os.path.samestat(os.fstat(fd), os.stat(name, dir_fd=parent_fd, follow_symlinks=False)):
                return False
        except OSError:
            return False
        _empty(fd)  # through the descriptor we locked, then the name, which rmdir removes only if empty
        os.rmdir(name, dir_fd=parent_fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
