"""Running a class's child jobs on a Ray cluster: the same `Executor.run(job) -> RunResult` as the
local fork server, with the children started on Ray's workers.

    with RayExecutor(address="auto") as executor:          # or None: a local Ray instance
        with LocalPool(executor.default_jobs()) as pool:
            report = grade_class(assignment, students, bank=bank, pool=pool, executor=executor)

What crosses to a worker is plain data: the child `Job` the trusted process built (the
submission's files, the entry point, each case's inputs, the limits; never the bank, the
references' expected outputs or other students' files), the driver's sandbox mode and
protections, and its engine version. The worker runs it exactly as the local pool does
(`runner.run_with` on a warm fork server) and sends back the `RunResult`; comparing, scoring
and caching stay in the driver. No shared file system is assumed.

Each worker process starts its warm template lazily, by exec (`ForkServer` starts `python -I`:
a Ray worker is multithreaded and must not be forked into a template), checks it is alive before
every job and restarts it when it is not. Where it cannot start, the worker runs a fresh Python
per job and says so.

Failures: whatever the student's code does is inside the `RunResult` and is never retried. A
failure of the infrastructure (the worker or its node died, a Ray error, the grader failing in
the worker) is retried `retries` times on whatever worker Ray picks, then raised as
`RayJobFailed`, which a class run records as that job's grader error (not cached). Ray's own
retries are off (`max_retries=0`) so that every attempt is counted here and one job gives one
result. CUDA jobs ask Ray for `gpus_per_cuda_job` GPUs and keep their worker (`max_calls=0`:
Ray's default for GPU tasks is a new worker, and a new template, per task); CPU jobs ask for no
GPU and `cpus_per_job` CPUs. Whether CUDA cases run at all is the cluster's answer, not the
driver's: they run when a live node has `gpus_per_cuda_job` GPUs, and are skipped otherwise
(`grader.sandbox.devices.decide_cuda_elsewhere`, set while the executor is open).
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections import Counter
from dataclasses import dataclass

from grader.errors import InternalError, UsageError
from grader.sandbox.runner import Job, RunResult

INSTALL_HINT = "pip install 'grader[ray]'"
DEFAULT_RETRIES = 2          #: attempts after the first, for infrastructure failures only
DEFAULT_CPUS_PER_JOB = 0.5   #: two jobs per core, as the local pool (a child is mostly off the CPU)


class RayJobFailed(InternalError):
    """The cluster could not run a job (its workers kept dying, or Ray failed): the grader's failure."""


class WorkerMismatch(RuntimeError):
    """A worker that would grade differently from the driver (another engine, weaker sandbox)."""


