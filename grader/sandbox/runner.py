"""Running a submission's calls in a child process and reading back what it returned.

This is the trusted side of the boundary described in design.md. A `Job` is plain data (the
submission's files, the entry point, the inputs of each case, the limits); an `Executor` runs
it in one or more child processes and returns a `RunResult`: one `CaseRun` per call, each
with the decoded output or the reason there is none (exception, time limit, crash...).
Anything the student's code causes is a result here, never an exception.

The executor starts a child, feeds it the request, then reads result frames with a deadline
per case. When a case hangs or kills its process, that case is marked and the remaining
cases go to a fresh child, so one bad case costs only its own points.
"""
from __future__ import annotations

import contextlib
import enum
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from grader.sandbox import codec
from grader.sandbox import confine as sandbox
from grader.sandbox.forbidden_runtime import ForbiddenUse
from grader.sandbox.home import GRADER_HOME, grader_import_root  # noqa: F401 - grader_import_root lived here
from grader.sandbox.lru import LRUCache
from grader.limits import Limits


class RunStatus(str, enum.Enum):
    """How one call ended in the child."""

    OK = "ok"                  #: returned a value (not yet compared)
    EXCEPTION = "exception"    #: raised
    SIGNATURE = "signature"    #: the function cannot be called with the case's arguments
    BAD_OUTPUT = "bad_output"  #: returned something the grader does not accept
    TIMEOUT = "timeout"        #: passed the wall-time limit
    MEMORY = "memory"          #: ran out of memory
    CPU = "cpu"                #: passed the CPU-time limit
    CRASHED = "crashed"        #: the process died (signal, os._exit, ...)
    NOT_RUN = "not_run"        #: never reached (the submission did not load)


@dataclass
class Call:
    """One case's call of the student's function."""

    name: str
    args: list
    kwargs: dict
    text: str            #: how it reads, e.g. "sigmoid_backward(x, grad_output)"
    time_limit: float | None = None
    device: str = "cpu"  #: where the child puts the tensor arguments before the call
    timing: dict | None = None  #: a speed test: {"warmup", "repeat", "budget", "enough"} (grader/kinds/function/performance.py)
    check_inputs: bool = False  #: the child reports which arguments the call changed in place
    #: what the child does for this case in a job whose `mode` is not "calls" (plain data, e.g. grader/child_module.py)
    plan: dict | None = None


@dataclass
class Job:
    """Everything a child needs, and nothing secret."""

    files: dict[str, bytes]
    module: str
    entry_point: str
    framework: str
    calls: list[Call]
    limits: Limits = field(default_factory=Limits)
    label: str = ""
    forbidden: list[str] = field(default_factory=list)  #: APIs the child watches (grader/sandbox/forbidden_runtime.py)
    hide: list[str] = field(default_factory=list)  #: folders the child must never see (the bank's; problems.bank.private_paths)
    #: "calls": each case calls the entry point once; another kind's mode runs its cases in grader/sandbox/child_<mode>.py
    mode: str = "calls"
    #: folders of `files` the child may read and not write (a problem's fixtures), e.g. ["fixtures"]
    readonly: list[str] = field(default_factory=list)

    @property
    def cuda(self) -> bool:
        """Whether a call runs on a CUDA device (the child then gets the GPU, see sandbox)."""
        return any(c.device.startswith("cuda") for c in self.calls)


@dataclass
class CaseRun:
    name: str
    status: RunStatus
    value: Any = None
    message: str = ""
    seconds: float | None = None
    timing: dict | None = None  #: a speed test's measurements: {"best", "median", "runs"} in seconds
    #: where each tensor of `value` was in the child ({"output[0]": "cuda:0"}); `value` itself is on the CPU
    devices: dict[str, str] = field(default_factory=dict)
    #: arguments the call changed in place, as the child reported them: positions and keyword names
    mutated: list = field(default_factory=list)


