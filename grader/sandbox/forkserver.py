"""A warm fork server: one template process with torch and numpy imported forks a child per launch.

`import torch` costs 1 to 2 s; forking a process that already has it costs milliseconds. The
template is started fresh (`python -I`, the scrubbed child environment, its own session), imports
torch, numpy and the child side of the grader (nothing secret: no reference, no bank, no results),
and then only ever forks. It never initialises CUDA and never runs a torch op: an op would start
intra-op threads, and a fork of a multithreaded process can deadlock. The environment pins
OMP/MKL/OpenBLAS to one thread so that importing numpy and torch starts none either; the template
checks it is single-threaded and says so in its handshake.

Protocol (a SOCK_SEQPACKET socket pair between the grader and the template):

    grader -> template: b"spawn" + SCM_RIGHTS [request_r, result_w, stdout_w, stderr_w, status_w]
    template -> grader: struct "i" pid of the forked child (or -errno when fork failed)

The template closes its copies of the first four pipe ends right after forking, keeps `status_w`
and, when it reaps the child, writes its exit status (struct "i", a `subprocess` style return
code: negative for a signal) to it and closes it. The forked child makes itself a session leader
(so the grader can kill its whole tree with killpg), reads its request from `request_r`, moves the
result pipe to fd 3 and stdout/stderr onto 1/2, closes every other descriptor, takes the fresh
child's environment, and then runs `grader.sandbox.child.run_request` exactly like a fresh child does
(which confines itself first).

A batch (`ForkServer.launch_batch`, `runner.run_batch`: one student's problems in one child) is
spawned the same way; its request frame says "batch", and the child keeps the request pipe open
as GO_FD, on which the grader writes one byte before each problem after the first
(`child.serve_batch`).

Where the grader uses cgroup sets (root), each set has a template of its own forked from the
main one (`NEST`: `_nested_template`). A batch's calls are the same for every student of a class,
so once a run of batches had the same calls (HOLD_AFTER), the grader hands them once to each
set's template, which decodes and holds them
(`_hold_payload`), and each student's request then only names them ("payload" in the header): about
10 ms of CPU per student less for the card problems. Such a template forks no other request's
child; a batch with other calls gets a set's template of its own in its place (`ForkServer._nest_for`).

`ForkServer.launch` fits `runner.run_with`, so `ForkServerExecutor.run(job)` behaves exactly like
`SubprocessExecutor.run(job)`, only faster.
"""
from __future__ import annotations

import collections
import ctypes
import errno
import gc
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from typing import TYPE_CHECKING

from grader.sandbox import confine as sandbox, tempdirs

if TYPE_CHECKING:  # the template imports this module: it loads no more of the grader than a child needs
    from grader.sandbox.runner import Call, Job, RunResult

RESULT_FD = 3          #: where the forked child finds its result pipe (as a fresh child's header says)
STATUS_FD = 4          #: where a child born as init finds the pipe its worker's exit status goes to
GO_FD = 5              #: where a batch's child keeps its request pipe: one byte per "start the next problem"
SPAWN = b"spawn"
NEST = b"nest"
READY = b"ready"
WARM_TRAINING = b"warm-training"  #: import what training imports now (answered READY); see ForkServer.warm_for_training
TEMPLATE_CODE = ("import sys; sys.path.append({home!r}); "
                 "from grader.sandbox.forkserver import template_main; template_main(int(sys.argv[1]), sys.argv[2:])")
PROFILE = "profile"  #: a template started with this argument has its children report where their time went
HUGE_PAGES = "huge-pages"  #: a template started with this argument backs its memory with huge pages (see below)
MADV_COLLAPSE = 25  #: Linux 6.1+: back a range with transparent huge pages now (linux/mman.h)
TRAINING = "training"  #: a template started with this argument is warmed up for children that train models
START_TIMEOUT = 120.0  # seconds to import torch on a loaded machine
#: a batch's calls are held by the cgroup sets' templates once this many batches in a row had them
#: (one class's run); batches whose calls vary (several assignments, a student's problems split
#: into batches by their limits) are sent whole, as are a class's first
HOLD_AFTER = 8


class ForkServerError(RuntimeError):
    """The template could not be started or stopped answering (a grader failure, not a student's)."""


# ---------------------------------------------------------------- the template process

def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # pragma: no cover - not Linux
        return 1