def require_ray():
    """The `ray` module, or a usage error that says how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray, which is not installed here",
                         f"Install it with: {INSTALL_HINT}") from None
    return ray


# ---------------------------------------------------------------- what travels

@dataclass
class WorkerRequest:
    """One job for a Ray worker: plain data, nothing from the bank."""

    job: Job
    sandbox_mode: str        #: GRADER_SANDBOX of the driver (--allow-weak-sandbox travels with the job)
    fingerprint: str         #: the driver's sandbox protections: the worker must have the same
    engine: str              #: the driver's engine version: the worker must run the same grader


@dataclass
class WorkerReply:
    result: RunResult
    pid: int                 #: the Ray worker process that ran the job
    node: str                #: its Ray node id
    launcher: str            #: "fork server" or "fresh" (a fresh Python per job: the template could not start)
    note: str | None = None  #: why the worker fell back to a fresh Python


# ---------------------------------------------------------------- in the Ray worker

_worker_lock = threading.Lock()
_worker_state: dict = {"server": None, "fallback": None}


def _launcher():
    """This worker's launcher: its warm template (started by exec on first use, restarted when it
    died), or a fresh Python per job when the template cannot start here."""
    from grader.sandbox.forkserver import ForkServer, ForkServerError
    from grader.sandbox.runner import launch_fresh

    with _worker_lock:
        if _worker_state["fallback"] is not None:
            return launch_fresh, "fresh", _worker_state["fallback"]
        server = _worker_state["server"]
        if server is not None and not server.alive():
            server.close()
            server = None
        if server is None:
            server = ForkServer(huge_pages=True)  # a long-lived worker forks many children
            try:
                server.start()
            except (ForkServerError, OSError) as exc:
                _worker_state["fallback"] = f"the fork server could not start on this worker ({exc})"
                return launch_fresh, "fresh", _worker_state["fallback"]
            _worker_state["server"] = server
        return server.launch, "fork server", None


def hiding_this_nodes_bank(job: Job) -> Job:
    """The job, hiding also the bank of the grader installed on this node: `Job.hide` names the
    driver's folders, and a node's checkout or install may hold the bank somewhere else."""
    import dataclasses

    from grader.problems.locations import private_paths

    return dataclasses.replace(job, hide=sorted(set(job.hide) | set(private_paths())))


def run_on_worker(request: WorkerRequest) -> WorkerReply:
    """The Ray task: run one child job here, exactly as the local pool would."""
    from grader.sandbox import confine as sandbox
    from grader.digests import engine_version
    from grader.sandbox.runner import run_with

    os.environ[sandbox.MODE_ENV] = request.sandbox_mode
    engine = engine_version()
    if engine != request.engine:
        raise WorkerMismatch(f"this worker runs grader engine {engine[:12]}, the driver {request.engine[:12]}: "
                             "install the same grader on every node")
    here = sandbox.fingerprint()
    if here != request.fingerprint:
        raise WorkerMismatch(f"this worker's sandbox protections ({here}) differ from the driver's "
                             f"({request.fingerprint}): results and cache keys would not say how they were graded")
    launch, launcher, note = _launcher()
    result = run_with(launch, hiding_this_nodes_bank(request.job))
    try:
        import ray

        node = ray.get_runtime_context().get_node_id()
    except Exception:  # noqa: BLE001 - only informative
        node = "?"
    return WorkerReply(result, os.getpid(), node, launcher, note)


# ---------------------------------------------------------------- in the driver

#: Ray options of the two remote functions. `max_retries=0`: this executor counts and bounds the
#: retries itself. `max_calls=0`: a GPU worker is kept (Ray's default starts one per GPU task).
REMOTE_OPTIONS = {"cpu": {"max_retries": 0},
                  "cuda": {"max_retries": 0, "num_gpus": 1, "max_calls": 0}}
_remotes: dict = {}
_remotes_lock = threading.Lock()


def remote_functions(ray, worker_fn=run_on_worker) -> dict[str, object]:
    """`worker_fn` as Ray remote functions for CPU and CUDA jobs (made once: `max_calls` can only be set here)."""
    with _remotes_lock:
        found = _remotes.get(worker_fn)
        if found is None:
            found = _remotes[worker_fn] = {kind: ray.remote(**options)(worker_fn)
                                           for kind, options in REMOTE_OPTIONS.items()}
        return found


def task_options(job: Job, cpus_per_job: float = DEFAULT_CPUS_PER_JOB, gpus_per_cuda_job: float = 1.0) -> tuple[str, dict]:
    """(which remote function, its options) for a job: CUDA jobs a GPU (or a fraction), CPU jobs none."""
    if job.cuda:
        return "cuda", {"num_gpus": gpus_per_cuda_job, "num_cpus": cpus_per_job}
    return "cpu", {"num_cpus": cpus_per_job}


def cluster_has_gpu(ray, gpus_per_job: float = 1.0) -> bool:
    """Whether a live node of the cluster offers `gpus_per_job` GPUs (a CUDA job asking for more
    than any node has would wait forever)."""
    return any(node.get("Alive") and node.get("Resources", {}).get("GPU", 0) >= gpus_per_job
               for node in ray.nodes())


def _describe(exc: BaseException) -> str:
    """A Ray error in one line: the cause a worker raised, or Ray's own first line."""
    cause = getattr(exc, "cause", None)
    shown = cause if isinstance(cause, BaseException) else exc
    first = (str(shown).strip().splitlines() or [""])[0][:300]
    return f"{type(shown).__name__}: {first}" if first else type(shown).__name__


CONNECT_TIMEOUT = 10.0  #: seconds to reach a cluster's head before saying it cannot be reached


def check_reachable(address: str | None, timeout: float = CONNECT_TIMEOUT) -> None:
    """Refuse a HOST:PORT that does not answer at once: Ray itself retries such an address for minutes.
    "auto" is resolved as Ray resolves it ($RAY_ADDRESS, else the cluster last started on this
    machine) and refused when that finds none, so `grader serve` stops at start rather than in
    workers that are restarted forever."""
    named = address
    if address == "auto":
        address = _auto_address()
        named = f"auto ({address})"
    if not address or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--ray-address {address!r}: expected auto or HOST:PORT (the head's GCS port, 6379 by default)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise UsageError(f"--ray-address {named}: no Ray cluster answers there ({exc.strerror or exc})",
                         "Start one with 'ray start --head' on that machine, or check the address; "
                         "see docs/ray.md.") from None


def _auto_address() -> str | None:
    """The HOST:PORT that `ray.init(address="auto")` would join; None where Ray's helper for it is
    missing (another Ray version: the address is then left for ray.init to judge)."""
    try:
        from ray._private.services import canonicalize_bootstrap_address
    except ImportError:
        return None
    try:
        return canonicalize_bootstrap_address("auto")
    except ConnectionError:
        raise UsageError("--ray-address auto: no Ray cluster is running on this machine "
                         "(and $RAY_ADDRESS is not set)",
                         "Start one with 'ray start --head', or give the head's HOST:PORT; "
                         "see docs/ray.md.") from None
    except Exception:  # noqa: BLE001 - Ray's own lookup failed oddly: let ray.init say why
        return None