@dataclass
class RunResult:
    cases: list[CaseRun]
    load_error: str | None = None
    load_error_kind: str | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_dropped: int = 0
    stderr_dropped: int = 0
    wall: float = 0.0
    children: int = 0
    limits_hit: list[str] = field(default_factory=list)
    #: forbidden APIs the child saw the student's code call; a backstop: none seen proves nothing
    forbidden_calls: list[ForbiddenUse] = field(default_factory=list)


class Executor(Protocol):
    """Runs jobs. The local fresh-process executor and the warm fork server both fit."""

    def run(self, job: Job) -> RunResult: ...


class ChildHandle(Protocol):
    """A started child: the pipes to read and a way to end it and everything it started."""

    pid: int
    result_fd: int
    stdout_fd: int
    stderr_fd: int

    def kill(self) -> None: ...
    def wait(self, timeout: float) -> int | None: ...
    def close(self) -> None: ...


class CappedBuffer:
    """Keeps the first `limit` bytes of a stream and counts the rest (a flood costs nothing)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.data = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        return self.data.decode("utf-8", errors="backslashreplace")


def request_frame(job: Job, calls: list[Call], workdir: str, result_fd: int) -> bytes:
    header = {"framework": job.framework, "workdir": workdir, "module": job.module,
              "entry_point": job.entry_point, "limits": job.limits.as_dict(), "result_fd": result_fd,
              "sandbox": sandbox.child_config(workdir, job), "cuda": job.cuda,
              "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "forbidden": list(job.forbidden),
              "mode": job.mode}
    return codec.frame(encoded_calls([calls], nested=False), header=header)


BATCH_ENV = "GRADER_BATCH"


def batch_mode() -> str:
    """GRADER_BATCH: "on" (the default: a student's problems one after another in one child's
    worker, see child.serve_batch), "processes" (each problem of a batch in a process of its own
    forked by the worker) or "off" (every job in a child of its own, as before batching)."""
    value = os.environ.get(BATCH_ENV, "on").strip().lower()
    if value in ("0", "off", "no", "false"):
        return "off"
    return "processes" if value == "processes" else "on"


def problem_processes() -> bool:
    return batch_mode() == "processes"


def batch_limits(job: Job):
    """A batch's limits: a job's, and with a process per problem, the one process more that the
    worker then is, so each problem may start as many as alone."""
    return job.limits.with_overrides({"processes": job.limits.processes + 1}) if problem_processes() else job.limits


def batch_payload(jobs: list[Job]) -> codec.Encoded:
    """A batch's calls, each job's, encoded once for every student given the same prepared calls
    (a fork server may have them decoded already: see `batch_frame`)."""
    return encoded_calls([job.calls for job in jobs], nested=True)


def batch_frame(header: dict, payload: codec.Encoded, held: bool = False) -> bytes:
    """The request of a batch (`run_batch`): `batch_request_header` and the calls, or, `held`,
    only the header naming the calls by key, for a child forked from a template that holds them
    decoded (forkserver: a cgroup set's template holding a class's calls)."""
    if held:
        return codec.frame(_NO_CALLS, header={**header, "payload": payload.key})
    return codec.frame(payload, header=header)


_NO_CALLS = codec.encode_value(None)


def batch_request_header(jobs: list[Job], workdir: str, result_fd: int) -> dict:
    """A batch request's header: the first job's, with each job's own fields under "batch"."""
    first = jobs[0]
    limits = batch_limits(first)
    return {"framework": first.framework, "workdir": workdir, "module": first.module,
            "entry_point": first.entry_point, "limits": limits.as_dict(), "result_fd": result_fd,
            "sandbox": sandbox.child_config(workdir, first), "cuda": False,
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "forbidden": list(first.forbidden),
            "mode": "calls", "problem_processes": problem_processes(),
            "batch": [{"framework": j.framework, "module": j.module, "entry_point": j.entry_point,
                       "forbidden": list(j.forbidden), "mode": "calls"} for j in jobs]}


def call_payload(c: Call) -> dict:
    """What the child is told of a call."""
    return {"name": c.name, "args": list(c.args), "kwargs": dict(c.kwargs), "call": c.text, "device": c.device,
            "timing": c.timing, "check_inputs": c.check_inputs, "plan": c.plan}