def template_main(sock_fd: int, options=()) -> None:
    """Entry point of the template: warm up, then fork one child per spawn request until EOF."""
    gc.disable()  # its full passes while torch is imported cost 0.1-0.2 s of CPU; one collect() below does it all
    if PROFILE in options:
        _report_stamps()

    import numpy  # noqa: F401 - the point of the template: imported once, shared by every child
    try:
        import torch  # noqa: F401
    except ImportError:  # pragma: no cover - numpy-only installs
        pass
    from grader.sandbox import child
    from grader.sandbox import codec  # noqa: F401 - the child side of the boundary, nothing secret
    from grader.sandbox import process_state

    _warm_up()
    if TRAINING in options:
        _warm_up_training()
    process_state.remember_namespaces()  # a batch's worker then snapshots them without copying
    gc.collect()
    gc.freeze()  # keep the imported objects' pages shared with every child (no refcount COW churn)
    gc.enable()  # the children's (a student's code may count on it)
    if HUGE_PAGES in options:
        _back_with_huge_pages()
    _serve(socket.socket(fileno=sock_fd), nests=True)


def _serve(sock: socket.socket, nests: bool, own_pid_ns: int | None = None) -> None:
    """The template's loop: say ready, then fork a child per SPAWN (and, where `nests`, a
    cgroup's own template per NEST) until the grader closes the socket. With `own_pid_ns` (a
    descriptor of this process's PID namespace; root only) each child is forked into a PID
    namespace of its own, as its init: one fork fewer per job (see `sandbox.BORN_INIT`)."""
    _become_subreaper()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    status_fds: dict[int, int] = {}
    sock.send(READY + struct.pack("i", _thread_count()))

    while True:
        try:
            readable, _, _ = select.select([sock, wake_r], [], [])
        except InterruptedError:  # pragma: no cover - PEP 475 retries select
            continue
        if wake_r in readable:
            try:
                while os.read(wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        _reap(status_fds)
        if sock not in readable:
            continue
        try:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
        except OSError:
            message, fds = b"", []
        if not message:  # the grader is gone: stop (its children are killed by the grader or die on EPIPE)
            for fd in fds:
                os.close(fd)
            if not nests:  # a cgroup set's template dropped while its jobs run: they still get their statuses
                _reap(status_fds, until_all=True)
            os._exit(0)
        if message == WARM_TRAINING:
            for fd in fds:
                os.close(fd)
            _warm_up_training()
            from grader.sandbox import process_state

            process_state.remember_namespaces()
            gc.collect()
            gc.freeze()  # as after the first imports: shared with every child, never walked by gc there
            sock.send(READY)
            continue
        if nests and message.startswith(NEST) and len(fds) in (1, 2):
            try:
                pid = os.fork()
            except OSError as exc:
                pid, error = -1, exc
            if pid == 0:
                _nested_template(fds[0], message[len(NEST):], fds[1] if len(fds) == 2 else None)  # never returns
            for fd in fds:  # the payload's pipe too: this template never reads a request's calls
                os.close(fd)
            sock.send(struct.pack("i", pid if pid > 0 else -(error.errno or errno.EAGAIN)))
            continue
        if message != SPAWN or len(fds) != 5:
            for fd in fds:
                os.close(fd)
            sock.send(struct.pack("i", -errno.EINVAL))
            continue
        born_init = own_pid_ns is not None and sandbox.libc().unshare(sandbox.CLONE_NEWPID) == 0
        try:
            pid = os.fork()
        except OSError as exc:
            pid, error = -1, exc
        if pid == 0:
            _forked_child(fds, born_init)  # never returns
        if born_init and sandbox.libc().setns(own_pid_ns, sandbox.CLONE_NEWPID) != 0:
            os._exit(70)  # the next child would land in this one's namespace: stop (the grader starts another)
        if pid < 0:
            for fd in fds:
                os.close(fd)
            sock.send(struct.pack("i", -(error.errno or errno.EAGAIN)))
            continue
        for fd in fds[:4]:
            os.close(fd)
        status_fds[pid] = fds[4]
        sock.send(struct.pack("i", pid))


def _reap(status_fds: dict[int, int], until_all: bool = False) -> None:
    """Reap the children that have ended and write each one's exit status to its grader (the pipe
    in `status_fds`); `until_all`: wait until every child with a status pipe has ended."""
    while not until_all or status_fds:
        try:
            pid, status = os.waitpid(-1, 0 if until_all else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = status_fds.pop(pid, None)
        if fd is not None:
            try:
                os.write(fd, struct.pack("i", os.waitstatus_to_exitcode(status)))
            except OSError:
                pass
            os.close(fd)


def _nested_template(sock_fd: int, message: bytes, payload_fd: int | None = None) -> None:
    """A template of its own for one cgroup set (made with `NEST`): it moves into the cgroups
    once, so the children it forks are born inside them and need not move (about 15 ms each).
    It dies with the main template, and is spared by the out-of-memory killer (its children are not).

    With `payload_fd` it first reads and decodes one payload (a class's calls: `runner.batch_payload`)
    and holds it: every child it forks is sent a request naming that payload (`_held_payload`),
    so no child decodes it again (about 10 ms of CPU per student for the card problems). The
    grader forks no other request from it: a child sees no calls but its own."""
    import json

    try:
        parent = os.getppid()
        signal.set_wakeup_fd(-1)
        sandbox.libc().prctl(sandbox.PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(0)
        asked = json.loads(message)
        paths, key = asked.get("paths"), asked.get("payload")
        if not (isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths)):
            os._exit(70)
        if (key is None) != (payload_fd is None):  # asked to hold calls it did not get, or the reverse
            os._exit(70)
        # the main template's socket, wake-up pipe and its children's status pipes go
        sandbox.close_fds_except([0, 1, 2, sock_fd] + ([payload_fd] if payload_fd is not None else []))
        if payload_fd is not None:
            _hold_payload(key, payload_fd)
        _set_oom_score_adj(-1000)
        sandbox._join_cgroups(paths)
        own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY) if os.geteuid() == 0 else None
        _serve(socket.socket(fileno=sock_fd), nests=False, own_pid_ns=own_pid_ns)
    except BaseException as exc:  # noqa: BLE001 - never return into the main template's loop
        try:
            os.write(2, f"grader: a cgroup's template failed: {type(exc).__name__}: {exc}\n".encode())
        except OSError:
            pass
    os._exit(70)


#: (key, value): the payload a cgroup set's template holds decoded (`_nested_template`)
_HELD: tuple[int, object] | None = None


def _hold_payload(key, fd: int) -> None:
    """Read and decode the payload frame on `fd`, and keep it as `_HELD` for the children to come."""
    global _HELD
    from grader.sandbox import codec

    if type(key) is not int:
        raise ValueError("a held payload needs an integer key")
    header, value = codec.decode(_read_request(fd), max_bytes=1 << 34, restore_devices=False, from_grader=True)
    os.close(fd)
    if any(device != "cpu" for device in header["tensor_devices"].values()):  # (batches are CPU-only)
        raise ValueError("a template holds only calls on the CPU: it never initialises a GPU")
    _HELD = (key, value)
    gc.freeze()  # shared with every child, never walked by gc there


def _held_payload(key):
    """In a child: the calls its template holds, which its request names by `key` (all of them
    this child's own: its template holds no other)."""
    if _HELD is None or _HELD[0] != key:
        raise RuntimeError(f"the request names payload {key!r}, which this template does not hold")
    return _HELD[1]


def _set_oom_score_adj(value: int) -> None:
    """Best effort: lowering it needs CAP_SYS_RESOURCE, which a container may not grant (then an
    out-of-memory kill may take a cgroup's template too; the grader starts another)."""
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write(str(value))
    except OSError:
        pass


def _warm_up() -> None:
    """Import here, once, what every child would otherwise import for itself (measured: numpy's
    lazily imported `numpy.random`, about 15 ms per child, which `_reseed` needs; `secrets`), and
    work out what every child's confinement needs (the seccomp program, the places its filesystem
    view binds: 2-3 ms per child, `sandbox.warm_up`). Nothing secret, and no torch op (no threads)."""
    import secrets  # noqa: F401

    import numpy.random  # noqa: F401

    try:
        sandbox.warm_up()
    except Exception:  # noqa: BLE001 - best effort: each child works it out (and fails) as before
        pass


def _back_with_huge_pages() -> None:
    """Make every later fork cheaper: a fork copies the page tables of the template's private
    memory (about 140 MB after importing torch), one entry per 4 KB page. Collapsed into 2 MB
    pages there are 512 times fewer entries, and a fork with torch imported costs about 4 ms of
    CPU instead of 8 (benchmarks/fork_cost.py). A child that writes to a page still copies only
    that 4 KB (the kernel splits the shared huge page first). Collapsing costs 0.5-0.9 s of CPU
    once, so only a template that will fork many children asks for it (`ForkServer(huge_pages=True)`:
    a class of a hundred problem-submissions or more, the course service, a Ray worker). Best effort: a kernel
    without MADV_COLLAPSE (before 6.1) or with huge pages off just forks as before."""
    try:
        libc = sandbox.libc()
        libc.malloc_trim(0)  # glibc: hand the heap's free tail back first, so it is not collapsed too
        with open("/proc/self/maps") as maps:
            lines = maps.read().splitlines()
    except (OSError, AttributeError):
        return
    huge = 1 << 21
    for line in lines:
        fields = line.split()
        anonymous = len(fields) == 5 or (len(fields) == 6 and fields[5] == "[heap]")
        if not anonymous or fields[1] != "rw-p":
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        first, last = (start + huge - 1) & ~(huge - 1), end & ~(huge - 1)
        if last > first:
            libc.madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), MADV_COLLAPSE)


