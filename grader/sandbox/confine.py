"""Confining a student's child process: namespaces, a minimal filesystem view, limits, cleanup.

Two halves, see docs/threat-model.md for what each protection covers:

* the parent side (trusted): `child_env`, `make_workdir`, `prepare(limits, workdir) -> Box`
  (cgroups when root can make them), `child_config` (what the request header tells the child),
  `kill_tree`, `remove_workdir`, `protections()` (what works on this machine);
* the child side: `confine(limits, workdir, config)`, called once in a single-threaded process
  before any student code, by the fresh launcher and by the fork server's forked child alike.

On Linux, `confine` unshares mount, PID, network, IPC and UTS namespaces (plus a user namespace
when not root), then forks twice::

    outer   (the launcher's pid; waits, then exits with the worker's exact status)
      init  (PID 1 of the new PID namespace; builds the filesystem view, reaps, never runs student code)
        worker (PID 2: drops to an unprivileged uid or all capabilities, sets rlimits, runs the student)

When init dies (because the worker ended, or the outer was killed: init has PDEATHSIG=SIGKILL)
the kernel kills every process left in the namespace, including ones that called setsid. Only the
worker keeps the result pipe, so the parent sees EOF as soon as the namespace is gone.
"""
from __future__ import annotations

import ctypes
import errno
import functools
import glob
import itertools
import json
import os
import platform
import shutil
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from grader.sandbox import tempdirs

try:
    import resource
except ImportError:  # pragma: no cover - Windows: no rlimits (see docs/threat-model.md)
    resource = None

MB = 1 << 20

#: GRADER_SANDBOX: unset or "on" (the full sandbox; on Linux the grader refuses to grade where it
#: cannot be had), "weak" (grade anyway with what this machine allows, and say so in every result;
#: `--allow-weak-sandbox` sets it), "off" (only the rlimits: for measuring the sandbox's cost, or
#: for debugging). "strict" is an old name of "on".
MODE_ENV = "GRADER_SANDBOX"
WEAK_FLAG = "--allow-weak-sandbox"
#: Root drops the student's worker to uid SANDBOX_UID_BASE + (pid of the outer child).
SANDBOX_UID_BASE = 1_000_000
DEFAULT_DISK_MB = 256
CPU_SHARES = 1024  #: every child's cpu cgroup gets the same weight (1024 is also a lone process's)
CGROUP_CONTROLLERS = ("memory", "pids", "cpu")

# clone / mount / prctl constants (linux/sched.h, linux/mount.h, linux/prctl.h)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP = 1, 38, 22
_SYSCALLS = {"x86_64": {"pivot_root": 155, "capset": 126, "keyctl": 250},
             "aarch64": {"pivot_root": 41, "capset": 91, "keyctl": 219}}

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
             "nsswitch.conf", "hosts", "host.conf")
DEVICES = ("null", "zero", "full", "random", "urandom")


class SandboxError(RuntimeError):
    """The sandbox could not be set up (the child fails closed: it runs no student code)."""


# ---------------------------------------------------------------- parent side

def library_path() -> list[str]:
    """The grader's LD_LIBRARY_PATH folders that exist: where a GPU machine often keeps the CUDA
    driver's libraries (libcuda.so), which a CUDA child loads when it starts CUDA."""
    return [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d and os.path.isdir(d)]


