"""Speed tests: is the student's code within a multiple of the reference's time?

A case with a `performance` block gets a second, separately scored test, "<case> (speed)". The
student's function and the reference each run in a sandboxed child, on the same device, on the
case's inputs, through the same timing loop (`grader.sandbox.child.call_timed`: warm-up, fresh copies of
the inputs per run, CUDA synchronisation around each run, best of the timed runs). The
reference runs in a child of its own, never beside student code, so that its source cannot
leak into a student's process; its time is measured once per case and device per grader
process and shared by every student graded there (it depends on the sizes, not on the seed).

A speed test is a teaching check, not a security boundary: the student's time is measured
inside the student's process, so a determined student could forge it (see docs/threat-model.md).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import dataclasses
import threading
from dataclasses import dataclass

from grader.limits import Limits
from grader.sandbox.runner import Call, Executor, Job, RunStatus
from grader.problems.spec import Problem
from grader.problems.submission import Submission
from grader.problems.locations import private_paths

if TYPE_CHECKING:
    from grader.problems.bank import Bank

DEFAULTS = {"warmup": 2, "repeat": 10, "budget": 2.0, "weight": 1}
SUFFIX = " (speed)"


def speed_config(case: dict) -> dict | None:
    """The case's `performance` block with defaults filled in (None for a case without one)."""
    block = case.get("performance")
    return {**DEFAULTS, **block} if block else None


def speed_name(test_name: str) -> str:
    return test_name + SUFFIX


def speed_call(call: Call, config: dict, default_time: float) -> Call:
    """The timed call beside a case's call: same inputs and device, repeated in the child.

    Its time limit covers one run (the case's limit), the budget of repeats, and one run that
    starts just before the budget ends."""
    limit = call.time_limit or default_time
    return Call(name=speed_name(call.name), args=call.args, kwargs=call.kwargs, text=call.text,
                time_limit=2 * limit + float(config["budget"]), device=call.device, check_inputs=call.check_inputs,
                timing={k: config[k] for k in ("warmup", "repeat", "budget")})


def reference_submission(problem: Problem, bank: Bank, impl: str | None = None) -> tuple[Submission, str, str]:
    """The reference module, with its sibling modules, as files for a child: (files, module, function).

    `impl` names another trusted implementation (a mistake, a slow solution) instead."""
    module_name, _, func = (impl or problem.spec["reference"]).partition(":")
    files = {}
    for item in sorted(bank.reference_dir.rglob("*.py")):
        if "__pycache__" in item.parts:
            continue
        files["reference/" + item.relative_to(bank.reference_dir).as_posix()] = item.read_bytes()
    module = "reference/" + module_name.replace(".", "/") + ".py"
    label = impl or f"reference {problem.spec['reference']}"
    return Submission(label, files), module, func


@dataclass
class Measured:
    """The reference's time on one case and device, or why it could not be measured."""

    timing: dict | None
    error: str | None = None
    value: object = None  #: what the first run returned


_cache: dict[tuple, Measured] = {}
_locks: dict[tuple, threading.Lock] = {}
_guard = threading.Lock()


def time_trusted(problem: Problem, bank: Bank, executor: Executor, call: Call, limits: Limits,
                 impl: str | None = None) -> Measured:
    """Time a trusted implementation (the reference unless `impl`) on `call` in a child."""
    submission, module, func = reference_submission(problem, bank, impl)
    job = Job(files=submission.files, module=module, entry_point=func, framework=problem.framework,
              calls=[call], limits=limits, label=f"{submission.label}:{call.name}", hide=private_paths(getattr(bank, "root", None)))
    run = executor.run(job)
    if run.load_error is not None:
        return Measured(None, f"{submission.label} did not load: {run.load_error}")
    case_run = run.cases[0]
    if case_run.status is not RunStatus.OK or case_run.timing is None:
        return Measured(None, f"{submission.label} failed on this case: {case_run.status.value}: {case_run.message}")
    return Measured(case_run.timing, value=case_run.value)


def _timing_key(problem: Problem, call: Call, case: dict) -> tuple:
    """What a reference's time depends on: the problem, the case (its sizes), the device and the
    speed test's settings, not the seed."""
    return (str(problem.path), problem.id, case["name"], call.device, repr(sorted(case["performance"].items())))


def reference_timing(problem: Problem, bank: Bank, executor: Executor, call: Call, case: dict,
                     limits: Limits) -> Measured:
    """The reference's time for this case and device, measured once per process."""
    key = _timing_key(problem, call, case)
    with _guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # students graded in parallel wait for the one measurement instead of repeating it
        if key not in _cache:
            measured = time_trusted(problem, bank, executor, call, limits)
            measured.value = None  # only the time is shared
            _cache[key] = measured
        return _cache[key]


def known_timing(problem: Problem, call: Call, case: dict) -> dict | None:
    """The reference's time for this case and device if this process has measured it already
    (reference_timing), without measuring it."""
    with _guard:
        measured = _cache.get(_timing_key(problem, call, case))
    return measured.timing if measured is not None else None


#: a student's timed runs stop once their best is within this share of the allowed time: past
#: it, more runs could not change a pass, and the feedback's ratio is still well inside the limit
EARLY_STOP_SHARE = 0.5


def stopping_call(call: Call, config: dict, reference: dict) -> Call:
    """The speed test's call, told to stop timing once the student's best run is clearly within
    the limit (`enough`, see child.call_timed): code well within it runs warm-up plus one timed
    run instead of all of them. Code near or over the limit gets every run, as before."""
    enough = EARLY_STOP_SHARE * float(config["max_ratio"]) * reference["best"]
    return dataclasses.replace(call, timing={**call.timing, "enough": enough})


def forget_timings() -> None:
    """Drop the measured reference times (tests; a long-lived process after a load change)."""
    with _guard:
        _cache.clear()


def describe(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def judge(config: dict, device: str, student: dict, reference: dict) -> tuple[bool, str, dict]:
    """(passed, message, timing record) for a student's and the reference's measurements."""
    ratio = student["best"] / max(reference["best"], 1e-9)
    limit = float(config["max_ratio"])
    record = {"seconds": student["best"], "median": student["median"], "runs": student["runs"],
              "reference_seconds": reference["best"], "reference_runs": reference["runs"],
              "ratio": ratio, "max_ratio": limit, "device": device}
    times = (f"your code {describe(student['best'])} (best of {student['runs']}), the reference "
             f"{describe(reference['best'])} on {device}: {ratio:.1f}× the reference's time")
    if ratio <= limit:
        return True, f"{times}, within the {limit:g}× allowed", record
    advice = config.get("feedback") or ("Look for Python loops over elements, rows or batches and replace "
                                        "them with whole-tensor operations.")
    return False, f"too slow: {times}; at most {limit:g}× is allowed.\n{advice}", record