def _warm_up_training() -> None:
    """Import what building any torch optimizer imports (torch._dynamo: 1.4 s of CPU in each child
    that trains a model otherwise, with torch 2.13): at the start of a template asked for training,
    or when the first training job comes (`ForkServer.warm_for_training`). Best effort: a torch
    whose import fails here leaves the template as it was (its training children import it)."""
    try:
        import torch._dynamo  # noqa: F401
    except Exception:  # noqa: BLE001 - numpy-only installs, a torch without it or broken: not the template's end
        pass


def _report_stamps() -> None:
    """Benchmarks only: children stamp each step (`sandbox.stamp`) and each frame they send, and
    write the stamps to stderr as one line (`PROFILE_PREFIX` + JSON) just before their "done"."""
    import json

    from grader.sandbox import child

    sandbox.PROFILE = True
    send = child.Channel.send

    def stamped_send(channel, header, value=None):
        kind = header.get("type")
        if kind == "done":
            sandbox.stamp("cases")
            os.write(2, PROFILE_PREFIX + json.dumps(sandbox.STAMPS).encode() + b"\n")
        send(channel, header, value)
        if kind == "ready":
            sandbox.stamp("loaded")

    child.Channel.send = stamped_send


PROFILE_PREFIX = b"grader-profile: "