#: Call lists encoded once (see `encoded_calls`), least recently used out first, within these bounds.
ENCODED_LISTS = 64
ENCODED_BYTES = 64 << 20
#: (nested, the calls' ids) -> (the calls, their encoding), sized by the encoding; one larger than
#: a quarter of the bound is not kept.
_ENCODED = LRUCache(ENCODED_LISTS, ENCODED_BYTES, max_item_bytes=ENCODED_BYTES // 4)


def encoded_calls(call_lists: list[list[Call]], nested: bool) -> codec.Encoded:
    """The request's payload: each job's calls (`nested`), or the one job's, encoded.

    A class sends every student the same prepared Call objects (their inputs are made once per
    problem and seed, and never changed), so the encoding is kept by the identity of the calls;
    the entry holds the calls themselves, so no other object can take their ids while it lives."""
    key = (nested, tuple(tuple(map(id, calls)) for calls in call_lists))
    cached = _ENCODED.get(key)
    if cached is not None:
        cached[1].reused = True
        return cached[1]
    lists = [[call_payload(c) for c in calls] for calls in call_lists]
    encoded = codec.encode_value(lists if nested else lists[0])
    _ENCODED.put(key, ([list(calls) for calls in call_lists], encoded), encoded.size)
    return encoded


SIGNAL_MEANINGS = {
    signal.SIGXCPU: (RunStatus.CPU, "used more CPU time than allowed ({cpu:g} s)"),
    signal.SIGXFSZ: (RunStatus.CRASHED, "wrote a file larger than allowed ({file_size_mb} MB)"),
    signal.SIGSEGV: (RunStatus.CRASHED, "crashed with a segmentation fault (very deep recursion?)"),
    signal.SIGKILL: (RunStatus.MEMORY, "was killed (SIGKILL): it used more memory than allowed ({memory_mb} MB), "
                                       "or it killed itself"),
    signal.SIGABRT: (RunStatus.CRASHED, "aborted (SIGABRT)"),
}


def describe_death(returncode: int | None, limits: Limits) -> tuple[RunStatus, str]:
    """Why a child that stopped talking is gone."""
    if returncode is None:
        return RunStatus.CRASHED, "stopped responding"
    if returncode < 0:
        sig = -returncode
        if sig in SIGNAL_MEANINGS:
            status, text = SIGNAL_MEANINGS[signal.Signals(sig)]
            return status, text.format(**limits.as_dict())
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return RunStatus.CRASHED, f"was killed by {name}"
    return RunStatus.CRASHED, (f"exited (status {returncode}) before returning a result; "
                               "do not call os._exit or exit the process from your code")


@dataclass
class _Attempt:
    """What one child managed before it finished or was stopped."""

    runs: list[CaseRun] = field(default_factory=list)
    load_error: str | None = None
    load_error_kind: str | None = None
    finished: bool = False
    limit_hit: str | None = None
    forbidden_calls: list[ForbiddenUse] = field(default_factory=list)
    result_bytes: int = 0          #: bytes of the frames read (they count against the job's results budget)
    budget_spent: bool = False     #: stopped because the job's results passed `result_mb`
    #: a batch's "problem_end" frame (see `run_batch`): how this problem's process ended, as its worker saw it
    problem_end: dict | None = None


def budget_message(limits: Limits) -> str:
    return (f"the results of this submission's cases together passed the {limits.result_mb} MB the grader accepts "
            f"(result_mb); this case and the ones after it are not graded. Return smaller values")


def collect(handle: ChildHandle, calls: list[Call], limits: Limits,
            out: CappedBuffer, err: CappedBuffer, budget: int | None = None, batch: bool = False) -> _Attempt:
    """Read frames from a started child until it is done, hangs or dies.

    `budget`: bytes of frames this child may still send (what the job's earlier children left of
    `result_mb`), so that restarted children cannot make the grader hold more than one job's worth.
    `batch`: the child is a batch's (`run_batch`): after "done" or "load_error" read on until its
    "problem_end" frame (in `attempt.problem_end`); one that comes earlier ends the attempt too."""
    attempt = _Attempt()
    budget = limits.result_mb << 20 if budget is None else budget
    reader = codec.FrameReader(max_frame_bytes=limits.result_mb << 20, max_total_bytes=budget)
    sel = selectors.DefaultSelector()
    sinks = {handle.result_fd: None, handle.stdout_fd: out, handle.stderr_fd: err}
    for fd in sinks:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    ready = False
    deadline = time.monotonic() + limits.load_time

    def case_deadline() -> float:
        index = len(attempt.runs)
        limit = calls[index].time_limit if index < len(calls) and calls[index].time_limit else limits.time
        return time.monotonic() + limit

    def fail_current(status: RunStatus, message: str) -> None:
        if not ready:
            attempt.load_error, attempt.load_error_kind = message, status.value
        elif len(attempt.runs) < len(calls):
            attempt.runs.append(CaseRun(calls[len(attempt.runs)].name, status, message=message))

    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                handle.kill()
                if batch and (attempt.finished or attempt.load_error is not None):
                    return attempt  # no "problem_end" in time: the problem is graded again alone
                limit = limits.load_time if not ready else (calls[len(attempt.runs)].time_limit or limits.time)
                what = "loading the submission" if not ready else "this case"
                fail_current(RunStatus.TIMEOUT, f"time limit: {what} took longer than {limit:g} s "
                                                "(an infinite loop, or far too slow?)")
                attempt.limit_hit = "time"
                return attempt
            result_open = False
            for key, _ in sel.select(timeout=min(remaining, 0.5)):
                fd = key.fd
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(fd)
                    continue
                if sinks[fd] is not None:
                    sinks[fd].add(chunk)
                    continue
                try:
                    frames = reader.feed(chunk)
                    attempt.result_bytes += sum(len(f) for f in frames)
                    # outputs come back on the CPU: the grader never initialises CUDA (grader/sandbox/devices.py)
                    decoded = [codec.decode(f, max_bytes=limits.result_mb << 20, restore_devices=False)
                               for f in frames]
                except codec.StreamTooLong:
                    handle.kill()
                    attempt.budget_spent = True
                    fail_current(RunStatus.BAD_OUTPUT, budget_message(limits))
                    return attempt
                except codec.DecodeError as exc:
                    handle.kill()
                    fail_current(RunStatus.BAD_OUTPUT, f"sent data the grader cannot accept: {exc}")
                    return attempt
                for header, value in decoded:
                    kind = header.get("type")
                    if batch and kind == "problem_end":  # nothing may follow it before the grader says go
                        clean = reader.pending == 0 and header is decoded[-1][0]
                        attempt.problem_end = header if clean else None
                        return attempt
                    if batch and (attempt.finished or attempt.load_error is not None):
                        continue  # only "problem_end" may follow the end of a problem
                    for use in read_forbidden_calls(header.get("forbidden")):
                        if use not in attempt.forbidden_calls and len(attempt.forbidden_calls) < MAX_FORBIDDEN_CALLS:
                            attempt.forbidden_calls.append(use)
                    if kind == "ready" and not ready:
                        ready = True
                        deadline = case_deadline()
                    elif kind == "load_error" and not ready:
                        attempt.load_error = header_text(header.get("message", "the submission could not be loaded"))
                        kind_text = header.get("kind")
                        attempt.load_error_kind = kind_text if _is_one_of(kind_text, LOAD_ERROR_KINDS) else "exception"
                        if attempt.load_error_kind == "memory":
                            attempt.limit_hit = "memory"
                        if batch:
                            deadline = time.monotonic() + PROBLEM_END_SECONDS
                            continue
                        return attempt
                    elif kind == "case" and ready and len(attempt.runs) < len(calls) \
                            and header.get("name") == calls[len(attempt.runs)].name:
                        run = read_case(header, value, calls[len(attempt.runs)].name)
                        attempt.runs.append(run)
                        if run.status is RunStatus.MEMORY:
                            attempt.limit_hit = "memory"
                        deadline = case_deadline()
                    elif kind == "done" and ready and len(attempt.runs) == len(calls):
                        attempt.finished = True
                        if batch:
                            deadline = time.monotonic() + PROBLEM_END_SECONDS
                            continue
                        return attempt
                    elif kind == "crash":
                        fail_current(RunStatus.CRASHED, f"the grader's helper failed: {header_text(header.get('message'))}")
                        return attempt
                    # Anything else (frames out of order, forged names) is ignored: only data counts.
            result_open = handle.result_fd in sel.get_map()
            if not result_open:
                returncode = handle.wait(timeout=5)
                status, text = describe_death(returncode, limits)
                if status in (RunStatus.MEMORY, RunStatus.CPU):
                    attempt.limit_hit = status.value
                what = "while loading" if not ready else "during this case"
                fail_current(status, f"the process {text} {what}")
                return attempt
    finally:
        sel.close()


MAX_FORBIDDEN_CALLS = 20
PROBLEM_END_SECONDS = 10.0  #: how long a batch's worker may take to see a finished problem's process off


def read_forbidden_calls(data) -> list[ForbiddenUse]:
    """The forbidden calls a frame reports, those well formed (short strings, a line number)."""
    if not isinstance(data, list):
        return []
    uses = []
    for item in data[:MAX_FORBIDDEN_CALLS]:
        if not isinstance(item, dict):
            continue
        api, name, file, line = (item.get(k) for k in ("api", "name", "file", "line"))
        if not all(isinstance(v, str) and 0 < len(v) <= 200 and v.isprintable() for v in (api, name, file)):
            continue
        if type(line) is not int or not 0 <= line <= 10**7:
            continue
        uses.append(ForbiddenUse(api, name, file, line, 0))
    return uses


# Bounds on what a case frame's header may say. The child is the student's process: it can write
# any frame it likes to the result pipe, so every number is checked before the grader uses it.
MAX_SECONDS = 1e6          #: no case (nor any run of a speed test) takes 11 days: a larger time is forged
MAX_TIMED_RUNS = 1_000_000
MAX_MESSAGE_CHARS = 20_000  #: a message from the child (traceback, load error) is cut here
_STATUS_VALUES = {s.value for s in RunStatus}
LOAD_ERROR_KINDS = {"syntax", "exception", "missing", "not_callable", "signature", "memory"}  #: as grader/sandbox/child.py sends


def _is_one_of(value: Any, names: set[str]) -> bool:
    return isinstance(value, str) and value in names  # a forged list or dict would not even hash


class UnreadableFrame(ValueError):
    """A case frame whose header says something the grader cannot believe (the student's failure)."""


def _time_value(value: Any, what: str) -> float:
    """A duration in seconds from a frame: a finite number between 0 and MAX_SECONDS."""
    if type(value) not in (int, float) or not 0 <= value <= MAX_SECONDS:  # NaN fails both comparisons
        raise UnreadableFrame(f"its {what} is {_clip_repr(value)}, not a time in seconds (0 to {MAX_SECONDS:g})")
    return float(value)


def _clip_repr(value: Any, limit: int = 40) -> str:
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 1000 else "a huge integer"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def header_text(value: Any, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message from the child as text every renderer can write: cut to `limit` characters, and
    lone surrogates (which JSON can carry but UTF-8 cannot) written as escapes, e.g. \\ud800."""
    text = value if isinstance(value, str) else repr(value)
    cut = len(text) - limit
    if cut > 0:
        text = text[:limit] + f"\n[... {cut} more characters not shown]"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def read_case(header: dict, value: Any, name: str) -> CaseRun:
    """The CaseRun a "case" frame describes, or a BAD_OUTPUT one if its header cannot be believed."""
    status_text = header.get("status")
    message = header_text(header.get("message", ""))
    try:
        if not _is_one_of(status_text, _STATUS_VALUES):
            raise UnreadableFrame(f"its status is {_clip_repr(status_text)}")
        status = RunStatus(status_text)
        seconds = header.get("seconds")
        seconds = None if seconds is None else _time_value(seconds, "'seconds'")
        timing = read_timing(header.get("timing"), strict=True)
    except UnreadableFrame as exc:
        return CaseRun(name, RunStatus.BAD_OUTPUT, message=f"the result could not be read: {exc}")
    ok = status is RunStatus.OK
    return CaseRun(name, status, value=value if ok else None, message=message, seconds=seconds, timing=timing,
                   devices=header["tensor_devices"] if ok else {}, mutated=read_mutated(header.get("mutated")) if ok else [])


def read_mutated(data) -> list:
    """The changed arguments a case frame lists, if well formed (a few ints and short names)."""
    if not isinstance(data, list) or len(data) > 64:
        return []
    return [x for x in data if (type(x) is int and 0 <= x < 1024)
            or (type(x) is str and len(x) <= 100 and x.isprintable())]


def read_timing(data, strict: bool = False) -> dict | None:
    """A speed test's measurements from a case frame, if well formed: None when absent or, unless
    `strict` (then UnreadableFrame), when malformed."""
    if data is None:
        return None
    try:
        if not isinstance(data, dict) or not {"best", "median", "runs"} <= data.keys():
            raise UnreadableFrame("its timing is not a record of best, median and runs")
        runs = data["runs"]
        if type(runs) is not int or not 1 <= runs <= MAX_TIMED_RUNS:
            raise UnreadableFrame(f"its timing's runs is {_clip_repr(runs)}, not a count (1 to {MAX_TIMED_RUNS})")
        return {"best": _time_value(data["best"], "timing's best"),
                "median": _time_value(data["median"], "timing's median"), "runs": runs}
    except UnreadableFrame:
        if strict:
            raise
        return None


def drain(fd: int, sink: CappedBuffer) -> None:
    """Read what is left in a pipe without waiting."""
    try:
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return
            sink.add(chunk)
    except (BlockingIOError, OSError):
        return


def run_with(launch, job: Job) -> RunResult:
    """Run `job` with `launch(job, calls, workdir) -> ChildHandle`, restarting after a lost case.

    All the job's children together may send `result_mb` of frames: the decoded values of every
    case are kept until the job ends, so this bounds the grader's memory per job."""
    start = time.monotonic()
    budget = job.limits.result_mb << 20
    out = CappedBuffer(job.limits.output_kb * 1024)
    err = CappedBuffer(job.limits.output_kb * 1024)
    result = RunResult(cases=[])
    remaining = list(job.calls)
    workdir = sandbox.make_workdir(job.files, readonly=job.readonly)
    box = sandbox.prepare(job.limits, workdir, job.hide)  # parent-side confinement (cgroups), cleaned up below
    try:
        first = True
        while first or remaining:
            first = False
            handle = launch(job, remaining, workdir)
            result.children += 1
            try:
                attempt = collect(handle, remaining, job.limits, out, err, budget)
            finally:
                handle.kill()
                drain(handle.stdout_fd, out)
                drain(handle.stderr_fd, err)
                handle.close()
            if attempt.limit_hit and attempt.limit_hit not in result.limits_hit:
                result.limits_hit.append(attempt.limit_hit)
            result.cases.extend(attempt.runs)
            result.forbidden_calls += [u for u in attempt.forbidden_calls if u not in result.forbidden_calls]
            budget -= attempt.result_bytes
            if attempt.budget_spent:  # nothing more can be accepted: the rest fail without another child
                result.cases.extend(CaseRun(c.name, RunStatus.BAD_OUTPUT, message=budget_message(job.limits))
                                    for c in remaining[len(attempt.runs):])
                break
            if attempt.load_error is not None:
                result.load_error, result.load_error_kind = attempt.load_error, attempt.load_error_kind
                break
            remaining = remaining[len(attempt.runs):]
            if attempt.finished:
                break
    finally:
        box.cleanup()
        sandbox.remove_workdir(workdir)
    return _finish(result, job, out, err, start)


def batch_key(job: Job):
    """Jobs with the same key (and mode "calls", no CUDA) can share one child: one work folder
    (the same files and read-only folders), the same hidden folders, rlimits and cgroups."""
    if job.mode != "calls" or job.cuda:
        return None
    return (tuple(sorted(job.files.items())), tuple(job.readonly), tuple(job.hide),
            tuple(sorted(job.limits.as_dict().items())))


def run_batches(launch, launch_batch, jobs: list[Job]) -> list[RunResult]:
    """`run_batch` on each set of `jobs` that can share a child (`batch_key`); the others alone."""
    groups: dict = {}
    for index, job in enumerate(jobs):
        key = batch_key(job)
        groups.setdefault(key if key is not None else ("alone", index), []).append(index)
    results: list[RunResult | None] = [None] * len(jobs)
    for key, indices in groups.items():
        for index, result in zip(indices, run_batch(launch, launch_batch, [jobs[i] for i in indices])):
            results[index] = result
    return results


def batchable(jobs: list[Job]) -> bool:
    """Whether `jobs` (one student's) can share one child (see `batch_key`)."""
    return len(jobs) > 1 and batch_key(jobs[0]) is not None and all(batch_key(j) == batch_key(jobs[0]) for j in jobs)


def run_batch(launch, launch_batch, jobs: list[Job]) -> list[RunResult]:
    """Run one student's `jobs` in one child (`launch_batch(jobs, workdir) -> handle` with a
    `go()`), one problem after another in the child's worker (child.serve_batch), each with its
    own output, limits and results; return one RunResult per job, as `run_with` would.

    Only a problem that ended cleanly counts: its cases all answered (or its module failed to
    load), no limit hit, and it left nothing behind in the worker's process or the sandbox (the
    worker's "problem_end" says so). The first problem that did not, and every problem after it, are
    run again alone with `run_with(launch, job)`, and only that result counts; so whatever one
    problem does, the others' results are what they would have been alone."""
    results: list[RunResult | None] = [None] * len(jobs)
    if batchable(jobs):
        first = jobs[0]
        limits = batch_limits(first)
        workdir = sandbox.make_workdir(first.files, readonly=first.readonly)
        box = sandbox.prepare(limits, workdir, first.hide)
        try:
            handle = launch_batch(jobs, workdir)
            try:
                for index, job in enumerate(jobs):
                    if index and not handle.go():
                        break
                    result = _collect_problem(handle, job)
                    if result is None:
                        break
                    results[index] = result
            finally:
                handle.kill()
                handle.close()
        finally:
            box.cleanup()
            sandbox.remove_workdir(workdir)
    return [result if result is not None else run_with(launch, job) for job, result in zip(jobs, results)]


#: case outcomes after which a batch's problem is graded again alone (a limit hit, a process gone)
_NOT_IN_BATCH = (RunStatus.TIMEOUT, RunStatus.MEMORY, RunStatus.CPU, RunStatus.CRASHED, RunStatus.NOT_RUN)


def _collect_problem(handle, job: Job) -> RunResult | None:
    """One problem of a batch: its RunResult, or None when it did not end cleanly."""
    start = time.monotonic()
    out = CappedBuffer(job.limits.output_kb * 1024)
    err = CappedBuffer(job.limits.output_kb * 1024)
    attempt = collect(handle, job.calls, job.limits, out, err, batch=True)
    end = attempt.problem_end
    if (end is None or end.get("clean") is not True or end.get("exit") != 0 or attempt.limit_hit
            or attempt.budget_spent or attempt.result_bytes > job.limits.result_mb << 20
            or not (attempt.finished or attempt.load_error is not None)
            or any(r.status in _NOT_IN_BATCH for r in attempt.runs)):
        return None
    drain(handle.stdout_fd, out)  # all the problem wrote is in the pipes: the worker flushed before its problem_end
    drain(handle.stderr_fd, err)
    result = RunResult(cases=list(attempt.runs), load_error=attempt.load_error,
                       load_error_kind=attempt.load_error_kind, children=1,
                       forbidden_calls=list(attempt.forbidden_calls))
    return _finish(result, job, out, err, start)


def _finish(result: RunResult, job: Job, out: CappedBuffer, err: CappedBuffer, start: float) -> RunResult:
    """The calls never answered marked NOT_RUN, the output and the wall time filled in."""
    done = {r.name for r in result.cases}
    for call in job.calls:
        if call.name not in done:
            result.cases.append(CaseRun(call.name, RunStatus.NOT_RUN, message=result.load_error or "not run"))
    result.stdout, result.stderr = out.text(), err.text()
    result.stdout_dropped, result.stderr_dropped = out.dropped, err.dropped
    result.wall = time.monotonic() - start
    return result


class _PopenHandle:
    """A child started as a fresh Python interpreter."""

    def __init__(self, proc: subprocess.Popen, result_fd: int):
        self.proc = proc
        self.pid = proc.pid
        self.result_fd = result_fd
        self.stdout_fd = proc.stdout.fileno()
        self.stderr_fd = proc.stderr.fileno()

    def kill(self) -> None:
        sandbox.kill_tree(self.proc.pid)
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        self.kill()
        self.wait(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()
        try:
            os.close(self.result_fd)
        except OSError:
            pass


CHILD_CODE = ("import sys; sys.path.append({home!r}); "
              "from grader.sandbox.child import main; main()")


def launch_fresh(job: Job, calls: list[Call], workdir: str) -> _PopenHandle:
    """Start a fresh `python -I` child (isolated mode: no PYTHON* variables, no user site)."""
    read_fd, write_fd = os.pipe()
    frame = request_frame(job, calls, workdir, write_fd)
    proc = subprocess.Popen(
        [sys.executable, "-I", "-c", CHILD_CODE.format(home=GRADER_HOME)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        pass_fds=(write_fd,), cwd=workdir, env=sandbox.child_env(workdir),
        start_new_session=True, close_fds=True)
    os.close(write_fd)

    def feed():
        try:
            proc.stdin.write(frame)
        except (BrokenPipeError, OSError):
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    threading.Thread(target=feed, daemon=True).start()
    return _PopenHandle(proc, read_fd)


#: Outcomes a busy neighbour can cause (a slow machine, not slow code): wall-time limits and speed tests.
NEIGHBOUR_OUTCOMES = ("timeout", "slow")


def hit_neighbour_limit(result) -> bool:
    """Whether a graded result (a ProblemResult) lost marks to a limit a neighbour could trigger."""
    return "time" in (result.limits_hit or []) or any(t.outcome in NEIGHBOUR_OUTCOMES for t in result.tests)


class Slot:
    """What `AloneGate.shared` tells its caller once the job is done."""

    crowded = False  #: another job of this gate ran at some point while this one did


class AloneGate:
    """Jobs run side by side (`shared`), or one runs alone (`alone`: waits for the running ones to
    finish and holds new ones back until it is done). A class run grades a result that hit the
    wall-time limit while crowded once more, alone, so that only a reproducible timeout counts."""

    def __init__(self):
        self._cond = threading.Condition()
        self._active = 0
        self._started = 0
        self._alone = False
        self._waiting = 0

    @contextlib.contextmanager
    def shared(self):
        slot = Slot()
        with self._cond:
            while self._alone or self._waiting:
                self._cond.wait()
            self._active += 1
            self._started += 1
            mark = self._started
            slot.crowded = self._active > 1
        try:
            yield slot
        finally:
            with self._cond:
                slot.crowded = slot.crowded or self._started != mark
                self._active -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def alone(self):
        with self._cond:
            self._waiting += 1
            while self._active or self._alone:
                self._cond.wait()
            self._waiting -= 1
            self._alone = True
        try:
            yield
        finally:
            with self._cond:
                self._alone = False
                self._cond.notify_all()


class SubprocessExecutor:
    """One fresh Python per submission: simple and slow to start (each child imports torch)."""

    def run(self, job: Job) -> RunResult:
        return run_with(launch_fresh, job)
