"""Where a class's jobs run: the pool of worker threads, and the executor each job's child comes from."""
from __future__ import annotations

import os
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable, Iterable, Iterator, Protocol

from grader.errors import UsageError

class Pool(Protocol):
    """Runs tasks and yields (task, result) as each finishes. The local pool is one; Ray could be another."""

    jobs: int

    def map_unordered(self, fn: Callable, tasks: Iterable) -> Iterator[tuple]: ...


def default_jobs() -> int:
    """Two worker slots per core. A sandboxed child spends about two thirds of its life off the CPU
    (namespace and cgroup set-up and tear-down; see docs/benchmarks.md), so one slot per core
    leaves the cores idle; two per core measured 1.5 to 2x the throughput on a 2-core machine."""
    return 2 * (os.cpu_count() or 1)


class LocalPool:
    """N worker threads; each one's job runs in a child forked from a warm template (the executor)."""

    def __init__(self, jobs: int | None = None):
        self.jobs = max(1, jobs or default_jobs())
        self._threads = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grader-worker")

    def map_unordered(self, fn: Callable, tasks: Iterable) -> Iterator[tuple]:
        tasks = iter(tasks)
        pending = {}
        # Keep a bounded number of tasks in flight: memory stays flat for any class size.
        for task in tasks:
            pending[self._threads.submit(fn, task)] = task
            if len(pending) >= 2 * self.jobs:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                yield task, future.result()
                nxt = next(tasks, None)
                if nxt is not None:
                    pending[self._threads.submit(fn, nxt)] = nxt

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AutoExecutor:
    """The warm fork server, started on first need (a fully cached re-run never starts it); where it
    cannot start, or with kind 'fresh', a fresh Python per job. `warning` says when it fell back."""

    def __init__(self, kind: str = "fork", training: bool = False, many_jobs: bool = False):
        self.kind = kind
        self.training = training  #: the template is warmed up for children that train models
        self.many_jobs = many_jobs  #: the template backs its memory with huge pages (cheaper forks)
        self.warning: str | None = None
        self._inner = None
        self._lock = threading.Lock()

    def start(self):
        with self._lock:
            if self._inner is None:
                from grader.sandbox.runner import SubprocessExecutor

                if self.kind == "fresh":
                    self._inner = SubprocessExecutor()
                else:
                    from grader.sandbox.forkserver import ForkServer, ForkServerError, ForkServerExecutor

                    executor = ForkServerExecutor(ForkServer(training=self.training, huge_pages=self.many_jobs))
                    try:
                        executor.server.start()
                        self._inner = executor
                    except (ForkServerError, OSError) as exc:
                        self.warning = (f"the fork server could not start ({exc}); "
                                        "using a fresh Python per job (slower)")
                        self._inner = SubprocessExecutor()
            return self._inner

    def run(self, job):
        return (self._inner or self.start()).run(job)

    @property
    def can_batch(self) -> bool:
        """Whether `run_batch` runs a student's jobs in one child (the fork server can; see
        grader.classes.batch.ClassGrader.batching)."""
        return bool(getattr(self._inner or self.start(), "can_batch", False))

    def run_batch(self, jobs):
        inner = self._inner or self.start()
        if getattr(inner, "can_batch", False):
            return inner.run_batch(jobs)
        return [inner.run(job) for job in jobs]

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close:
            close()

    def __enter__(self) -> "AutoExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_executor(kind: str, ray_address: str | None = None) -> None:
    """Refuse what `executor_for` would refuse, without starting anything: --ray-address without
    --executor ray, Ray not installed (saying how to install it), a HOST:PORT where no cluster answers.
    `grader serve` calls it before it starts the worker processes that will connect."""
    if ray_address and kind != "ray":
        raise UsageError("--ray-address goes with --executor ray")
    if kind == "ray":
        from grader.classes.ray_executor import check_reachable, require_ray

        require_ray()
        check_reachable(ray_address)


#: problem-submissions from which a class's fork server makes its forks cheaper with huge pages
#: (0.5-0.9 s of CPU once, about 5 ms less per fork: grader.sandbox.forkserver)
MANY_JOBS = 100


def executor_for(kind: str, ray_address: str | None = None, jobs: int | None = None, training: bool = False,
                 many_jobs: bool = False):
    """The executor `grader grade --executor KIND` (and a `grader serve` worker) runs jobs with, and the
    jobs to keep in flight: fork (or local): the warm fork server here; fresh: a new Python per job;
    ray: a Ray cluster. `training`: the jobs include models trained with torch optimizers, so the fork
    server's template imports once what each of them would import (grader.sandbox.forkserver).
    `many_jobs`: at least MANY_JOBS problem-submissions (or a long-lived service) are coming."""
    if ray_address and kind != "ray":
        raise UsageError("--ray-address goes with --executor ray")
    if kind == "ray":
        from grader.classes.ray_executor import RayExecutor

        executor = RayExecutor(ray_address).start()
        return executor, jobs or executor.default_jobs()
    return AutoExecutor("fork" if kind == "local" else kind, training=training, many_jobs=many_jobs), jobs