def _become_subreaper() -> None:
    """Orphans of a child (a student's subprocesses) become the template's to reap, not zombies."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _forked_child(fds: list[int], born_init: bool = False) -> None:
    """In the freshly forked child: become a fresh-looking child, then run the request.
    `born_init`: forked into a PID namespace of its own (see `sandbox.BORN_INIT`)."""
    sandbox.stamp("forked")
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if _read_oom_score_adj() != 0:  # a nested template's child: the OOM killer may take it (root sets
            _set_oom_score_adj(0)       # the floor too, so the student cannot lower it again)
        os.setsid()  # own session and process group: the grader kills the whole tree with killpg
        request_r, result_w, out_w, err_w, _status_w = fds
        from grader.sandbox import codec
        from grader.sandbox.child import run_request

        frame = _read_request(request_r)
        header, calls = codec.decode(frame, max_bytes=1 << 34, from_grader=True)
        if "payload" in header:  # calls our template holds decoded (a class's batch)
            calls = _held_payload(header.pop("payload"))
        batch = bool(header.get("batch"))
        if not batch:
            os.close(request_r)
        # Move the pipes above any low descriptor, then into place: 1, 2, RESULT_FD (and STATUS_FD, GO_FD).
        import fcntl

        kept = [(out_w, 1), (err_w, 2), (result_w, RESULT_FD)] + ([(_status_w, STATUS_FD)] if born_init else []) \
            + ([(request_r, GO_FD)] if batch else [])
        high = [(fcntl.fcntl(fd, fcntl.F_DUPFD, 64), target) for fd, target in kept]
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, target in high:
            os.dup2(fd, target)
        targets = [target for _, target in kept]
        for fd in range(3, GO_FD + 1):
            if fd not in targets:
                try:
                    os.close(fd)
                except OSError:
                    pass
        os.closerange(GO_FD + 1, _max_fd())  # the socket, other children's status pipes, ...
        if born_init:  # our pid outside, read before our own /proc is mounted
            sandbox.BORN_INIT = (STATUS_FD, int(os.readlink("/proc/self")))
        header["calls"] = calls
        header["result_fd"] = RESULT_FD
        if batch:
            header["go_fd"] = GO_FD
        os.environ.clear()
        os.environ.update(sandbox.child_env(header["workdir"]))
        _reseed(bool(header.get("cuda")))
        sandbox.stamp("request read")
        run_request(header)  # confines, serves, os._exit
    except BaseException:  # noqa: BLE001 - never return into the template's loop
        pass
    os._exit(70)


def _read_request(fd: int) -> bytes:
    """The one request frame on `fd` (a batch's grader keeps the pipe open after it: see GO_FD)."""
    from grader.sandbox import codec

    reader = codec.FrameReader(max_frame_bytes=1 << 34, max_total_bytes=1 << 34)
    while True:
        chunk = os.read(fd, 1 << 20)
        frames = reader.feed(chunk) if chunk else []
        if frames:
            return frames[0]
        if not chunk:
            raise EOFError("the request ended before its frame did")


def _read_oom_score_adj() -> int:
    try:
        with open("/proc/self/oom_score_adj") as fh:
            return int(fh.read())
    except (OSError, ValueError):
        return 0


def _max_fd() -> int:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return soft if soft != resource.RLIM_INFINITY else 65536
    except (ImportError, ValueError):  # pragma: no cover
        return 65536


def _reseed(cuda: bool) -> None:
    """Each child gets fresh random state, as a fresh interpreter would (not the template's copy)."""
    from grader.sandbox.child import reseed

    reseed(cuda)


# ---------------------------------------------------------------- the grader's side

class ForkHandle:
    """A forked child (a `runner.ChildHandle`): its pipes, killpg for its tree, status from the template."""

    def __init__(self, pid: int, result_fd: int, stdout_fd: int, stderr_fd: int, status_fd: int,
                 go_fd: int | None = None, feeder: threading.Thread | None = None):
        self.pid = pid
        self._go_fd = go_fd  #: a batch's request pipe, kept open to say "next problem"
        self._feeder = feeder
        self.result_fd = result_fd
        self.stdout_fd = stdout_fd
        self.stderr_fd = stderr_fd
        self._status_fd = status_fd
        self._returncode: int | None = None
        self._status_done = False
        self._closed = False

    def kill(self) -> None:
        sandbox.kill_tree(self.pid)

    def wait(self, timeout: float) -> int | None:
        """The child's exit status (negative: killed by that signal), or None if not known in time."""
        if self._status_done:
            return self._returncode
        deadline = time.monotonic() + max(timeout, 0)
        data = b""
        while len(data) < 4:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._status_fd], [], [], max(remaining, 0))
            if not ready:
                return None
            chunk = os.read(self._status_fd, 4 - len(data))
            if not chunk:  # the template died before reporting
                self._status_done = True
                return None
            data += chunk
        self._returncode = struct.unpack("i", data)[0]
        self._status_done = True
        return self._returncode

    def go(self) -> bool:
        """A batch's child: start the next problem (False: the child is gone)."""
        if self._feeder is not None:
            self._feeder.join()  # the request is written whole before the first byte that follows it
            self._feeder = None
        try:
            return os.write(self._go_fd, b"\x01") == 1
        except OSError:
            return False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.kill()  # the template reaps it; its exit status is only needed when a case was lost (wait)
        if self._feeder is not None:
            self._feeder.join()
        for fd in (self.result_fd, self.stdout_fd, self.stderr_fd, self._status_fd) + (
                (self._go_fd,) if self._go_fd is not None else ()):
            try:
                os.close(fd)
            except OSError:
                pass