def child_env(workdir: str) -> dict[str, str]:
    """Only what Python and torch need: no secrets, tokens or paths of the grader's (beyond the
    library folders of `library_path`, which the sandbox also makes readable)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
    }
    folders = library_path()
    if folders:
        env["LD_LIBRARY_PATH"] = ":".join(folders)
    return env


def make_workdir(files: dict[str, bytes], readonly=()) -> str:
    """A fresh private folder holding only copies of the submission's files.

    `readonly`: folders in it the child may read and not write (a problem's fixtures). Their
    permission bits say so here; inside the filesystem view `_build_root` also binds them
    read-only, which is what holds where the student owns the copies."""
    workdir = tempdirs.make("grader-sub-")
    try:
        for name, data in files.items():
            target = Path(workdir, name)
            if not str(target.resolve()).startswith(str(Path(workdir).resolve()) + os.sep):
                continue  # a name like ../x never leaves the folder
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for folder in _readonly_folders(workdir, readonly):
            for dirpath, _, filenames in os.walk(folder, topdown=False):
                for name in filenames:
                    os.chmod(os.path.join(dirpath, name), 0o444)
                os.chmod(dirpath, 0o555)
    except BaseException:
        tempdirs.remove(workdir)  # nothing half made is left, and its lock is let go
        raise
    return workdir


def _readonly_folders(workdir: str, readonly) -> list[str]:
    """The existing real folders inside `workdir` named by `readonly` (relative paths)."""
    root = os.path.realpath(workdir)
    found = []
    for rel in readonly or ():
        path = os.path.realpath(os.path.join(root, rel))
        if path != root and _inside(path, root) and os.path.isdir(path) and not os.path.islink(os.path.join(root, rel)):
            found.append(path)
    return found


def remove_workdir(workdir: str) -> None:
    """Delete the work folder whatever the child left in it (read-only files, odd modes)."""
    tempdirs.remove(workdir)


def kill_tree(pid: int) -> None:
    """Kill the child's process group (its session). With namespaces on, killing the outer child
    also kills the PID namespace's init (PDEATHSIG), and with it every process the student made."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def sandbox_mode() -> str:
    """'on' (default: the full sandbox or no grading on Linux), 'weak' (what this machine allows) or 'off'."""
    mode = os.environ.get(MODE_ENV, "on").strip().lower()
    return {"0": "off", "no": "off", "false": "off", "off": "off", "weak": "weak"}.get(mode, "on")


def allow_weak() -> None:
    """What `--allow-weak-sandbox` does: grade with weaker confinement where the full one is missing."""
    if sandbox_mode() == "on":
        os.environ[MODE_ENV] = "weak"


def level() -> str:
    """The protections results are graded under: 'full' (namespaces, filesystem view, ...), 'weak'
    (rlimits, uid drop, seccomp: see docs/threat-model.md) or 'off' (rlimits only). Part of every
    result (`sandbox` in its JSON) and of every cache key."""
    mode = sandbox_mode()
    if mode == "off":
        return "off"
    return "full" if dict((n, on) for n, on, _ in protections())["filesystem-view"] else "weak"


def fingerprint() -> str:
    """The protections in force, for cache keys: a result graded under weaker ones is never reused
    under stronger ones (or the other way round)."""
    return level() + ":" + ",".join(sorted(name for name, on, _ in protections() if on))


def require_trusted(private=()) -> None:
    """Refuse to grade where the full sandbox is missing, unless weak confinement was allowed.

    Linux only: on macOS and Windows (students' laptops) the sandbox is always weak, results say
    so, and grading goes on. Under weak confinement as root, the `private` folders (the bank) must be
    unreadable by the child's uid (it runs as an unprivileged uid of its own, with no groups)."""
    from grader.errors import SandboxUnavailable

    current = level()
    if current == "full" or current == "off" or not sys.platform.startswith("linux"):
        return
    if sandbox_mode() != "weak":
        missing = [(name, how) for name, on, how in protections() if not on]
        reasons = sorted(set(how for _, how in missing))
        raise SandboxUnavailable(
            "the sandbox cannot confine student code on this machine, so results could not be trusted: "
            f"no {', '.join(name for name, _ in missing)} ({'; '.join(reasons[:2])})",
            f"Run where Linux namespaces are allowed (Docker: --cap-add SYS_ADMIN, or a VM), or pass "
            f"{WEAK_FLAG} (GRADER_SANDBOX=weak) to grade with weaker protections, marked in every result. "
            "See 'python -m grader.sandbox' and docs/threat-model.md.")
    if os.geteuid() == 0:
        exposed = readable_by_others(hidden_paths(private))
        if exposed:
            raise SandboxUnavailable(
                f"weak sandbox: student code could read {exposed[0]} (readable by other users)",
                "Make the bank's reference/ and problems/ unreadable to other users before grading, e.g. "
                f"chmod -R go-rwx {' '.join(sorted(set(os.path.dirname(p) for p in hidden_paths(private))))}/"
                "{reference,problems} (the Gradescope setup.sh does this); see docs/threat-model.md.")


def readable_by_others(folders) -> list[str]:
    """Files or folders under `folders` that a uid with no groups could read (others' permission
    bits, with every folder on the way searchable)."""
    found = []
    for folder in folders:
        path = Path(folder)
        if not path.exists():
            continue
        searchable = all(os.stat(p).st_mode & stat.S_IXOTH for p in [path, *path.parents])
        if not searchable:
            continue
        for dirpath, dirnames, filenames in os.walk(path):
            mode = os.stat(dirpath).st_mode
            if mode & stat.S_IROTH:
                found.append(dirpath)
            if not mode & stat.S_IXOTH:
                dirnames[:] = []
                continue
            found += [os.path.join(dirpath, n) for n in filenames
                      if os.lstat(os.path.join(dirpath, n)).st_mode & stat.S_IROTH]
            if found:
                return found
    return found


def hidden_paths(private=()) -> list[str]:
    """Folders the child must never see even if they sit inside something it may read: the
    trusted side names them in the job (`Job.hide`: the bank's reference/ and problems/)."""
    return sorted({str(Path(p).resolve()) for p in private})


class Box:
    """Parent-side resources of one submission's children (cgroups); `cleanup()` when done."""

    _counter = itertools.count()

    _swept = False

    def __init__(self, limits, workdir: str):
        self.workdir = workdir
        self.cgroups: list[str] = []
        if sandbox_mode() != "off" and os.geteuid() == 0 and sys.platform.startswith("linux"):
            if not Box._swept:
                Box._swept = True
                _sweep_stale_cgroups()
            self.cgroups = (CGROUPS.take(limits)
                            or _make_cgroups(f"grader-{os.getpid()}-{next(self._counter)}", limits))

    def cleanup(self) -> None:
        """Kill whatever is left in the cgroups and remove them (or hand them back to the pool,
        which kills what is left in them before any other job gets them)."""
        if self.cgroups and not CGROUPS.give_back(self.cgroups):
            for path in self.cgroups:
                _remove_cgroup(path)
        self.cgroups = []
        _BOXES.pop(self.workdir, None)


class CgroupPool:
    """Cgroup sets reused from job to job while someone holds the pool (a running fork server).

    Measured per job (docs/benchmarks.md): removing a job's cgroups took about 30 ms (killing
    what is left, waiting for it, rmdir) and joining them about 15 ms. A set handed back is
    emptied in a background thread: every process in it is killed, apart from its resident (the
    fork server's template for that set, whose children are born inside it and need not join),
    and only once nothing else is left may another job take it. When the last holder lets go,
    every set is removed, residents and all."""

    def __init__(self):
        #: sets kept at most before a job waits for one being emptied: emptying takes a while (the
        #: killed processes' exits) and overlaps other jobs, so the pool grows past the slots in use
        self.most = 4 * (os.cpu_count() or 1) + 4
        self._lock = threading.Condition()
        self._holders = 0
        self._free: list[tuple[str, ...]] = []
        self._known: set[tuple[str, ...]] = set()
        self._dirty: list[tuple[str, ...]] = []
        self._residents: dict[tuple[str, ...], int] = {}
        self._cleaner: threading.Thread | None = None

    def hold(self) -> None:
        with self._lock:
            self._holders += 1

    def release(self) -> None:
        """The holder is done: once nobody holds the pool, remove every set."""
        with self._lock:
            self._holders -= 1
            if self._holders > 0:
                return
            while self._dirty:  # the cleaner is busy with sets: let it finish
                self._lock.wait(0.05)
            sets, self._free, self._known = list(self._known), [], set()
            self._residents.clear()
        for paths in sets:
            for path in paths:
                _remove_cgroup(path)

    def set_resident(self, paths, pid: int | None, replaces: int | None = None) -> None:
        """`pid` lives in the set `paths` for good (None: no longer): cleaning spares it. One that
        `replaces` the set's resident (a template replaced, told to exit) counts as the same one
        process, once that one has left the set (waited for here, briefly)."""
        key = tuple(paths)
        with self._lock:
            if pid is None:
                self._residents.pop(key, None)
                return
            replaced = replaces is not None and self._residents.get(key) == replaces
            self._residents[key] = pid
        if replaced:
            _wait_until_gone(paths, replaces)
            return
        for path in paths:  # its job's processes limit stays what it was: one more for the resident
            if _controller(path) == "pids":
                try:
                    current = Path(path, "pids.max").read_text().strip()
                    if current.isdigit():
                        _write(os.path.join(path, "pids.max"), str(int(current) + 1))
                except OSError:
                    pass

    def take(self, limits) -> list[str] | None:
        """A clean set with `limits` written, or None (then the caller makes one)."""
        with self._lock:
            if self._holders and not self._free and self._dirty and len(self._known) >= self.most:
                self._lock.wait_for(lambda: self._free or not self._dirty, 0.2)  # one is being emptied
            if not self._holders or not self._free:
                return None
            paths = self._free.pop()
            resident = self._residents.get(paths)
        settings = _cgroup_settings(limits, extra_processes=1 if resident else 0)
        try:
            for path in paths:
                for name, value in settings[_controller(path)].items():
                    _write(os.path.join(path, name), value)
        except (OSError, KeyError, ValueError):
            with self._lock:
                self._known.discard(paths)
                self._residents.pop(paths, None)
            for path in paths:
                _remove_cgroup(path)
            return None
        return list(paths)

    def give_back(self, paths) -> bool:
        """Take back a set after its job (False: nobody holds the pool, remove it yourself)."""
        key = tuple(paths)
        with self._lock:
            if not self._holders:
                return False
            self._known.add(key)
            self._dirty.append(key)
            if self._cleaner is None or not self._cleaner.is_alive():
                self._cleaner = threading.Thread(target=self._clean, name="grader-cgroup-cleaner", daemon=True)
                self._cleaner.start()
            self._lock.notify_all()
        return True

    def _clean(self) -> None:
        while True:
            with self._lock:
                if not self._dirty:
                    self._lock.wait(1.0)
                    if not self._dirty:
                        self._cleaner = None
                        return
                key = self._dirty[0]
                spare = self._residents.get(key)
            empty = all(_empty_cgroup(path, spare) for path in key)
            with self._lock:
                self._dirty.remove(key)
                if empty and key in self._known:
                    self._free.append(key)
                else:
                    self._known.discard(key)
                    self._residents.pop(key, None)
                self._lock.notify_all()
            if not empty:
                for path in key:
                    _remove_cgroup(path)


CGROUPS = CgroupPool()


_BOXES: dict[str, Box] = {}
_WARNED = threading.Event()
_TRUSTED = threading.Event()  # require_trusted passed once in this process


def prepare(limits, workdir: str, private=()) -> Box:
    """Parent-side set-up for a submission's work folder; `runner.run_with` calls it once.
    Raises SandboxUnavailable where results could not be trusted (see `require_trusted`)."""
    if not _TRUSTED.is_set():
        require_trusted(private)
        _TRUSTED.set()
    box = Box(limits, workdir)
    _BOXES[workdir] = box
    if not _WARNED.is_set():
        _WARNED.set()
        off = [name for name, on, _ in protections() if not on]
        if off:
            print(f"grader: sandbox protections off on this machine: {', '.join(off)} "
                  "(run 'python -m grader.sandbox' for details)", file=sys.stderr)
    return box


def box_cgroups(workdir: str) -> list[str]:
    """The cgroups `prepare` gave the work folder's job (none where cgroups are not used)."""
    box = _BOXES.get(workdir)
    return list(box.cgroups) if box else []


def child_config(workdir: str, job=None) -> dict:
    """The `sandbox` field of a request header: what `confine` should set up."""
    box = _BOXES.get(workdir)
    found = {name: on for name, on, _ in protections()}
    return {"mode": sandbox_mode(), "hide": hidden_paths(getattr(job, "hide", ()) or ()),
            "cgroups": list(box.cgroups) if box else [], "cuda": bool(getattr(job, "cuda", False)),
            "readonly": list(getattr(job, "readonly", ()) or ()),
            "seccomp": found.get("seccomp", False), "keyring": found.get("session-keyring", False)}


def _own_cgroup(controller: str) -> str | None:
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                _, names, path = line.rstrip("\n").split(":", 2)
                if controller in names.split(","):
                    return path
    except OSError:
        pass
    return None


def _wait_until_gone(paths, pid: int, seconds: float = 1.0) -> None:
    """Wait until `pid` is no longer in the set `paths` (a replaced template exiting on EOF: a
    millisecond or two), so the job's processes limit is its own when its child starts."""
    procs = [os.path.join(path, "cgroup.procs") for path in paths if _controller(path) == "pids"]
    deadline = time.monotonic() + seconds
    while procs and time.monotonic() < deadline:
        try:
            if str(pid) not in Path(procs[0]).read_text().split():
                return
        except OSError:
            return
        time.sleep(0.001)


def _cgroup_settings(limits, extra_processes: int = 0) -> dict[str, dict[str, str]]:
    """What to write in each of CGROUP_CONTROLLERS' groups for a job with `limits`.
    `extra_processes`: residents of the set (a fork server's template living in it)."""
    memory_mb = int(getattr(limits, "memory_mb", 4096))
    processes = int(getattr(limits, "processes", 64))
    # The tree may use a little more than one process's address space: a single process meets
    # RLIMIT_AS first (a quick MemoryError); the cgroup stops many processes adding up (and the
    # headroom keeps it from squeezing torch's code out of the page cache, which would only be slow).
    # cpu: every child's whole tree weighs the same as one process, however many it forks (the
    # scheduler shares CPU between groups first), so dozens of spinners get one child's share.
    return {"memory": {"memory.limit_in_bytes": str((memory_mb + 1024) * MB)},
            # + the outer child and the namespace's init (and a resident)
            "pids": {"pids.max": str(processes + 2 + extra_processes)},
            "cpu": {"cpu.shares": str(CPU_SHARES)}}


def _controller(path: str) -> str:
    """The controller of a cgroup made by `_make_cgroups` (/sys/fs/cgroup/CONTROLLER/...)."""
    return Path(path).relative_to("/sys/fs/cgroup").parts[0]


def _make_cgroups(name: str, limits) -> list[str]:
    """cgroup v1 memory, pids and cpu groups below our own (limits on the whole process tree)."""
    made = []
    for controller, values in _cgroup_settings(limits).items():
        own = _own_cgroup(controller)
        base = Path("/sys/fs/cgroup", controller)
        if own is None or not base.is_dir():
            continue
        path = base / own.lstrip("/") / name
        try:
            path.mkdir()
            for key, value in values.items():
                (path / key).write_text(value)
        except OSError:
            _remove_cgroup(str(path))
            continue
        made.append(str(path))
    return made


def _empty_cgroup(path: str, spare: int | None = None, seconds: float = 5.0) -> bool:
    """Kill every process in the cgroup but `spare` until none is left (False: some would not go)."""
    procs = Path(path, "cgroup.procs")
    deadline = time.monotonic() + seconds
    pause = 0.001
    while True:
        try:
            pids = [int(p) for p in procs.read_text().split() if int(p) != spare]
        except OSError:
            return False
        if not pids:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in pids:  # only our own child's processes are ever in this group (and `spare`)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def _sweep_stale_cgroups() -> None:
    """Remove the cgroups of graders that died without cleaning up (killed mid-run)."""
    for controller in CGROUP_CONTROLLERS:
        own = _own_cgroup(controller)
        if own is None:
            continue
        try:
            entries = list(Path("/sys/fs/cgroup", controller, own.lstrip("/")).glob("grader-*-*"))
        except OSError:
            continue
        for path in entries:
            try:
                owner = int(path.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if owner != os.getpid() and not os.path.exists(f"/proc/{owner}"):
                _remove_cgroup(str(path))


def _remove_cgroup(path: str) -> None:
    procs = Path(path, "cgroup.procs")
    for _ in range(100):
        try:
            pids = [int(p) for p in procs.read_text().split()]
        except OSError:
            break
        if not pids:
            break
        for pid in pids:  # only our own child's processes are ever in this group
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        threading.Event().wait(0.01)
    try:
        os.rmdir(path)
    except OSError:
        pass


# ---------------------------------------------------------------- what works here

_PROTECTIONS: dict[str, list] = {}  # by mode


def protections() -> list[tuple[str, bool, str]]:
    """(name, on, how) for each protection, as the child would get them on this machine (cached)."""
    mode = sandbox_mode()
    if mode in _PROTECTIONS:
        return _PROTECTIONS[mode]
    linux = sys.platform.startswith("linux")
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    probe = {"namespaces": False, "seccomp": False, "keyring": False}
    detail = "sandbox switched off (GRADER_SANDBOX=off)" if mode == "off" else "not Linux"
    if linux and mode != "off":
        probe, detail = _probe()
    ns, filtered = probe["namespaces"], probe["seccomp"]
    writable = lambda c: _own_cgroup(c) is not None and os.access(f"/sys/fs/cgroup/{c}", os.W_OK)  # noqa: E731
    cg = bool(linux and root and mode != "off" and writable("memory"))
    cpu_cg = bool(linux and root and mode != "off" and writable("cpu"))
    autogroup = _read_int("/proc/sys/kernel/sched_autogroup_enabled") == 1
    who = ("an unprivileged uid per child" if root else "no capabilities (user namespace)") if ns else ""
    rows = [
        ("rlimits", resource is not None, "CPU, address space, file size, open files, core, processes"),
        ("pid-namespace", ns, "all of a submission's processes die with it; /proc shows only them" if ns else detail),
        ("network-namespace", ns, "no network (only a down loopback)" if ns else detail),
        ("filesystem-view", ns, "only the Python install, the grader package and a private tmpfs work folder"
         if ns else detail),
        ("privilege-drop", ns or (linux and root and mode != "off"), who or "setuid to an unprivileged uid"),
        ("cgroups", cg, "memory and pids limits on the whole process tree" if cg else
         "needs root and a writable cgroup v1 hierarchy (RLIMIT_AS per process applies)"),
        ("cpu-fairness", cpu_cg or (filtered and autogroup),
         "a cpu cgroup per child, equal shares" if cpu_cg else
         "setsid refused: a child's processes share one scheduler autogroup" if filtered and autogroup else
         "needs root and a cpu cgroup, or seccomp and sched_autogroup (a timeout in a class run is re-run alone)"),
        ("seccomp", filtered, "namespaces, keyctl, bpf, io_uring, userfaultfd, ptrace, mount, file locks, "
         "inotify, setsid and non-Unix sockets refused (EPERM)" if filtered else (detail if mode == "off"
                                                                                  else "seccomp filters unavailable")),
        ("session-keyring", probe["keyring"], "a fresh, empty session keyring (the grader's keys out of reach)"
         if probe["keyring"] else "keyctl unavailable"),
    ]
    _PROTECTIONS[mode] = rows
    return rows


def _read_int(path: str) -> int | None:
    try:
        with open(path) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _probe() -> tuple[dict, str]:
    """What a child could set up here, tried in a throwaway process: (what worked, why not)."""
    code = ("import sys; sys.path.insert(0, %r); from grader.sandbox.confine import _probe_main; _probe_main()"
            % str(Path(__file__).resolve().parents[2]))
    found = {"namespaces": False, "seccomp": False, "keyring": False}
    try:
        proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return found, f"probe failed: {exc}"
    lines = proc.stdout.strip().splitlines()
    try:
        found.update(json.loads(lines[-1]))
    except (IndexError, ValueError, TypeError):
        return found, (proc.stderr.strip()[-200:] or "probe failed")
    return found, ("" if found["namespaces"] else (" ".join(lines[:-1]) or "namespaces unavailable"))


def _probe_main() -> None:
    """In a throwaway process: can we unshare what `confine` needs, join a fresh keyring and
    install the seccomp filter? Prints why not, then a JSON line of what worked."""
    found = {}
    try:
        _unshare_namespaces()
        found["namespaces"] = True
    except SandboxError as exc:
        print(exc)
        found["namespaces"] = False
    try:
        new_session_keyring()
        found["keyring"] = True
    except SandboxError:
        found["keyring"] = False
    try:
        libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        install_seccomp()
        found["seccomp"] = True
    except SandboxError as exc:
        print(exc)
        found["seccomp"] = False
    print(json.dumps(found), flush=True)
    os._exit(0)


# ---------------------------------------------------------------- child side

_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(err)} (errno {err})")


def _mount(src, dst, fstype, flags, data=None) -> None:
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    _check(libc().mount(enc(src), enc(dst), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {src} on {dst}")


def _syscall(name: str, *args) -> int:
    number = _SYSCALLS.get(platform.machine(), {}).get(name)
    if number is None:
        raise SandboxError(f"{name}: unknown syscall number on {platform.machine()}")
    return libc().syscall(ctypes.c_long(number), *args)


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _unshare_namespaces() -> None:
    """New mount/PID/network/IPC/UTS namespaces; a user namespace too when we are not root (no new
    PID namespace for a child born as init of its own: see BORN_INIT)."""
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | (0 if BORN_INIT else CLONE_NEWPID)
    uid, gid = os.geteuid(), os.getegid()
    if uid != 0:
        flags |= CLONE_NEWUSER
    if not sys.platform.startswith("linux"):
        raise SandboxError("namespaces need Linux")
    try:
        _check(libc().unshare(ctypes.c_int(flags)), "unshare")
    except AttributeError as exc:
        raise SandboxError("unshare: not available") from exc
    if uid != 0:  # map our own ids only: inside, we keep our uid (not 0, so exec never regains caps)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")


def new_session_keyring() -> None:
    """Join a fresh, empty session keyring: the grader's session keys (which a process possesses
    whatever its uid) are out of reach from here on."""
    KEYCTL_JOIN_SESSION_KEYRING = 1
    if not sys.platform.startswith("linux"):
        raise SandboxError("keyrings need Linux")
    if _syscall("keyctl", ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), None) < 0:
        err = ctypes.get_errno()
        raise SandboxError(f"keyctl(JOIN_SESSION_KEYRING): {os.strerror(err)}")


# ---- the seccomp filter: what student code never needs is refused with EPERM (libraries see an
# ordinary "operation not permitted" and degrade), never killed.

#: Syscalls refused outright, by name: namespaces, keys, kernel attack surface (bpf, io_uring,
#: userfaultfd, perf), other processes' memory, mounts and system administration; file locks and
#: inotify, which are shared through the read-only binds every child sees (a covert channel
#: between two students graded at once); setsid (each session would be a scheduler autogroup of
#: its own, a bigger share of the CPU).
DENIED_SYSCALLS = (
    "unshare", "setns", "keyctl", "add_key", "request_key", "bpf", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "userfaultfd", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "pidfd_getfd", "perf_event_open", "kexec_load", "kexec_file_load", "mount", "umount2", "pivot_root",
    "chroot", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "init_module", "finit_module", "delete_module", "swapon", "swapoff", "reboot", "acct", "quotactl",
    "quotactl_fd", "syslog", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "name_to_handle_at", "open_by_handle_at", "lookup_dcookie", "iopl", "ioperm", "vhangup", "uselib",
    "sethostname", "setdomainname", "fanotify_init", "inotify_init", "inotify_init1", "inotify_add_watch",
    "flock", "setsid",
)
_SECCOMP_NUMBERS = {
    "x86_64": dict(
        unshare=272, setns=308, keyctl=250, add_key=248, request_key=249, bpf=321, io_uring_setup=425,
        io_uring_enter=426, io_uring_register=427, userfaultfd=323, ptrace=101, process_vm_readv=310,
        process_vm_writev=311, kcmp=312, pidfd_getfd=438, perf_event_open=298, kexec_load=246,
        kexec_file_load=320, mount=165, umount2=166, pivot_root=155, chroot=161, open_tree=428, move_mount=429,
        fsopen=430, fsconfig=431, fsmount=432, fspick=433, mount_setattr=442, init_module=175, finit_module=313,
        delete_module=176, swapon=167, swapoff=168, reboot=169, acct=163, quotactl=179, quotactl_fd=443,
        syslog=103, settimeofday=164, clock_settime=227, clock_adjtime=305, adjtimex=159, name_to_handle_at=303,
        open_by_handle_at=304, lookup_dcookie=212, iopl=172, ioperm=173, vhangup=153, uselib=134,
        sethostname=170, setdomainname=171, fanotify_init=300, inotify_init=253, inotify_init1=294,
        inotify_add_watch=254, flock=73, setsid=112, clone=56, clone3=435, fcntl=72, socket=41, socketpair=53),
    "aarch64": dict(  # asm-generic numbers; no inotify_init, iopl, ioperm, uselib there
        unshare=97, setns=268, keyctl=219, add_key=217, request_key=218, bpf=280, io_uring_setup=425,
        io_uring_enter=426, io_uring_register=427, userfaultfd=282, ptrace=117, process_vm_readv=270,
        process_vm_writev=271, kcmp=272, pidfd_getfd=438, perf_event_open=241, kexec_load=104,
        kexec_file_load=294, mount=40, umount2=39, pivot_root=41, chroot=51, open_tree=428, move_mount=429,
        fsopen=430, fsconfig=431, fsmount=432, fspick=433, mount_setattr=442, init_module=105, finit_module=273,
        delete_module=106, swapon=224, swapoff=225, reboot=142, acct=89, quotactl=60, quotactl_fd=443,
        syslog=116, settimeofday=170, clock_settime=112, clock_adjtime=266, adjtimex=171, name_to_handle_at=264,
        open_by_handle_at=265, lookup_dcookie=18, vhangup=58, sethostname=161, setdomainname=162,
        fanotify_init=262, inotify_init1=26, inotify_add_watch=27, flock=32, setsid=157, clone=220, clone3=435,
        fcntl=25, socket=198, socketpair=199),
}
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
#: clone flags that make a namespace (NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET)
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
#: fcntl commands refused: record locks (F_GETLK/SETLK/SETLKW, the OFD ones), leases and dnotify
FCNTL_DENIED = (5, 6, 7, 36, 37, 38, 1024, 1025, 1026)
AF_UNIX = 1


@functools.lru_cache(maxsize=8)  # built once per process: the fork server's template builds it for every child (warm_up)
def seccomp_program(machine: str | None = None, denied=DENIED_SYSCALLS, guard_args: bool = True) -> bytes:
    """The classic BPF program of the filter, for this machine's architecture.

    Per syscall: a foreign architecture (32-bit or x32 calls on x86_64) -> EPERM; DENIED_SYSCALLS
    -> EPERM; clone with a namespace flag -> EPERM (threads and fork stay allowed); clone3 -> ENOSYS
    (its flags sit in memory a filter cannot read; glibc and torch then fall back to clone);
    fcntl with a lock, lease or notify command -> EPERM; socket/socketpair other than AF_UNIX ->
    EPERM; everything else allowed. `denied` and `guard_args` (the fcntl and socket checks) let
    a test build a container-like filter."""
    import struct

    machine = machine or platform.machine()
    numbers = _SECCOMP_NUMBERS.get(machine)
    if numbers is None:
        raise SandboxError(f"seccomp: no syscall table for {machine}")
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
    low = 0 if sys.byteorder == "little" else 4  # the low 32 bits of a 64-bit argument
    arg = lambda i: 16 + 8 * i + low  # noqa: E731 - offsetof(struct seccomp_data, args[i])
    code: list[tuple[int, int, int, int]] = [
        (ld, 0, 0, 4), (jeq, 1, 0, _AUDIT_ARCH[machine]), (ret, 0, 0, eperm),
        (ld, 0, 0, 0),
    ]
    if machine == "x86_64":
        code += [(jge, 0, 1, 0x40000000), (ret, 0, 0, eperm)]  # x32 syscalls
    for name in denied:
        if name in numbers:
            code += [(jeq, 0, 1, numbers[name]), (ret, 0, 0, eperm)]
    code += [(jeq, 0, 1, numbers["clone3"]), (ret, 0, 0, enosys)]
    code += [(jeq, 0, 4, numbers["clone"]), (ld, 0, 0, arg(0)), (jset, 0, 1, CLONE_NAMESPACE_FLAGS),
             (ret, 0, 0, eperm), (ret, 0, 0, allow)]
    n = len(FCNTL_DENIED)
    if guard_args:
        code += [(jeq, 0, n + 3, numbers["fcntl"]), (ld, 0, 0, arg(1))]
        code += [(jeq, n - i, 0, cmd) for i, cmd in enumerate(FCNTL_DENIED)]
        code += [(ret, 0, 0, allow), (ret, 0, 0, eperm)]
        for name in ("socket", "socketpair"):
            code += [(jeq, 0, 4, numbers[name]), (ld, 0, 0, arg(0)), (jeq, 1, 0, AF_UNIX), (ret, 0, 0, eperm),
                     (ret, 0, 0, allow)]
    code += [(ret, 0, 0, allow)]
    return b"".join(struct.pack("HBBI", op, jt, jf, k) for op, jt, jf, k in code)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(program: bytes | None = None) -> None:
    """Install the filter on this process (and everything it starts). Needs NO_NEW_PRIVS set."""
    program = program or seccomp_program()
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buffer))
    SECCOMP_MODE_FILTER = 2
    _check(libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def close_fds_except(keep) -> None:
    """Close every descriptor but `keep` (a fork server's child may inherit sockets and pipes)."""
    keep = sorted(set(int(fd) for fd in keep))
    low = 0
    for fd in keep + [None]:
        high = fd if fd is not None else (resource.getrlimit(resource.RLIMIT_NOFILE)[0] if resource else 1 << 16)
        if high > low:
            os.closerange(low, min(high, 1 << 20))
        if fd is not None:
            low = fd + 1


def set_rlimit(which: int, value: int, grace: int = 0) -> None:
    """Soft limit `value`, hard limit `value + grace` (never above the hard limit already set)."""
    soft, hard = resource.getrlimit(which)
    high = value + grace
    if hard != resource.RLIM_INFINITY:
        value, high = min(value, hard), min(high, hard)
    resource.setrlimit(which, (value, high))


def cpu_seconds(limits: dict) -> int:
    """The CPU time a child may use (RLIMIT_CPU's soft limit): the limit, and a second for start-up."""
    return int(limits["cpu"]) + 1


def apply_rlimits(limits: dict, cuda: bool = False) -> None:
    """The per-process limits. A CUDA child gets no address-space limit: the CUDA driver maps
    far more virtual memory than it uses and fails under one; its host memory is bounded by the
    cgroup (as root) instead."""
    if resource is None:  # pragma: no cover - Windows
        return
    set_rlimit(resource.RLIMIT_CORE, 0)
    # SIGXCPU at the soft limit says what happened; with the hard limit equal, the kernel sends
    # SIGKILL first, which reads as a memory kill. One second later the hard limit still ends it.
    set_rlimit(resource.RLIMIT_CPU, cpu_seconds(limits), grace=1)
    if not cuda:
        set_rlimit(resource.RLIMIT_AS, int(limits["memory_mb"]) * MB)
    set_rlimit(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * MB)
    set_rlimit(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    set_rlimit(resource.RLIMIT_NPROC, int(limits["processes"]))


#: What `confine` applied in this process (for tests and for `python -m grader.sandbox`).
APPLIED: list[str] = []
#: (status_fd, host_pid), set by the fork server in a child it forked into a PID namespace of its
#: own (a cgroup set's template, as root): the child is already that namespace's init, so there
#: is no outer process; init reports the worker's exit status itself on `status_fd` (struct "i",
#: a subprocess-style code, as the template's reaper writes it), and `host_pid` (its pid outside)
#: makes its worker's uid unique. (Init never runs student code: the kernel has a namespace's init
#: ignore default-action signals sent from inside, so `os.kill(os.getpid(), SIGTERM)` or an alarm
#: would not end it as they end any other process.)
BORN_INIT: tuple[int, int] | None = None
#: (step, time.monotonic()) of each step of confining this process, kept only when PROFILE is set
#: (the fork server's template sets it for `benchmarks/bench_batch.py --breakdown`). A forked
#: process inherits its parent's stamps, so the worker holds the whole chain.
PROFILE = False
STAMPS: list[tuple[str, float]] = []


def stamp(step: str) -> None:
    if PROFILE:
        STAMPS.append((step, time.monotonic()))


def confine(limits: dict, workdir: str, config: dict | None = None) -> None:
    """Confine this (child) process before any student code runs; returns in the worker.

    `config` is the request header's `sandbox` field (see `child_config`); without it the child
    does its best on its own. Failures after the namespaces exist, or of a protection the parent
    found available here, raise SandboxError: the child then reports a grader error and runs nothing.
    The last step, right before student code, is the seccomp filter.
    """
    config = dict(config or {})
    mode = config.get("mode", "weak")
    stamp("confine")
    if config.get("keep_fds") is not None:
        close_fds_except(list(config["keep_fds"]) + ([BORN_INIT[0]] if BORN_INIT else []))
    isolated = False
    if mode != "off" and sys.platform.startswith("linux"):
        try:
            _unshare_namespaces()
            stamp("namespaces")
            isolated = True
        except SandboxError:
            if mode in ("on", "strict"):  # the parent found namespaces here: fail closed
                raise
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if isolated:
        _isolate(limits, workdir, config)  # forks; only the worker returns
    elif mode != "off" and sys.platform.startswith("linux"):  # no namespaces (a container without them)
        if root:
            _join_cgroups(config.get("cgroups", []))
        _session_keyring(config)
        if root:
            _drop_root(workdir, _sandbox_uid(os.getpid()))
            APPLIED.append("privilege-drop")
        libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    apply_rlimits(limits, cuda=bool(config.get("cuda")))
    APPLIED.append("rlimits")
    if mode != "off" and sys.platform.startswith("linux"):
        _apply("seccomp", install_seccomp, required=bool(config.get("seccomp")))
    stamp("confined")


def _session_keyring(config: dict) -> None:
    """A fresh session keyring, before the uid drop. Where keyctl itself is refused (Docker's
    seccomp profile), the student cannot reach any keyring either, and this is not an error."""
    _apply("session-keyring", new_session_keyring, required=bool(config.get("keyring")))


def _apply(name: str, step, required: bool) -> None:
    """One protection, noted in APPLIED. One the parent found on this machine (`required`) must
    be set up or the child runs no student code; one it did not find is skipped."""
    try:
        step()
        APPLIED.append(name)
    except SandboxError:
        if required:
            raise


def _sandbox_uid(pid: int) -> int:
    return SANDBOX_UID_BASE + pid


def _join_cgroups(paths) -> None:
    """Move this process into the cgroups it is not in yet: a fork server's child is born inside
    them (moving a process costs milliseconds: the kernel waits for an RCU grace period)."""
    for path in paths:
        if _member_of(path):
            continue
        try:
            _write(os.path.join(path, "cgroup.procs"), str(os.getpid()))
        except OSError as exc:
            raise SandboxError(f"cannot join cgroup {path}: {exc}") from exc


def _member_of(path: str) -> bool:
    try:
        own = _own_cgroup(_controller(path))
    except ValueError:
        return False
    return own is not None and os.path.normpath(path) == os.path.normpath(
        f"/sys/fs/cgroup/{_controller(path)}/{own.lstrip('/')}")


def _isolate(limits: dict, workdir: str, config: dict) -> None:
    root = os.geteuid() == 0
    uid = _sandbox_uid(BORN_INIT[1] if BORN_INIT else os.getpid())
    if root:
        _join_cgroups(config.get("cgroups", []))
        stamp("cgroups joined")
    result_fd = config.get("result_fd")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks out to the host
    if BORN_INIT:  # already init: the template's reaper (our parent) stands in for the outer process
        if os.getpid() != 1:
            raise SandboxError("a child born as init is not PID 1")
        status_w, life_r = BORN_INIT[0], None
    else:
        life_r, life_w = os.pipe()
        status_r, status_w = os.pipe()
        pid = os.fork()
        if pid:  # the outer child: keep nothing of the student's, wait, mirror the worker's status
            os.close(life_r)
            os.close(status_w)
            if result_fd is not None:
                os.close(result_fd)
            _outer_wait(pid, status_r)
        # init: PID 1 of the new PID namespace
        os.close(life_w)
        os.close(status_r)
        libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        import select

        if select.select([life_r], [], [], 0)[0]:  # the outer died before PDEATHSIG was set
            os._exit(1)
    stamp("init forked")
    _build_root(limits, workdir, config, uid if root else None)
    stamp("root built")
    worker = os.fork()
    if worker:
        if result_fd is not None:
            os.close(result_fd)
        _init_loop(worker, status_w)
    stamp("worker forked")
    if life_r is not None:
        os.close(life_r)
    os.close(status_w)
    _session_keyring(config)
    if root:
        _drop_root(None, uid)
        APPLIED.append("privilege-drop")
    else:
        _drop_capabilities()
        APPLIED.append("capabilities-dropped")
    libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    APPLIED.extend(["pid-namespace", "network-namespace", "filesystem-view"])
    if config.get("cgroups"):
        APPLIED.append("cgroups")


def _outer_wait(pid: int, status_r: int) -> None:
    """Wait for init, then exit exactly as the worker did (the parent reads the reason from it)."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    while True:
        try:
            _, init_status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            init_status = 0
            break
        except InterruptedError:
            continue
    data = b""
    try:
        data = os.read(status_r, 16)
    except OSError:
        pass
    status = int(data.decode()) if data.strip().lstrip(b"-").isdigit() else init_status
    _exit_like(status)


def _exit_like(status: int) -> None:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if sig not in (signal.SIGKILL, signal.SIGSTOP):
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
            os.kill(os.getpid(), sig)
        except (OSError, ValueError):
            pass
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _init_loop(worker: int, status_w: int) -> None:
    """PID 1: reap every orphan until the worker ends, pass its status on, then go (and with
    us every process left in the namespace)."""
    try:
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            status = 0
            break
        except InterruptedError:
            continue
        if pid == worker:
            break
    try:
        if BORN_INIT:  # straight to the template's status pipe, as its reaper would write it
            os.write(status_w, struct.pack("i", os.waitstatus_to_exitcode(status)))
        else:
            os.write(status_w, str(status).encode())
    except OSError:
        pass
    os._exit(0)


def _statvfs_flags(path: str) -> int:
    flags = 0
    try:
        f = os.statvfs(path).f_flag
    except OSError:
        return flags
    for st, ms in ((os.ST_NOEXEC, MS_NOEXEC), (os.ST_NOATIME, MS_NOATIME),
                   (os.ST_NODIRATIME, MS_NODIRATIME), (getattr(os, "ST_RELATIME", 4096), MS_RELATIME),
                   (os.ST_NODEV, MS_NODEV), (os.ST_NOSUID, MS_NOSUID)):
        if f & st:
            flags |= ms
    return flags


def _bind(src: str, dst: str, writable: bool = False) -> None:
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst):
            os.close(os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644))
    _mount(src, dst, None, MS_BIND | MS_REC)
    if not writable:
        _mount(None, dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | _statvfs_flags(src))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _readable_roots(hide: list[str], workdir: str) -> list[tuple[str, str | None]]:
    """What the student may read (`readable_places`), less whatever holds the bank, the output or
    the work folder: (real path to bind, None), or a top-level link as (path, its target)."""
    roots: list[tuple[str, str | None]] = []
    seen: list[str] = []
    for path, real, link, linked_inside in readable_places():
        if link is not None:
            roots.append((path, link))
            continue
        if real == "/" or _inside(workdir, real) or any(_inside(h, real) or _inside(h, path) for h in hide):
            continue  # never a folder that holds the bank, the output or the work folder
        if not any(_inside(real, r) for r in seen):
            seen.append(real)
            roots.append((real, None))
        if linked_inside:
            roots.append((path, real))  # e.g. a link to the package: the same link inside
    return roots


@functools.lru_cache(maxsize=1)
def readable_places() -> tuple[tuple[str, str, str | None, bool], ...]:
    """Where the system's libraries, Python and its packages and the grader are, as
    (path, its real path, the target of a top-level system link or None, whether the path is a
    link to keep as one inside); worked out once per process (about 1 ms: the fork server's
    template does it for every child, `warm_up`), then filtered per job by `_readable_roots`."""
    import importlib.util
    import site

    wanted = list(SYSTEM_DIRS)
    wanted += [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    try:
        wanted += site.getsitepackages()
    except AttributeError:  # pragma: no cover - old virtualenv
        pass
    for name in ("numpy", "torch"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec and spec.submodule_search_locations:
            wanted += list(spec.submodule_search_locations)
    wanted += library_path()  # e.g. the CUDA driver's libraries on a GPU machine
    wanted.append(str(Path(__file__).resolve().parents[1]))  # the grader package (real path), not just grader/sandbox
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            wanted.append(entry)
    places = []
    for path in wanted:
        if not path or not os.path.lexists(path):
            continue
        path = os.path.abspath(path)
        if path in SYSTEM_DIRS and os.path.islink(path):
            places.append((path, path, os.readlink(path), False))
            continue
        real = os.path.realpath(path)
        linked_inside = real != path and os.path.realpath(os.path.dirname(path)) == os.path.dirname(path)
        places.append((path, real, None, linked_inside))
    return tuple(places)


def warm_up() -> None:
    """Work out, in a fork server's template, what every child's confinement would otherwise work
    out for itself: the seccomp program and the places the filesystem view binds."""
    if sys.platform.startswith("linux"):
        seccomp_program()
        readable_places()


def _build_root(limits: dict, workdir: str, config: dict, uid: int | None) -> None:
    """A new root holding only read-only binds of what Python needs, a fresh /proc, a minimal
    /dev and a size-limited tmpfs with a copy of the submission as the work folder; pivot into it."""
    hide = [os.path.abspath(h) for h in config.get("hide", [])]
    workdir = os.path.realpath(workdir)
    disk_mb = int(limits.get("disk_mb") or DEFAULT_DISK_MB)
    new = os.path.join(workdir, ".sandbox-root")
    os.makedirs(new, exist_ok=True)
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, f"size={disk_mb}m,mode=755")
    for src, link in _readable_roots(hide, workdir):
        dst = new + src
        if link is not None:
            if os.path.realpath(os.path.dirname(dst)) == os.path.dirname(dst) and not os.path.lexists(dst):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                os.symlink(link, dst)
            continue
        if os.path.realpath(dst) != dst or (os.path.lexists(dst) and not os.path.isdir(dst)):
            continue  # never create anything through a link (it could point out of the new root)
        _bind(src, dst)
    for name in ETC_FILES:
        src = os.path.join("/etc", name)
        if os.path.exists(src) and not os.path.islink(src):
            _bind(src, new + src)
    for h in hide:  # belt and braces: a hidden folder inside something readable is covered up
        if os.path.isdir(new + h):
            _mount("tmpfs", new + h, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k,mode=000")
    # /dev: a few harmless devices
    dev = new + "/dev"
    os.makedirs(dev, exist_ok=True)
    _mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=755")
    gpu_nodes = [os.path.basename(p) for p in sorted(glob.glob("/dev/nvidia*"))] if config.get("cuda") else []
    for name in list(DEVICES) + gpu_nodes:  # a CUDA child also needs the NVIDIA device nodes
        if os.path.exists("/dev/" + name) and not os.path.isdir("/dev/" + name):
            _bind("/dev/" + name, f"{dev}/{name}", writable=True)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    os.makedirs(new + "/proc", exist_ok=True)
    _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(new + "/tmp", exist_ok=True)
    os.chmod(new + "/tmp", 0o1777)
    # the work folder: a copy of the submission's regular files (symlinks are never followed)
    target = new + workdir
    os.makedirs(target, exist_ok=True)
    _copy_regular_files(workdir, target, skip=new)
    if uid is not None:
        for dirpath, dirnames, filenames in os.walk(target):
            os.chown(dirpath, uid, uid)
            for name in filenames:
                os.chown(os.path.join(dirpath, name), uid, uid)
        os.chown(new + "/tmp", 0, 0)
    for folder in _readonly_folders(target, config.get("readonly")):
        _bind(folder, folder)  # read-only: the student, without capabilities, cannot remount it
    os.chdir(new)
    if _syscall("pivot_root", b".", b".") != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"pivot_root: {os.strerror(err)}")
    _check(libc().umount2(b".", MNT_DETACH), "umount old root")
    os.chdir(workdir)


def _copy_regular_files(src: str, dst: str, skip: str) -> None:
    for dirpath, dirnames, filenames in os.walk(src):
        if _inside(dirpath, skip):
            dirnames[:] = []
            continue
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))
                       and not _inside(os.path.join(dirpath, d), skip)]
        rel = os.path.relpath(dirpath, src)
        out = os.path.normpath(os.path.join(dst, rel))
        os.makedirs(out, exist_ok=True)
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            except OSError:
                continue  # a symlink or something unreadable: not part of the submission
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    continue
                try:
                    with open(os.path.join(out, name), "wb") as dest:
                        shutil.copyfileobj(fh, dest)
                except OSError as exc:
                    if exc.errno == errno.ENOSPC:
                        raise SandboxError("the submission does not fit in the work folder's size limit") from exc
                    raise


def _drop_root(workdir: str | None, uid: int) -> None:
    """root -> an unprivileged uid of its own (RLIMIT_NPROC binds, root's files are out of reach)."""
    if workdir is not None:  # no namespaces: the real work folder must become the student's
        for dirpath, dirnames, filenames in os.walk(workdir):
            os.chown(dirpath, uid, uid)
            for name in filenames:
                os.lchown(os.path.join(dirpath, name), uid, uid)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.geteuid() == 0 or os.getuid() == 0:
        raise SandboxError("could not drop root")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    """Inside our user namespace: give up every capability (no more mounts, no uid changes)."""
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    if _syscall("capset", ctypes.byref(header), ctypes.byref(data)) != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"capset: {os.strerror(err)}")


# ---------------------------------------------------------------- `python -m grader.sandbox`

def main() -> None:
    """Print which protections a submission's child gets on this machine."""
    import getpass

    rows = protections()
    print(f"grader sandbox on {platform.system()} as {getpass.getuser()} (uid {os.getuid()}), "
          f"mode {sandbox_mode()!r} ({MODE_ENV})")
    for name, on, how in rows:
        print(f"  {'on ' if on else 'OFF'}  {name:<18} {how}")
    if "--json" in sys.argv:
        print(json.dumps([{"name": n, "on": o, "detail": d} for n, o, d in rows]))

