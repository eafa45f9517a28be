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
import itertools
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
_BY_DESCRIPTOR = (fcntl is not None and hasattr(os, "O_DIRECTORY") and hasattr(os, "O_NOFOLLOW")
                  and {os.open, os.rmdir, os.unlink, os.stat, os.rename} <= os.supports_dir_fd
                  and os.scandir in os.supports_fd)
#: how a folder is opened to lock, list or empty it: only a real folder, never through a link
_FOLDER = (os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC) if _BY_DESCRIPTOR else 0

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
        fd = os.open(path, _FOLDER)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def remove(path: str) -> None:
    """Delete a folder whatever a child left in it (folders without read or write permission,
    deep nesting, links), then let go of its lock. Never raises: what cannot be removed stays."""
    with _held_lock:
        held = _held.pop(path, None)
    try:
        if _BY_DESCRIPTOR:
            _remove_safely(path, held)
        elif os.name == "nt":  # pragma: no cover - Windows: read-only files need their flag cleared
            shutil.rmtree(path, onerror=_make_writable_and_retry)
        else:  # pragma: no cover - a POSIX system without *at() calls: nothing is changed by path
            shutil.rmtree(path, ignore_errors=True)
    except (OSError, NotImplementedError):
        pass
    finally:
        if held is not None:
            os.close(held)


def _remove_safely(path: str, held: int | None) -> None:
    """Remove `path`: emptied through the descriptor its lock is held on where there is one, and
    the name removed only while it still names that folder (a child that owns the folder may
    have renamed it away, and put something else there)."""
    parent, name = os.path.split(os.path.abspath(path))
    parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if held is None:
            _remove_at(parent_fd, name)
            return
        _empty(held)
        if os.path.samestat(os.fstat(held), os.stat(name, dir_fd=parent_fd, follow_symlinks=False)):
            os.rmdir(name, dir_fd=parent_fd)
    finally:
        os.close(parent_fd)


#: folders deeper than this below the one being emptied are moved up into it first, and removed
#: on a later pass: any depth is removed without deep recursion or a descriptor per level
MOVE_UP_AT = 64


def _remove_at(parent_fd: int, name: str) -> None:
    """Remove the folder `name` in the folder open as `parent_fd`, never following a link."""
    fd = _open_folder(parent_fd, name)
    try:
        _empty(fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)


def _empty(top: int) -> None:
    """Remove what the folder open as `top` holds, by descriptor, never following a link: a pass
    removes everything down to MOVE_UP_AT levels and moves what is deeper up into `top`; passes
    follow while one still changes something."""
    moved = itertools.count()
    for _ in range(100_000):  # a bound, far above any tree a disk limit lets a child make
        if not _empty_level(top, top, 0, moved):
            return


def _empty_level(top: int, fd: int, depth: int, moved) -> int:
    """One pass over the folder open as `fd`; returns how many entries it removed or moved."""
    _make_accessible(fd)
    os.lseek(fd, 0, os.SEEK_SET)  # a descriptor listed before lists again from the start
    with os.scandir(fd) as entries:
        names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    done = 0
    for entry, is_dir in names:
        with contextlib.suppress(OSError):
            if not is_dir:
                os.unlink(entry, dir_fd=fd)
            elif depth >= MOVE_UP_AT:  # into the top folder under a new name, for the next pass
                os.rename(entry, f".grader-deep-{os.getpid()}-{next(moved)}", src_dir_fd=fd, dst_dir_fd=top)
            else:
                child = _open_folder(fd, entry)
                try:
                    done += _empty_level(top, child, depth + 1, moved)
                finally:
                    os.close(child)
                os.rmdir(entry, dir_fd=fd)
            done += 1
    return done


def _open_folder(parent_fd: int, name: str) -> int:
    """`name` in `parent_fd` opened for reading, never through a link. A folder a child left
    without read or search permission is first given them, through a descriptor that names it and
    nothing else (O_PATH, /proc/self/fd), never by path."""
    try:
        return os.open(name, _FOLDER, dir_fd=parent_fd)
    except PermissionError:
        if not hasattr(os, "O_PATH") or not os.path.isdir("/proc/self/fd"):
            raise
    handle = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    try:
        os.chmod(f"/proc/self/fd/{handle}", stat.S_IRWXU)
        fd = os.open(name, _FOLDER, dir_fd=parent_fd)
        if not os.path.samestat(os.fstat(fd), os.fstat(handle)):  # swapped in between: leave it
            os.close(fd)
            raise OSError("the folder changed while it was being removed")
        return fd
    finally:
        os.close(handle)


def _make_accessible(fd: int) -> None:
    """A folder the remover can list and empty: rwx for its owner, set through its descriptor."""
    if stat.S_IMODE(os.fstat(fd).st_mode) & stat.S_IRWXU != stat.S_IRWXU:
        with contextlib.suppress(OSError):
            os.fchmod(fd, stat.S_IRWXU)


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
        fd = os.open(name, _FOLDER, dir_fd=parent_fd)
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