class ForkServer:
    """The template process and the launcher that asks it for children. Thread-safe."""

    def __init__(self, python: str = sys.executable, profile: bool = False, cgroup_templates: bool = True,
                 huge_pages: bool = False, training: bool = False):
        self.python = python
        #: the template backs its memory with huge pages: 0.5-0.9 s of CPU once, then every fork about
        #: 5 ms cheaper (`_back_with_huge_pages`); worth it from about a hundred jobs (a class, the
        #: course service), not for one `grader check` or a small class
        self.huge_pages = huge_pages
        self.profile = profile  #: children report their steps' times on stderr (benchmarks only)
        self.training = training  #: the template is warmed up for children that train models
        #: reuse jobs' cgroups (`sandbox.CGROUPS`) and fork each job from a template living in its
        #: cgroups (False: a cgroup set made, joined and removed per job, as before; for benchmarks)
        self.cgroup_templates = cgroup_templates
        self._nests: dict[tuple[str, ...], _Nest] = {}
        #: the calls' keys of the last batches launched: calls are held only after HOLD_AFTER in a row
        self._recent_batches: collections.deque = collections.deque(maxlen=HOLD_AFTER)
        self._holding = False
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._home: str | None = None
        self.template_threads: int | None = None
        self.starts = 0
        self._starting: subprocess.Popen | None = None  #: the template while it imports, until its ready
        self._abandoned = False
        self._starting_lock = threading.Lock()

    # -- lifecycle
    def start(self) -> None:
        with self._lock:
            self._ensure_started()

    def abandon_start(self) -> None:
        """From any thread: kill a template still importing (its process group, without waiting
        for its imports to finish) and refuse to start another. A `grader check` that ran no child
        calls it so as not to wait about 2 s for a template it will not use."""
        with self._starting_lock:
            self._abandoned = True
            if self._starting is not None:  # not reaped yet (cleared before), so the pid is still ours
                try:
                    os.killpg(self._starting.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def _ensure_started(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._stop_locked()
        if self._abandoned:
            raise ForkServerError("the fork server's start was called off")
        from grader.sandbox.home import GRADER_HOME

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._home = tempdirs.make("grader-template-")
        log_path = os.path.join(self._home, "template.log")
        try:
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [self.python, "-I", "-c", TEMPLATE_CODE.format(home=GRADER_HOME), str(theirs.fileno())]
                    + ([PROFILE] if self.profile else []) + ([HUGE_PAGES] if self.huge_pages else [])
                    + ([TRAINING] if self.training else []),
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                    pass_fds=(theirs.fileno(),), cwd=self._home, env=sandbox.child_env(self._home),
                    start_new_session=True, close_fds=True)
        finally:
            theirs.close()
        with self._starting_lock:
            self._starting = proc
        if self._abandoned:
            self.abandon_start()
        ready, _, _ = select.select([ours], [], [], START_TIMEOUT)
        message = ours.recv(64) if ready else b""
        with self._starting_lock:
            self._starting = None
        if not message.startswith(READY):
            proc.kill()
            proc.wait()
            ours.close()
            with open(log_path, "rb") as log:
                err = log.read().decode("utf-8", "replace")[-2000:]
            sandbox.remove_workdir(self._home)
            self._home = None
            raise ForkServerError("the fork server's template process did not start"
                                  + (f":\n{err}" if err.strip() else f" within {START_TIMEOUT:g} s"))
        self.template_threads = struct.unpack("i", message[len(READY):len(READY) + 4])[0]
        self._proc, self._sock = proc, ours
        self.starts += 1
        if self.cgroup_templates and not self._holding:
            sandbox.CGROUPS.hold()
            self._holding = True

    def _stop_locked(self) -> None:
        for key, nest in self._nests.items():  # they die with the template (PDEATHSIG) or on EOF
            nest.sock.close()
            sandbox.CGROUPS.set_resident(key, None)
        self._nests.clear()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.wait()
            self._proc = None
        if self._home is not None:
            sandbox.remove_workdir(self._home)
            self._home = None

    def alive(self) -> bool:
        """Whether the template process is running: the health check of a long-lived host (a Ray worker)."""
        with self._lock:
            return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        """Stop the template (children already launched are the callers' to close) and remove the
        cgroups kept for reuse."""
        with self._lock:
            self._stop_locked()
            holding, self._holding = self._holding, False
        if holding:
            sandbox.CGROUPS.release()

    def __enter__(self) -> "ForkServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def warm_for_training(self) -> None:
        """Have the template import what training imports (torch._dynamo), once: every child
        forked afterwards that trains a model saves 1.3-1.5 s of CPU, and its reported training
        time no longer includes the import. `launch` calls it for the first job that trains
        models, so a long-lived template started plain (the course service's worker, which serves
        every assignment; a Ray worker) warms up when it needs to; one started with
        `training=True` (`grader grade` and `grader validate` of training problems) has it from
        its start. The cgroup sets' templates forked before are dropped: the next job of each set
        forks its template again, from the warmed one. Blocks launches until done."""
        with self._lock:
            if self.training:
                return
            self.training = True  # a template started from now on warms up at its start
            if self._proc is None or self._proc.poll() is not None:
                return
            try:
                self._sock.send(WARM_TRAINING)
                reply = _answer(self._sock, timeout=START_TIMEOUT)
            except OSError:
                reply = b""
            if reply != READY:
                self._stop_locked()  # dead or wedged: the next job starts a fresh one, warmed
                return
            for nest in list(self._nests.values()):
                self._forget_nest_locked(nest)

    # -- launching
    def _nest_for(self, cgroups, payload=None, batch: bool = False) -> "_Nest | None":
        """The template living in the cgroup set `cgroups`, started on first need (None: it could
        not, or it holds a class's calls and this is a job alone: the main template forks it).

        `payload` (a batch's `codec.Encoded` calls): the set's template should hold it decoded; one
        that holds other calls, or none, is replaced by one that holds these (`launch_batch` asks
        only once a class's calls came HOLD_AFTER times in a row, so each set's template is made
        once per class). A `batch` whose calls are not to be held replaces a template holding
        calls with a plain one, as before holding."""
        key = tuple(cgroups)
        want = payload.key if payload is not None else None
        with self._lock:
            nest = self._nests.get(key)
            if nest is not None and nest.payload == want:
                return nest
            if nest is not None and want is None and not batch:
                return None  # it holds a class's calls: it forks no other request's child
            new = self._start_nest_locked(key, payload)
            if new is None:
                return None
            self._nests[key] = new
            if nest is not None:  # replaced: it exits on EOF (the set's last job has ended)
                with nest.lock:
                    nest.sock.close()
        sandbox.CGROUPS.set_resident(key, new.pid, replaces=nest.pid if nest is not None else None)
        return new

    def _start_nest_locked(self, key: tuple, payload) -> "_Nest | None":
        """Fork a template for the cgroup set `key` from the main one, holding `payload` if given."""
        import json

        from grader.sandbox import codec

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fds = [theirs.fileno()]
        payload_r = payload_w = -1
        try:
            self._ensure_started()
            if payload is not None:
                payload_r, payload_w = os.pipe()
                fds.append(payload_r)
            asked = {"paths": list(key), "payload": payload.key if payload is not None else None}
            socket.send_fds(self._sock, [NEST + json.dumps(asked).encode()], fds)
            theirs.close()  # from now on only the set's template holds it: its end is our EOF if it fails
            if payload_r >= 0:
                os.close(payload_r)
                payload_r = -1
            reply = _answer(self._sock)
            if len(reply) != 4:
                self._stop_locked()  # dead or wedged (a late answer would be read as a spawn's): a fresh one next time
            pid = struct.unpack("i", reply)[0] if len(reply) == 4 else 0
            if pid > 0 and payload is not None:
                threading.Thread(target=_feed, args=(payload_w, codec.frame(payload)), daemon=True).start()
                payload_w = -1  # the feeder closes it
            message = _answer(ours, 64) if pid > 0 else b""
        except (OSError, ForkServerError):
            message = b""
        finally:
            theirs.close()
            for fd in (payload_r, payload_w):
                if fd >= 0:
                    os.close(fd)
        if not message.startswith(READY):
            ours.close()
            return None
        return _Nest(ours, pid, payload.key if payload is not None else None)

    def _drop_nest(self, nest: "_Nest") -> None:
        with self._lock:
            self._forget_nest_locked(nest)

    def _forget_nest_locked(self, nest: "_Nest") -> None:
        """Stop using a cgroup set's template: the next job of its set forks a new one. Its socket
        is closed only while no launch is asking it for a child; it exits on EOF, once its running
        children have ended (`_reap`)."""
        for key, known in list(self._nests.items()):
            if known is nest:
                del self._nests[key]
                sandbox.CGROUPS.set_resident(key, None)
        with nest.lock:
            nest.sock.close()

    def _ask(self, fds: list[int], nest: "_Nest | None") -> bytes:
        """Send SPAWN to the main template or to `nest`; its reply (b"" when it did not answer)."""
        if nest is not None:
            with nest.lock:
                try:
                    socket.send_fds(nest.sock, [SPAWN], fds)
                    return _answer(nest.sock)
                except (OSError, ValueError):  # ValueError: its socket closed (select on fd -1)
                    return b""
        with self._lock:
            try:
                self._ensure_started()
                socket.send_fds(self._sock, [SPAWN], fds)
                reply = _answer(self._sock)
            except OSError:
                reply = b""
            if len(reply) != 4:
                self._stop_locked()  # dead or wedged: a fresh template next time
            return reply

    def _spawn(self, fds: list[int], nest: "_Nest | None" = None) -> tuple[int, "_Nest | None"]:
        """Ask the template (or the cgroup set's) for a child holding `fds`; restart a dead template
        once. Returns the child's pid and the set's template that forked it (None: the main one)."""
        for attempt in range(3):
            reply = self._ask(fds, nest)
            if len(reply) != 4:
                if nest is not None:  # that set's template is gone: the main one forks, the child joins
                    self._drop_nest(nest)
                    nest = None
                continue
            pid = struct.unpack("i", reply)[0]
            if pid > 0:
                return pid, nest
            if -pid in (errno.EAGAIN, errno.ENOMEM):  # fork failed for now: try again shortly
                time.sleep(0.05 * (attempt + 1))
                continue
            raise ForkServerError(f"the fork server could not fork: {os.strerror(-pid)}")
        raise ForkServerError("the fork server's template process stopped answering")

    def launch(self, job: Job, calls: list[Call], workdir: str) -> ForkHandle:
        """A `runner.run_with` launcher: a child forked from the warm template."""
        from grader.sandbox.runner import request_frame

        if job.mode == "training" and not self.training:
            self.warm_for_training()
        return self._launch(lambda held: request_frame(job, calls, workdir, RESULT_FD), workdir)

    def launch_batch(self, jobs: list[Job], workdir: str) -> ForkHandle:
        """A `runner.run_batch` launcher: one child for several problems of one student, whose
        request pipe stays open (`ForkHandle.go`). Calls that a class's last HOLD_AFTER batches all
        had (the runner's cache handed them out again) are held by the cgroup set's template
        where there is one (`_nest_for`), and the request only names them; other calls (a single
        student, batches whose calls vary, calls too large to cache) are sent whole."""
        from grader.sandbox.runner import batch_frame, batch_payload, batch_request_header

        header, payload = batch_request_header(jobs, workdir, RESULT_FD), batch_payload(jobs)
        with self._lock:
            self._recent_batches.append(payload.key)
            recent = self._recent_batches
            hold = payload.reused and len(recent) == recent.maxlen and all(key == payload.key for key in recent)
        return self._launch(lambda held: batch_frame(header, payload, held), workdir, keep_open=True,
                            payload=payload if hold else None, batch=True)

    def _launch(self, frame, workdir: str, keep_open: bool = False, payload=None, batch: bool = False) -> ForkHandle:
        """Fork a child and feed it its request, `frame(held)`: `held` when the template that forked
        it holds `payload` (a batch's calls), so the request need not carry them."""
        request_r, request_w = os.pipe()
        result_r, result_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        status_r, status_w = os.pipe()
        theirs = [request_r, result_w, out_w, err_w, status_w]
        try:
            cgroups = sandbox.box_cgroups(workdir) if self.cgroup_templates else []
            pid, nest = self._spawn(theirs, self._nest_for(cgroups, payload, batch) if cgroups else None)
            request = frame(payload is not None and nest is not None and nest.payload == payload.key)
        except BaseException:
            for fd in (request_w, result_r, out_r, err_r, status_r):
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        feeder = threading.Thread(target=_feed, args=(request_w, request, not keep_open), daemon=True)
        feeder.start()
        if keep_open:
            return ForkHandle(pid, result_r, out_r, err_r, status_r, go_fd=request_w, feeder=feeder)
        return ForkHandle(pid, result_r, out_r, err_r, status_r)


class _Nest:
    """The grader's end of a cgroup set's template (see `_nested_template`), and the key of the
    payload it holds (None: none)."""

    def __init__(self, sock: socket.socket, pid: int, payload: int | None = None):
        self.sock = sock
        self.pid = pid
        self.payload = payload
        self.lock = threading.Lock()


def _answer(sock: socket.socket, size: int = 16, timeout: float = 30) -> bytes:
    ready, _, _ = select.select([sock], [], [], timeout)
    return sock.recv(size) if ready else b""


def _feed(fd: int, data: bytes, close: bool = True) -> None:
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except OSError:
        pass
    finally:
        if close:
            os.close(fd)


class ForkServerExecutor:
    """`Executor.run(job) -> RunResult` on children forked from one warm template."""

    def __init__(self, server: ForkServer | None = None):
        self.server = server or ForkServer()

    def run(self, job: Job) -> RunResult:
        from grader.sandbox.runner import run_with

        return run_with(self.server.launch, job)

    @property
    def can_batch(self) -> bool:
        """Whether `run_batch` grades several problems in one child here: under the full sandbox
        (the batch's worker checks its PID namespace and filesystem view between problems)."""
        return sandbox.level() == "full"

    def run_batch(self, jobs: list[Job]) -> list[RunResult]:
        """One student's jobs: those that fit (`runner.batchable`) in one child, one problem after
        another there; any that did not end cleanly, and those after it, alone."""
        from grader.sandbox.runner import run_batches

        return run_batches(self.server.launch, self.server.launch_batch, jobs)

    def close(self) -> None:
        self.server.close()

    def __enter__(self) -> "ForkServerExecutor":
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
