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
import glob
import itertools
import json
import os
import platform
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

try:
    import resource
except ImportError:  # pragma: no cover - Windows: no rlimits (see docs/threat-model.md)
    resource = None

MB = 1 << 20

#: Set GRADER_SANDBOX=off to apply only the rlimits (for measuring the sandbox's cost, or for
#: debugging); "strict" makes the child refuse to run when namespaces are unavailable.
MODE_ENV = "GRADER_SANDBOX"
#: Root drops the student's worker to uid SANDBOX_UID_BASE + (pid of the outer child).
SANDBOX_UID_BASE = 1_000_000
DEFAULT_DISK_MB = 256

# clone / mount / prctl constants (linux/sched.h, linux/mount.h, linux/prctl.h)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
_SYSCALLS = {"x86_64": {"pivot_root": 155, "capset": 126}, "aarch64": {"pivot_root": 41, "capset": 91}}

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


def make_workdir(files: dict[str, bytes]) -> str:
    """A fresh private folder holding only copies of the submission's files."""
    workdir = tempfile.mkdtemp(prefix="grader-sub-")
    for name, data in files.items():
        target = Path(workdir, name)
        if not str(target.resolve()).startswith(str(Path(workdir).resolve()) + os.sep):
            continue  # a name like ../x never leaves the folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return workdir


def remove_workdir(workdir: str) -> None:
    """Delete the work folder whatever the child left in it (read-only files, odd modes)."""
    def on_error(func, path, _exc):
        try:
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            if not os.path.islink(path):
                os.chmod(path, stat.S_IRWXU)
            func(path)
        except OSError:
            pass

    shutil.rmtree(workdir, onerror=on_error)


def kill_tree(pid: int) -> None:
    """Kill the child's process group (its session). With namespaces on, killing the outer child
    also kills the PID namespace's init (PDEATHSIG), and with it every process the student made."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def sandbox_mode() -> str:
    """'on' (default: namespaces where the system allows, rlimits otherwise), 'strict' or 'off'."""
    mode = os.environ.get(MODE_ENV, "on").strip().lower()
    return {"0": "off", "no": "off", "false": "off", "off": "off", "strict": "strict"}.get(mode, "on")


def hidden_paths(extra=()) -> list[str]:
    """Folders the child must never see even if they sit inside something it may read."""
    from . import bank

    roots = {bank.default_bank_root()}
    if os.environ.get(bank.BANK_ENV):
        roots.add(Path(os.environ[bank.BANK_ENV]))
    paths = set()
    for root in roots:
        paths.update(str(Path(root, d).resolve()) for d in ("reference", "problems"))
    paths.update(str(Path(p).resolve()) for p in extra)
    return sorted(paths)


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
            self.cgroups = _make_cgroups(f"grader-{os.getpid()}-{next(self._counter)}", limits)

    def cleanup(self) -> None:
        """Kill whatever is left in the cgroups and remove them."""
        for path in self.cgroups:
            _remove_cgroup(path)
        self.cgroups = []
        _BOXES.pop(self.workdir, None)


_BOXES: dict[str, Box] = {}
_WARNED = threading.Event()


def prepare(limits, workdir: str) -> Box:
    """Parent-side set-up for a submission's work folder; `runner.run_with` calls it once."""
    box = Box(limits, workdir)
    _BOXES[workdir] = box
    if not _WARNED.is_set():
        _WARNED.set()
        off = [name for name, on, _ in protections() if not on]
        if off:
            print(f"grader: sandbox protections off on this machine: {', '.join(off)} "
                  "(run 'python -m grader.sandbox' for details)", file=sys.stderr)
    return box


def child_config(workdir: str, job=None) -> dict:
    """The `sandbox` field of a request header: what `confine` should set up."""
    box = _BOXES.get(workdir)
    return {"mode": sandbox_mode(), "hide": hidden_paths(getattr(job, "hide", ()) or ()),
            "cgroups": list(box.cgroups) if box else [], "cuda": bool(getattr(job, "cuda", False))}


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


def _make_cgroups(name: str, limits) -> list[str]:
    """cgroup v1 memory + pids groups below our own (a limit on the whole process tree)."""
    made = []
    memory_mb = int(getattr(limits, "memory_mb", 4096))
    processes = int(getattr(limits, "processes", 64))
    # The tree may use a little more than one process's address space: a single process meets
    # RLIMIT_AS first (a quick MemoryError); the cgroup stops many processes adding up (and the
    # headroom keeps it from squeezing torch's code out of the page cache, which would only be slow).
    settings = {"memory": {"memory.limit_in_bytes": str((memory_mb + 1024) * MB)},
                "pids": {"pids.max": str(processes + 2)}}  # + the outer child and the namespace's init
    for controller, values in settings.items():
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


def _sweep_stale_cgroups() -> None:
    """Remove the cgroups of graders that died without cleaning up (killed mid-run)."""
    for controller in ("memory", "pids"):
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

_PROTECTIONS: list | None = None