@contextlib.contextmanager
def keeping_sigterm_handler():
    """Keep this process's SIGTERM handler: `ray.init` replaces it with one that aborts the process
    (a `grader serve` worker stops on SIGTERM after its current round, and closes Ray)."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    finally:
        if main and previous is not None:
            signal.signal(signal.SIGTERM, previous)


class RayExecutor:
    """`Executor.run(job) -> RunResult` on a Ray cluster; thread-safe (a pool's threads share one).

    `address`: None starts a local Ray instance (or joins $RAY_ADDRESS), "auto" the cluster running
    on this machine, "HOST:PORT" a cluster's head. A Ray already initialised in this process is used
    as it is (and left running on close)."""

    kind = "ray"

    def __init__(self, address: str | None = None, *, retries: int = DEFAULT_RETRIES,
                 cpus_per_job: float = DEFAULT_CPUS_PER_JOB, gpus_per_cuda_job: float = 1.0,
                 init_options: dict | None = None, worker_fn=run_on_worker):
        self.ray = require_ray()
        self.worker_fn = worker_fn  #: what runs on the worker (tests give a stand-in)
        self.address = address
        self.retries = retries
        self.cpus_per_job = cpus_per_job
        self.gpus_per_cuda_job = gpus_per_cuda_job
        self.init_options = dict(init_options or {})
        self.warning: str | None = None
        self.cuda: bool | None = None     #: whether CUDA cases run: decided from the cluster on start
        self.stats: Counter = Counter()   #: jobs, attempts, retried, failed, launcher:<kind>
        self.workers: set[tuple[str, int]] = set()  #: (node, pid) of the Ray workers that ran jobs
        self._owned = False
        self._lock = threading.Lock()

    def start(self) -> "RayExecutor":
        """Connect to (or start) the cluster; idempotent."""
        ray = self.ray
        with self._lock:
            if not ray.is_initialized():
                check_reachable(self.address)
                try:
                    with keeping_sigterm_handler():
                        ray.init(address=self.address, **{"log_to_driver": False, **self.init_options})
                except Exception as exc:  # noqa: BLE001 - a cluster that cannot be reached is the user's setup
                    where = f"at {self.address}" if self.address else "(a local one)"
                    raise UsageError(f"could not start or reach the Ray cluster {where}: {_describe(exc)}",
                                     "Start one with 'ray start --head' and pass --ray-address HOST:PORT "
                                     "(or auto); see docs/ray.md.") from None
                self._owned = True
            remote_functions(ray, self.worker_fn)
            if self.cuda is None:
                from grader.sandbox.devices import decide_cuda_elsewhere

                self.cuda = cluster_has_gpu(ray, self.gpus_per_cuda_job)
                decide_cuda_elsewhere(self, self.cuda)
        return self

    def default_jobs(self) -> int:
        """Jobs to keep in flight: as many as the cluster's CPUs hold at `cpus_per_job` each."""
        self.start()
        cpus = self.ray.cluster_resources().get("CPU", 1)
        return max(1, int(cpus / self.cpus_per_job))

    def run(self, job: Job) -> RunResult:
        from grader.sandbox import confine as sandbox
        from grader.digests import engine_version

        self.start()
        ray = self.ray
        which, options = task_options(job, self.cpus_per_job, self.gpus_per_cuda_job)
        remote = remote_functions(ray, self.worker_fn)[which].options(**options)
        request = WorkerRequest(job, sandbox.sandbox_mode(), sandbox.fingerprint(), engine_version())
        with self._lock:
            self.stats["jobs"] += 1
        failures = []
        for attempt in range(self.retries + 1):
            with self._lock:
                self.stats["attempts"] += 1
                self.stats["retried"] += attempt > 0
            try:
                reply: WorkerReply = ray.get(remote.remote(request))
            except ray.exceptions.RayError as exc:  # infrastructure: the student's failures are inside a result
                failures.append(_describe(exc))
                continue
            with self._lock:
                self.workers.add((reply.node, reply.pid))
                self.stats[f"launcher:{reply.launcher}"] += 1
                if reply.note and not self.warning:
                    self.warning = f"{reply.note}; that worker runs a fresh Python per job (slower)"
            return reply.result
        with self._lock:
            self.stats["failed"] += 1
        raise RayJobFailed(f"the Ray cluster could not run this job ({len(failures)} attempts; last: {failures[-1]})",
                           "See the Ray logs of the workers (docs/ray.md); a re-run grades it again.")

    def close(self) -> None:
        """Disconnect, and stop the local Ray instance if this executor started it."""
        from grader.sandbox.devices import decide_cuda_elsewhere

        with self._lock:
            if self.cuda is not None:
                decide_cuda_elsewhere(self, None)
                self.cuda = None
            if self._owned and self.ray.is_initialized():
                self.ray.shutdown()
            self._owned = False

    def __enter__(self) -> "RayExecutor":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
