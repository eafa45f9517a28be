"""The CPU time of this process and of every process it starts, counted so that nothing escapes.

Reading it from `getrusage`/`/proc/PID/stat` (the children's `cutime`) undercounts the sandbox:
a job's child is PID 1 of a namespace of its own, and when the grader kills a finished job's
process group, the kernel has that init ignore SIGCHLD while it takes the namespace down
(`zap_pid_ns_processes`), so a worker still exiting at that moment is reaped by nobody's wait
and its CPU time, with all its children's, is added to no one. On the card problems that hid
about a quarter of the CPU of a class run (issue 18's fourth pass). `python
benchmarks/cpu_meter.py` (root) shows it on a worker that burns 0.5 s. A cgroup counts every process in it however it ends, so:

* as root with cgroup v1's `cpuacct` (or cgroup v2), this process moves into a cgroup made for
  the run, before the fork server starts, and everything it starts is counted there;
* otherwise the whole machine's busy time from /proc/stat is used, which counts other people's
  work too; `source` says which, and the benchmarks print it.
"""
from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's grader, as the other benchmarks

from grader.sandbox.confine import _own_cgroup  # noqa: E402


class CpuMeter:
    """`read()`: CPU seconds used so far by this process and its descendants (see the module)."""

    def __init__(self) -> None:
        self._cgroup: Path | None = None
        self._home: Path | None = None
        self._v2 = False
        try:
            self._enter_cgroup()
        except OSError:
            self._cgroup = None
        self.source = (f"cgroup {self._cgroup}" if self._cgroup
                       else "the whole machine's busy time (/proc/stat; other work counts too)")

    def _enter_cgroup(self) -> None:
        if os.geteuid() != 0:
            return
        name = f"grader-bench-{os.getpid()}"
        v1 = Path("/sys/fs/cgroup/cpuacct")
        if (v1 / "cpuacct.usage").exists():
            base, controller = v1, "cpuacct"
        elif Path("/sys/fs/cgroup/cgroup.controllers").exists():
            base, controller, self._v2 = Path("/sys/fs/cgroup"), "", True  # "": cgroup v2's line
        else:
            return
        own = _own_cgroup(controller)  # this process's path in that hierarchy
        if own is None:
            raise OSError(f"not in a {controller or 'v2'} cgroup")
        home = base / own.lstrip("/")
        cgroup = home / name
        cgroup.mkdir()
        try:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            cgroup.rmdir()
            raise
        self._cgroup, self._home = cgroup, home

    def read(self) -> float:
        if self._cgroup is None:
            return machine_busy_seconds()
        if self._v2:
            for line in (self._cgroup / "cpu.stat").read_text().splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
            raise OSError("cpu.stat has no usage_usec")
        return int((self._cgroup / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        """Move back to the cgroup we came from and remove ours (once every descendant is gone)."""
        if self._cgroup is None:
            return
        try:
            (self._home / "cgroup.procs").write_text(str(os.getpid()))
            self._cgroup.rmdir()
        except OSError:
            pass  # a process of the run still in it: left for the next reboot, harmless
        self._cgroup = None

    def __enter__(self) -> "CpuMeter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def own_cpu_seconds() -> float:
    """CPU time of this process alone (every thread): the grader's share."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float:
    """The machine's busy CPU time so far (user, nice, system, irq, softirq), in seconds."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return sum(int(fields[i]) for i in (1, 2, 3, 6, 7)) / os.sysconf("SC_CLK_TCK")


def _demo() -> None:
    """A namespace's init with a worker that burns 0.5 s of CPU, killed as the grader kills a
    finished job: what getrusage's children count sees, against the cgroup."""
    import ctypes
    import signal
    import time

    def trial(kill: bool) -> tuple[float, float]:
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # in a process of its own: a PID namespace can be made only once per process
            if ctypes.CDLL(None, use_errno=True).unshare(0x20000000) != 0:  # CLONE_NEWPID
                os._exit(2)
            init = os.fork()
            if init == 0:
                worker = os.fork()
                if worker == 0:
                    start = time.process_time()
                    while time.process_time() - start < 0.5:
                        pass
                    os.write(ready_w, b"x")
                    time.sleep(5 if kill else 0)
                    os._exit(0)
                os.waitpid(worker, 0)
                os._exit(0)
            os.read(ready_r, 1)
            if kill:
                time.sleep(0.05)
                os.kill(init, signal.SIGKILL)
            os.waitpid(init, 0)
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            os.write(ready_w, f"{usage.ru_utime + usage.ru_stime:.3f}\n".encode())
            os._exit(0)
        os.close(ready_w)
        cpu = meter.read()
        os.waitpid(pid, 0)
        counted = float(os.read(ready_r, 64).split()[-1])
        os.close(ready_r)
        return counted, meter.read() - cpu

    with CpuMeter() as meter:
        print(f"counting from {meter.source}")
        for kill in (False, True):
            counted, real = trial(kill)
            print(f"init {'killed while its worker exits' if kill else 'exits after its worker'}: "
                  f"children's CPU by getrusage {counted:.2f} s, by the meter {real:.2f} s")


if __name__ == "__main__":
    _demo()