def protections() -> list[tuple[str, bool, str]]:
    """(name, on, how) for each protection, as the child would get them on this machine (cached)."""
    global _PROTECTIONS
    if _PROTECTIONS is not None:
        return _PROTECTIONS
    linux = sys.platform.startswith("linux")
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    mode = sandbox_mode()
    ns = False
    detail = "sandbox switched off (GRADER_SANDBOX=off)" if mode == "off" else "not Linux"
    if linux and mode != "off":
        ns, detail = _probe_namespaces()
    cg = bool(linux and root and mode != "off" and _own_cgroup("memory") is not None
              and os.access("/sys/fs/cgroup/memory", os.W_OK))
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
    ]
    _PROTECTIONS = rows
    return rows


def _probe_namespaces() -> tuple[bool, str]:
    code = ("import sys; sys.path.insert(0, %r); from grader.sandbox import _probe_main; _probe_main()"
            % str(Path(__file__).resolve().parent.parent))
    try:
        proc = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"probe failed: {exc}"
    if proc.returncode == 0:
        return True, ""
    return False, (proc.stdout.strip() or proc.stderr.strip()[-200:] or "namespaces unavailable")


def _probe_main() -> None:
    """In a throwaway process: can we unshare what `confine` needs? Exit 0 if so."""
    try:
        _unshare_namespaces()
    except SandboxError as exc:
        print(exc)
        os._exit(1)
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
    """New mount/PID/network/IPC/UTS namespaces; a user namespace too when we are not root."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
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


def set_rlimit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def apply_rlimits(limits: dict, cuda: bool = False) -> None:
    """The per-process limits. A CUDA child gets no address-space limit: the CUDA driver maps
    far more virtual memory than it uses and fails under one; its host memory is bounded by the
    cgroup (as root) instead."""
    if resource is None:  # pragma: no cover - Windows
        return
    set_rlimit(resource.RLIMIT_CORE, 0)
    set_rlimit(resource.RLIMIT_CPU, int(limits["cpu"]) + 1)
    if not cuda:
        set_rlimit(resource.RLIMIT_AS, int(limits["memory_mb"]) * MB)
    set_rlimit(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * MB)
    set_rlimit(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    set_rlimit(resource.RLIMIT_NPROC, int(limits["processes"]))


#: What `confine` applied in this process (for tests and for `python -m grader.sandbox`).
APPLIED: list[str] = []


def confine(limits: dict, workdir: str, config: dict | None = None) -> None:
    """Confine this (child) process before any student code runs; returns in the worker.

    `config` is the request header's `sandbox` field (see `child_config`); without it the child
    does its best on its own. Failures after the namespaces exist raise SandboxError: the child
    then reports a grader error and runs nothing.
    """
    config = dict(config or {})
    mode = config.get("mode", "on")
    if config.get("keep_fds") is not None:
        close_fds_except(config["keep_fds"])
    isolated = False
    if mode != "off" and sys.platform.startswith("linux"):
        try:
            _unshare_namespaces()
            isolated = True
        except SandboxError:
            if mode == "strict":
                raise
    if isolated:
        _isolate(limits, workdir, config)  # forks; only the worker returns
    elif mode != "off" and hasattr(os, "geteuid") and os.geteuid() == 0:
        _drop_root(workdir, _sandbox_uid(os.getpid()))  # no namespaces (a container without them)
        APPLIED.append("privilege-drop")
    apply_rlimits(limits, cuda=bool(config.get("cuda")))
    APPLIED.append("rlimits")


def _sandbox_uid(pid: int) -> int:
    return SANDBOX_UID_BASE + pid


def _join_cgroups(paths) -> None:
    for path in paths:
        try:
            _write(os.path.join(path, "cgroup.procs"), str(os.getpid()))
        except OSError as exc:
            raise SandboxError(f"cannot join cgroup {path}: {exc}") from exc


def _isolate(limits: dict, workdir: str, config: dict) -> None:
    root = os.geteuid() == 0
    uid = _sandbox_uid(os.getpid())
    if root:
        _join_cgroups(config.get("cgroups", []))
    result_fd = config.get("result_fd")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks out to the host
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
    _build_root(limits, workdir, config, uid if root else None)
    worker = os.fork()
    if worker:
        if result_fd is not None:
            os.close(result_fd)
        _init_loop(worker, status_w)
    os.close(life_r)
    os.close(status_w)
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


def _readable_roots(hide: list[str], workdir: str) -> list[str]:
    """What the student may read: the system's libraries, Python and its packages, the grader."""
    import site
    import importlib.util

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
    wanted.append(str(Path(__file__).resolve().parent))  # the grader package (real path)
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            wanted.append(entry)
    roots: list[tuple[str, str | None]] = []  # (real path to bind, or a top-level link: (path, target))
    seen: list[str] = []
    for path in wanted:
        if not path or not os.path.lexists(path):
            continue
        path = os.path.abspath(path)
        if path in SYSTEM_DIRS and os.path.islink(path):
            roots.append((path, os.readlink(path)))
            continue
        real = os.path.realpath(path)
        if real == "/" or _inside(workdir, real) or any(_inside(h, real) or _inside(h, path) for h in hide):
            continue  # never a folder that holds the bank, the output or the work folder
        if not any(_inside(real, r) for r in seen):
            seen.append(real)
            roots.append((real, None))
        if real != path and os.path.realpath(os.path.dirname(path)) == os.path.dirname(path):
            roots.append((path, real))  # e.g. a link to the package: the same link inside
    return roots


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


if __name__ == "__main__":
    main()
