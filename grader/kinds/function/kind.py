"""Kind `function`: the student writes a function; each case calls it on generated inputs.

Inputs and expected outputs are made here, in the trusted process; the student's function runs
in a child (grader.sandbox.runner) and only its returned data comes back to be compared.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import contextlib
import threading
import time
import zlib
from dataclasses import dataclass, field

from grader.compare import tensors as cmp
from grader.kinds.function import performance
from grader.compare.tolerance import EXACT
from grader.sandbox.values import map_leaves
from grader.kinds.function.gradcheck import gradcheck_cases
from grader.errors import SpecError
from grader.problems.inputs import Argument, case_arguments
from grader.limits import Limits
from grader.result import ProblemResult, Status, TestResult, split_points
from grader.sandbox.runner import Call, CaseRun, Executor, Job, RunStatus
from grader.problems.spec import Problem
from grader.problems.source import check_sources
from grader.problems.submission import Submission, find_module
from grader.problems.locations import private_paths
from grader.kinds.precision import cast_like, clone, map_arrays, upcast
from grader.kinds.student_run import RUN_OUTCOMES, bounded_output, exception_hint, forbidden_message, static_error

if TYPE_CHECKING:
    from grader.problems.bank import Bank


@dataclass
class PreparedCase:
    """One case, ready to run: its arguments, the call, the expected output."""

    case: dict
    args: list[Argument]
    call: Call | None
    expected: Any
    device: str = "cpu"
    skipped: str | None = None  #: why this case does not run here (its device is not available)
    speed: dict | None = None  #: a speed test's settings (grader/kinds/function/performance.py); None for a correctness test
    #: known mistakes' outputs on this case, computed once and shared by every student graded with it
    mistake_outputs: dict = field(default_factory=dict, repr=False, compare=False)
    #: what `case_tolerances` and `expected_coarsest` worked out for this case, kept for the next student
    derived: dict = field(default_factory=dict, repr=False, compare=False)
    #: the problem's expected outputs on disk (grader.problems.expected_cache.ExpectedOutputs), which
    #: keep the known mistakes' outputs too, for the next run; None where the cases came from elsewhere
    stored: Any = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        name = test_name(self.case["name"], self.device)
        return performance.speed_name(name) if self.speed else name

    @property
    def visible(self) -> bool:
        return bool(self.case.get("visible", False))

    @property
    def weight(self) -> float:
        return float(self.speed["weight"] if self.speed else self.case.get("weight", 1))


_TRUSTED_RANDOM = threading.Lock()  #: the random state is the process's: one trusted call at a time


@contextlib.contextmanager
def fixed_random_state(func):
    """Python's, numpy's and torch's (CPU) random state seeded from the function's name for the
    call, then put back: a reference or known mistake whose output is random (an initialiser)
    gives the same output in every run and every thread, so a mistake is recognised, or not, the
    same way each time `grader validate` runs."""
    import random

    import numpy as np
    import torch

    seed = zlib.crc32(f"{getattr(func, '__module__', '')}:{getattr(func, '__qualname__', repr(func))}".encode())
    with _TRUSTED_RANDOM, torch.random.fork_rng(devices=[]):
        saved_numpy, saved_python = np.random.get_state(), random.getstate()
        torch.default_generator.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(saved_numpy)
            random.setstate(saved_python)


def evaluate(func, args: list[Argument], precision: str, where: str):
    """Call a trusted implementation on copies of the arguments, in the chosen precision, with a
    fixed random state (`fixed_random_state`)."""
    positional = [a.value for a in args if not a.keyword]
    keywords = {a.name: a.value for a in args if a.keyword}
    try:
        with fixed_random_state(func):
            native = func(*clone(positional), **clone(keywords))
        if precision == "native":
            return native
        with fixed_random_state(func):
            high = func(*upcast(positional), **upcast(keywords))
    except SpecError:
        raise
    except Exception as exc:
        raise SpecError(f"{where} failed: {type(exc).__name__}: {exc}",
                        "The reference must run on every case; fix reference/ or the case.") from None
    return cast_like(high, native, where)


def call_text(problem: Problem, args: list[Argument]) -> str:
    parts = [f"{a.name}={a.name}" if a.keyword else a.name for a in args]
    return f"{problem.entry_point}({', '.join(parts)})"


def make_call(problem: Problem, case: dict, args: list[Argument], device: str = "cpu") -> Call:
    """The child's call for one case on one device."""
    return Call(name=test_name(case["name"], device), args=[a.value for a in args if not a.keyword],
                kwargs={a.name: a.value for a in args if a.keyword}, text=call_text(problem, args),
                time_limit=case.get("time_limit"), device=device, check_inputs=bool(strictness(problem)["pure"]))


def test_name(case_name: str, device: str) -> str:
    """A test's name: the case's, with the device when it is not the CPU ("small [cuda]")."""
    return case_name if device == "cpu" else f"{case_name} [{device}]"


def case_devices(problem: Problem, case: dict) -> list[str]:
    """The devices a case is meant to run on: the case's list, else the problem's, else the CPU."""
    return list(case.get("devices") or problem.spec.get("devices") or ["cpu"])


def prepare_cases(problem: Problem, bank: Bank, seed: int = 0, device: str = "all") -> list[PreparedCase]:
    """Every case of `problem` on each of its devices, with inputs and expected output for `seed`.

    `device` selects among the listed devices ("all", "cpu" or "cuda"); a selected device that
    is not available gives a case marked `skipped`, so it is reported, never silently dropped.
    Everything here stays on the CPU, CUDA cases included: the grader never initialises CUDA.
    Only the child moves the inputs to the case's device; its outputs come back on the CPU with
    a note of where each tensor was, which `device_mismatch` checks."""
    from grader.problems.expected_cache import ExpectedOutputs
    from grader.sandbox.devices import select_devices

    outputs = ExpectedOutputs.for_problem(problem, bank, seed)  # kept between runs (the reference's are secrets)
    precision = problem.spec.get("reference_precision", "float64")
    default_time = Limits().with_overrides(problem.spec.get("limits")).time
    prepared, speed = [], []
    for case in problem.cases:
        run, skipped = select_devices(case_devices(problem, case), device)
        args = case_arguments(problem, case, seed)
        where = f"{problem.path}: the reference on case '{case['name']}'"
        expected = outputs.get(case["name"], lambda: evaluate(bank.load_callable(problem.spec["reference"]), args,
                                                              precision, where)) if run else None
        config = performance.speed_config(case)
        for dev in run:
            call = make_call(problem, case, args, dev)
            prepared.append(PreparedCase(case, args, call, expected, device=dev))
            if config:  # timed after every correctness case, so a slow submission costs no other case
                speed.append(PreparedCase(case, args, performance.speed_call(call, config, default_time),
                                          expected, device=dev, speed=config))
        for dev, reason in skipped:
            prepared.append(PreparedCase(case, args, None, None, device=dev, skipped=reason))
            if config:
                prepared.append(PreparedCase(case, args, None, None, device=dev, skipped=reason, speed=config))
    prepared += speed
    if problem.spec.get("gradcheck") and device in ("all", "cpu"):  # finite differences, on the CPU in float64
        prepared += [PreparedCase(case, args, make_call(problem, case, args), expected)
                     for case, args, expected in gradcheck_cases(problem, bank, seed, outputs)]
    outputs.save()
    for p in prepared:
        p.stored = outputs
    return prepared


# ---------------------------------------------------------------- comparing

FLOAT_PRECISION = ["float16", "bfloat16", "float32", "float64"]  # coarse to fine (float16 vs bfloat16: both coarse)


def tolerance_overrides(problem: Problem, case: dict, loosen_to: str | None = None) -> dict:
    """The spec's tolerances for a case. A Python float answer gets the tolerance of the case's
    dtype (a loss computed from float32 tensors carries float32 round-off) unless the spec sets
    `float`. With `loosen_to`, finer float dtypes get that dtype's tolerance (see matching_mistake)."""
    overrides = {**problem.spec.get("tolerance", {}), **case.get("tolerance", {})}
    dtype = case.get("dtype") or problem.spec.get("dtype") or "float32"
    if "float" not in overrides and dtype in FLOAT_PRECISION:
        # rtol of the case's dtype; atol stays float64's unless the dtype is a 16-bit one, so
        # small answers such as a learning rate of 1e-3 are still checked closely.
        base = cmp.tolerance_for(dtype, overrides)
        atol = base.atol if dtype in ("float16", "bfloat16") else cmp.tolerance_for("float64").atol
        overrides["float"] = {"rtol": base.rtol, "atol": atol}
    if loosen_to in FLOAT_PRECISION:
        coarse = cmp.tolerance_for(loosen_to, overrides)
        for finer in FLOAT_PRECISION[FLOAT_PRECISION.index(loosen_to) + 1:] + ["float"]:
            tol = cmp.tolerance_for(finer, overrides)
            overrides[finer] = {"rtol": max(tol.rtol, coarse.rtol), "atol": max(tol.atol, coarse.atol)}
    return overrides


def case_tolerances(problem: Problem, prepared: PreparedCase, loosen_to: str | None = None) -> dict:
    """tolerance_overrides(problem, prepared.case, loosen_to), worked out once per prepared case and
    problem spec: every student's output on a case is held to the same tolerances. Not to be
    changed by the caller. A comparator mapping gets a fresh one each time (it hands it on)."""
    memo = getattr(prepared, "derived", None)
    if memo is None or isinstance(problem.spec.get("comparator"), dict):
        return tolerance_overrides(problem, prepared.case, loosen_to)
    found = memo.get(("tolerances", loosen_to))
    if found is None or found[0] is not problem.spec or found[1] is not prepared.case:
        found = (problem.spec, prepared.case, tolerance_overrides(problem, prepared.case, loosen_to))
        memo[("tolerances", loosen_to)] = found
    return found[2]


def expected_coarsest(prepared: PreparedCase) -> str | None:
    """coarsest_float_dtype(prepared.expected), worked out once per prepared case."""
    memo = getattr(prepared, "derived", None)
    if memo is None:
        return coarsest_float_dtype(prepared.expected)
    found = memo.get("coarsest")
    if found is None or found[0] is not prepared.expected:
        found = memo["coarsest"] = (prepared.expected, coarsest_float_dtype(prepared.expected))
    return found[1]


def coarsest_float_dtype(value) -> str | None:
    """The least precise floating dtype among a value's tensors and arrays (None if none)."""
    found: list[str] = []

    def visit(x, _path):
        dtype = getattr(x, "dtype", None)
        if dtype is not None and not isinstance(x, (int, float)):
            name = str(dtype).replace("torch.", "")
            if name in FLOAT_PRECISION:
                found.append(name)

    map_leaves(value, visit)
    return min(found, key=FLOAT_PRECISION.index) if found else None


def arguments_dict(args: list[Argument] | None) -> dict:
    """A case's arguments by name (omitted ones absent), for comparators that need them."""
    return {a.name: a.value for a in args or []}


#: A problem's `strictness` when the spec leaves a setting out: never fail correct math.
STRICTNESS_DEFAULTS = {"numbers": "any", "dtype": "test", "pure": False, "weight": 0.5}
#: NumPy problems do not grade the dtype unless their spec says so: NumPy courses (CS231n...) work in
#: float64 throughout, and `np.zeros(shape)` is float64 whatever the inputs. In torch, keeping the
#: input's dtype is part of a function's contract (mixed precision), so it is its own small test.
DTYPE_DEFAULT = {"numpy": "ignore", "torch": "test"}


def strictness(problem: Problem) -> dict:
    """The problem's strictness policy (docs/writing-problems.md, "Strictness"):
    numbers: which number types count as a number (grader.compare.tensors.NUMBER_POLICIES);
    dtype: "ignore" (any float dtype, values at the coarser precision), "test" (the same, and
    keeping the dtype is its own test "keeps dtype") or "strict" (another dtype fails the case);
    by default "ignore" for NumPy problems and "test" for torch ones (DTYPE_DEFAULT);
    pure: the function must leave its inputs unchanged (its own test "leaves inputs unchanged");
    weight: the weight of each of those tests, against a case's default weight of 1."""
    defaults = {**STRICTNESS_DEFAULTS, "dtype": DTYPE_DEFAULT.get(problem.framework, "test")}
    return {**defaults, **problem.spec.get("strictness", {})}


def policy_tests(problem: Problem, prepared: list[PreparedCase]) -> list[str]:
    """The problem-level tests the policy adds after the cases: "keeps dtype" where float arrays
    or tensors are expected and the dtype is graded on its own, "leaves inputs unchanged".
    A comparator mapping (set, permutation, dropout, ...) checks dtypes itself, strictly, so it
    gets no "keeps dtype" test (a dtype slip would cost twice)."""
    policy, names = strictness(problem), []
    if policy["dtype"] == "test" and not isinstance(problem.spec.get("comparator"), dict) and any(cmp.dtype_differences(p.expected, p.expected)[0]
                                         for p in prepared if not p.speed and not p.skipped):
        names.append(KEEPS_DTYPE)
    if policy["pure"]:
        names.append(LEAVES_INPUTS)
    return names


KEEPS_DTYPE = "keeps dtype"
LEAVES_INPUTS = "leaves inputs unchanged"


def check_output(problem: Problem, case: dict, actual, expected, args: list[Argument] | None = None,
                 against: str = "reference", loosen_to: str | None = None, dtypes: str | None = None,
                 overrides: dict | None = None, detail: bool = True) -> str | None:
    """None when `actual` is right, else a message saying what differs, where and by how much.

    `args` are the case's arguments (statistical comparators need them); `against` is
    "mistake" when `expected` is a known mistake's output (see grader.compare.comparators). Number
    types and float dtypes are held as the problem's strictness says, or `dtypes` ("strict").
    `overrides`: tolerance_overrides(problem, case, loosen_to), where the caller has them already.
    `detail=False`: only whether it is right matters (a shorter message when it is not)."""
    policy = strictness(problem)
    dtypes = dtypes or ("strict" if policy["dtype"] == "strict" else "loose")
    if policy.get("whole_floats"):  # ints kept in a float array count as those ints
        actual, fraction = cmp.whole_floats_as_ints(actual, expected)
        if fraction is not None:
            return fraction.message
    comparator = problem.spec.get("comparator", "tolerance")
    if comparator == "exact":
        overrides = EXACT
    elif overrides is None:
        overrides = tolerance_overrides(problem, case, loosen_to)
    if isinstance(comparator, dict):
        from grader.compare.comparators import run_comparator  # comparators beyond tolerance/exact

        return run_comparator(problem, case, comparator, actual, expected, overrides,
                              args=arguments_dict(args), against=against)
    mismatch = cmp.compare(actual, expected, overrides=overrides, numbers=policy["numbers"], dtypes=dtypes,
                           nonfinite_alike=against == "mistake", detail=detail)
    return mismatch.message if mismatch else None


CANNOT_RUN = object()  #: a known mistake's output on a case where it raised


def matching_mistake(problem: Problem, bank: Bank, prepared: PreparedCase, actual) -> dict | None:
    """The first known mistake whose output on this case equals the student's."""
    found = matching_mistakes(problem, bank, prepared, actual)
    return found[0] if found else None


def matching_mistakes(problem: Problem, bank: Bank, prepared: PreparedCase, actual, output_of=None) -> list[dict]:
    """Every known mistake whose output on this case equals the student's, in the spec's order.

    Matching uses the tolerance of the expected output's coarsest dtype: a dtype mistake
    (float64 returned for float32 input) carries float32 round-off in its own order. Two
    non-finite values match whatever they are: one overflow gives inf on one machine or
    formulation and NaN on another. `output_of`: as for _matches."""
    return [mistake for mistake, _ in _matches(problem, bank, prepared, actual, output_of)]


def _matches(problem: Problem, bank: Bank, prepared: PreparedCase, actual, output_of=None) -> list[tuple[dict, bool]]:
    """(mistake, exact) for every mistake that matches: exact ones first (their inf and NaN
    where the student's are), then those that match only with any non-finite values alike.
    `output_of(problem, bank, prepared, mistake)`: a mistake's output (default: mistake_output)."""
    loosen_to = expected_coarsest(prepared)
    overrides = case_tolerances(problem, prepared, loosen_to)  # the same for every mistake
    exact, loose = [], []
    for mistake in problem.spec.get("mistakes", []):
        wrong = (output_of or mistake_output)(problem, bank, prepared, mistake)
        if wrong is CANNOT_RUN:
            continue  # a mistake that cannot run on this case simply does not match it
        if check_output(problem, prepared.case, actual, wrong, prepared.args, against="mistake",
                        loosen_to=loosen_to, overrides=overrides, detail=False) is None:
            same = cmp.compare(actual, wrong, overrides=overrides,
                               numbers=strictness(problem)["numbers"], dtypes="loose", detail=False) is None
            (exact if same else loose).append((mistake, same))
    return exact + loose


def combined_mistakes(problem: Problem, bank: Bank, prepared: PreparedCase, actual, output_of=None) -> list[dict]:
    """Two known mistakes made at once: the first pair (in the spec's order) that between them
    explain every wrong number of the student's output, each explaining some the other does not.
    None where the output's structure differs from the expected one, or where a comparator other
    than the tolerance decides (sets and permutations have no numbers in fixed places)."""
    if isinstance(problem.spec.get("comparator"), dict):
        return []
    overrides = case_tolerances(problem, prepared, expected_coarsest(prepared))
    right = cmp.agreement(actual, prepared.expected, overrides)
    if right is None or right.all():
        return []
    wrong = ~right
    explains = []
    for mistake in problem.spec.get("mistakes", []):
        output = (output_of or mistake_output)(problem, bank, prepared, mistake)
        mask = None if output is CANNOT_RUN else cmp.agreement(actual, output, overrides)
        if mask is not None and (mask & wrong).any():
            explains.append((mistake, mask & wrong))
    for i, (first, a) in enumerate(explains):
        for second, b in explains[i + 1:]:
            if not (wrong & ~(a | b)).any() and (a & ~b).any() and (b & ~a).any():
                return [first, second]
    return []


def name_mistakes(problem: Problem, bank: Bank, wrong: list[tuple[PreparedCase, TestResult, Any]],
                  output_of=None) -> None:
    """Name the known mistake behind each wrong test, weighing the evidence of every case.

    `wrong` holds (case, its failed test, the student's output). When several mistakes fit a
    case, the one that fits the most of the student's wrong cases (hidden ones included) is
    named, the spec's order breaking ties; a case no single mistake fits may be two at once
    (combined_mistakes). The feedback goes before the test's last line ("Rebuild this case")."""
    candidates = [_matches(problem, bank, p, value, output_of) for p, _, value in wrong]
    fits = {}  # name -> (cases it fits, cases it fits with the same inf and NaN)
    for found in candidates:
        for mistake, exact in found:
            count, exact_count = fits.get(mistake["name"], (0, 0))
            fits[mistake["name"]] = (count + 1, exact_count + exact)
    for (p, test, value), found in zip(wrong, candidates):
        found = [mistake for mistake, _ in found]
        if found:
            best = max(found, key=lambda m: fits[m["name"]])  # max keeps the first of equals
            test.mistake = best["name"]
            line = f"This matches a known mistake ({best['name']}): {best['feedback']}"
        else:
            pair = combined_mistakes(problem, bank, p, value, output_of)
            if not pair:
                continue
            test.mistake = "+".join(m["name"] for m in pair)
            line = (f"This looks like two known mistakes at once ({pair[0]['name']} and {pair[1]['name']}): "
                    f"{pair[0]['feedback']} Also: {pair[1]['feedback']}")
        head, _, rebuild = test.output.rpartition("\n")
        test.output = f"{head}\n{line}\n{rebuild}" if head else f"{line}\n{rebuild}"


def mistake_output(problem: Problem, bank: Bank, prepared: PreparedCase, mistake: dict):
    """A known mistake's output on a case (CANNOT_RUN if it raised), computed once per case and
    kept on disk with the expected outputs (`prepared.stored`; `save_mistakes` writes them)."""
    if mistake["name"] not in prepared.mistake_outputs:
        def compute():
            func = bank.load_callable(mistake["impl"], what=f"mistake '{mistake['name']}'")
            precision = mistake.get("precision", problem.spec.get("reference_precision", "float64"))
            try:
                return evaluate(func, prepared.args, precision,
                                f"{problem.path}: mistake '{mistake['name']}' on case '{prepared.name}'")
            except SpecError:
                return CANNOT_RUN  # not a value: never stored, computed again in the next run

        stored = prepared.stored
        name = f"mistake {mistake['name']} | {prepared.name}"  # (a case's expected output is stored under its name)
        prepared.mistake_outputs[mistake["name"]] = stored.get_if_plain(name, compute) if stored else compute()
    return prepared.mistake_outputs[mistake["name"]]


def save_mistakes(prepared: list[PreparedCase]) -> None:
    """Write the known mistakes' outputs computed since the cases were prepared (nothing when none
    was). A save writes the problem's whole cache file: a class saves once, at its end."""
    for stored in {id(p.stored): p.stored for p in prepared if p.stored is not None}.values():
        stored.save()


# ---------------------------------------------------------------- grading

def grade_function(problem: Problem, submission: Submission, *, bank: Bank, executor: Executor,
                   seed: int = 0, limits: Limits | None = None, student: str | None = None,
                   prepared: list[PreparedCase] | None = None, module_name: str | None = None,
                   device: str = "all", reserved_weight: float = 0.0) -> ProblemResult:
    """Grade one submission for one function problem.

    `prepared` may come from elsewhere than the bank's reference (a student bundle, grader.kinds.bundle:
    its known mistakes' outputs already filled in); `reserved_weight` is then the weight of the
    tests graded elsewhere (its hidden cases), which keep their share of the points unrun."""
    start = time.monotonic()
    own_cases = prepared is None  # (a class's are shared by its students, and saved at its end)
    prepared = prepared if prepared is not None else prepare_cases(problem, bank, seed, device)
    skipped = [p for p in prepared if p.skipped]
    prepared = [p for p in prepared if not p.skipped]
    extra = policy_tests(problem, prepared)
    weights = [p.weight for p in prepared] + [strictness(problem)["weight"]] * len(extra)
    max_scores = split_points(problem.points, weights + [reserved_weight])[:len(weights)]
    max_scores, extra_scores = max_scores[:len(prepared)], max_scores[len(prepared):]
    checked = check_sources(submission.files, problem.entry_point, problem.spec.get("forbidden", []))
    module = find_module(submission, problem.entry_point, module_name, checked)
    result = ProblemResult.empty(problem, submission=submission.label, seed=seed, student=student,
                                 feedback=list(submission.notes))
    error = static_error(problem, submission, module, checked)
    if error is None and not prepared:
        error = "nothing to run here: " + "; ".join(sorted({f"{p.device}: {p.skipped}" for p in skipped}))
    if error is None:
        base = (limits or Limits()).with_overrides(problem.spec.get("limits"))
        job = Job(files=submission.files, module=module, entry_point=problem.entry_point,
                  framework=problem.framework, calls=[_call_to_run(problem, p) for p in prepared], limits=base,
                  label=f"{submission.label}:{problem.id}", forbidden=problem.spec.get("forbidden", []), hide=private_paths(getattr(bank, "root", None)))
        run = executor.run(job)
        result.stdout, result.stderr = bounded_output(run.stdout, run.stdout_dropped), bounded_output(run.stderr, run.stderr_dropped)
        result.limits_hit = run.limits_hit
        if run.forbidden_calls:  # seen at run time by the child (a backstop: none seen proves nothing)
            error = forbidden_message(run.forbidden_calls, " (seen while it ran)")
        elif run.load_error is not None:
            error = run.load_error
        else:
            runs = {r.name: r for r in run.cases}
            result.tests = [_test_result(problem, bank, p, runs[p.name], m, seed)
                            for p, m in zip(prepared, max_scores)]
            name_mistakes(problem, bank, [(p, t, runs[p.name].value) for p, t in zip(prepared, result.tests)
                                          if t.outcome == "wrong" and not p.speed])
            for index, p in enumerate(prepared):
                if p.speed and result.tests[index].passed:
                    result.grader_error |= _judge_speed(problem, bank, executor, base, p, runs[p.name],
                                                        result.tests[index])
            result.tests = _with_policy_tests(result.tests, prepared, [
                _policy_test(name, problem, bank, prepared, runs, result.tests, m)
                for name, m in zip(extra, extra_scores)])
            if own_cases:
                save_mistakes(prepared)
    if error is not None:
        result.error = error
        result.tests = [TestResult(name=p.name, score=0.0, max_score=m, status=Status.FAILED, visible=p.visible,
                                   output=f"not run: {error.splitlines()[0]}", outcome="not_run", device=p.device)
                        for p, m in zip(prepared, max_scores)]
        result.tests = _with_policy_tests(result.tests, prepared, [
            TestResult(name=name, score=0.0, max_score=m, status=Status.FAILED, visible=False,
                       output=f"not run: {error.splitlines()[0]}", outcome="not_run")
            for name, m in zip(extra, extra_scores)])
    result.skipped = [TestResult(name=p.name, score=0.0, max_score=0.0, status=Status.SKIPPED, visible=p.visible,
                                 output=f"skipped: {p.skipped}", outcome="skipped", device=p.device)
                      for p in skipped]
    result.score = round(sum(t.score for t in result.tests), 9)
    _add_problem_feedback(problem, result)
    result.seconds = time.monotonic() - start
    return result


def _call_to_run(problem: Problem, prepared: PreparedCase):
    """The case's call. A speed test's, once this process has timed the reference (for the
    class's first students), stops timing clearly fast code early (performance.stopping_call);
    it is made once per prepared case and reference time, so every student is sent the same call."""
    if not prepared.speed:
        return prepared.call
    reference = performance.known_timing(problem, prepared.call, prepared.case)
    if reference is None:
        return prepared.call
    made = prepared.derived.get("call_to_run")
    if made is None or made[0] is not reference:  # a new reference time (performance.forget_timings)
        made = prepared.derived["call_to_run"] = (reference, performance.stopping_call(prepared.call, prepared.speed,
                                                                                       reference))
    return made[1]


def _test_result(problem: Problem, bank: Bank, prepared: PreparedCase, run: CaseRun,
                 max_score: float, seed: int) -> TestResult:
    test = TestResult(name=prepared.name, score=0.0, max_score=max_score, status=Status.FAILED,
                      visible=prepared.visible, device=prepared.device, seconds=run.seconds)
    if run.status is not RunStatus.OK:
        test.outcome = RUN_OUTCOMES[run.status]
        test.output = f"{prepared.call.text}: {run.message}" if run.status is RunStatus.EXCEPTION else run.message
        if run.status is RunStatus.EXCEPTION:
            test.output += exception_hint(run.message)
        return test
    message = check_output(problem, prepared.case, run.value, prepared.expected, prepared.args,
                           overrides=case_tolerances(problem, prepared))
    misplaced = device_mismatch(prepared, run)
    if misplaced:
        test.outcome = "device"
        values = "the values are right; only the device is wrong" if message is None else message
        test.output = (f"{misplaced}\n{values}\nThe inputs were on {prepared.device}: keep the result there. "
                       "Avoid .cpu() and .numpy(), and create new tensors with device=x.device "
                       "(torch.zeros_like(x) does this for you).")
        return test
    if message is None:
        test.status, test.score, test.outcome = Status.PASSED, max_score, "passed"
        return test
    test.outcome = "wrong"
    if prepared.speed:
        test.output = (f"not timed: the output is wrong (see the test '{test_name(prepared.case['name'], prepared.device)}'); "
                       "only a right answer is timed")
        return test
    lines = [message]  # the known mistake it matches, if any, is added by name_mistakes
    seed_flag = f" --seed {seed}" if seed else ""
    lines.append(f"Rebuild this case: grader show {problem.id} --case {prepared.case['name']}{seed_flag}")
    test.output = "\n".join(lines)
    return test


def _cast_hint(problem: Problem, dtype: str) -> str:
    """What to write to keep a dtype, with the problem's first array input as the example."""
    first = next((name for name, spec in problem.spec.get("inputs", {}).items() if spec.get("type") == "tensor"),
                 "x")
    if problem.framework == "numpy":
        return f"return out.astype({first}.dtype) (or build out with dtype={first}.dtype, e.g. np.zeros_like({first}))"
    return f"return out.to({first}.dtype) (or build it with dtype={first}.dtype, e.g. torch.zeros_like({first}))"


def _with_policy_tests(tests: list[TestResult], prepared: list[PreparedCase],
                       extra: list[TestResult]) -> list[TestResult]:
    """The case tests with the policy's tests after the correctness cases, before the speed
    tests (which stay last); a policy test's device is the cases' when they share one."""
    devices = {p.device for p in prepared}
    device = devices.pop() if len(devices) == 1 else None
    for test in extra:
        test.device = device
    at = next((i for i, p in enumerate(prepared) if p.speed), len(prepared))
    return tests[:at] + extra + tests[at:]


def _policy_test(name: str, problem: Problem, bank: Bank, prepared: list[PreparedCase], runs: dict,
                 tests: list[TestResult], max_score: float) -> TestResult:
    """A test the strictness policy adds after the cases (see policy_tests); it passes when at
    least one case returned the right values and no case broke the rule. When no case did, it
    was not checked, and it fails the way the first case did (a wrong or broken submission
    earns nothing from the policy)."""
    test = TestResult(name=name, score=0.0, max_score=max_score, status=Status.FAILED, visible=False,
                      outcome="wrong")
    checked, failure, broken, named = 0, None, [], ""
    for p, case_test in zip(prepared, tests):
        run = runs[p.name]
        if p.speed or run.status is not RunStatus.OK:
            continue
        if name == KEEPS_DTYPE:
            n, differences = cmp.dtype_differences(run.value, p.expected)
            checked += n > 0 and case_test.passed
            broken += [p.name] if differences else []
            if differences and failure is None:
                path, got, want = differences[0]
                failure = (f"case '{p.name}': {path} has dtype {got}, expected {want}"
                           + (" (the values are right at that precision)" if case_test.passed else "")
                           + f"; keep the dtype of the inputs: {_cast_hint(problem, want)}")
                mistake = _dtype_mistake(problem, bank, p, run.value)
                if mistake:
                    test.mistake = mistake["name"]
                    named = f"\nThis matches a known mistake ({mistake['name']}): {mistake['feedback']}"
        else:
            checked += case_test.passed
            broken += [p.name] if run.mutated else []
            if run.mutated and failure is None:
                positional = [a.name for a in p.args if not a.keyword]
                names = [positional[i] if type(i) is int and i < len(positional) else str(i) for i in run.mutated]
                failure = (f"case '{p.name}': your function changed its input {', '.join(map(repr, names))} in place; "
                           f"the caller's arrays must stay as they were. Work on a copy ({names[0]}.copy() in "
                           f"NumPy, {names[0]}.clone() in torch) or build a new array instead of assigning into it")
    if failure is None and checked:
        test.status, test.score, test.outcome = Status.PASSED, max_score, "passed"
        return test
    if len(broken) > 1:
        failure += f"\n(the same in {len(broken) - 1} more case{'s' if len(broken) > 2 else ''}: {', '.join(broken[1:6])}" \
                   + (", ..." if len(broken) > 6 else "") + ")"
    if failure:
        test.output = failure + named
    else:  # nothing to check: no case returned the right values
        first = next((t for p, t in zip(prepared, tests) if not p.speed), None)
        test.outcome = first.outcome if first else "not_run"
        test.output = "not checked, as no case returned the right values" + (
            f"; the first case: {first.output}" if first else "")
    return test


def _dtype_mistake(problem: Problem, bank: Bank, prepared: PreparedCase, actual) -> dict | None:
    """The first known mistake that changes the output's dtype the way the student's does."""
    for mistake in problem.spec.get("mistakes", []):
        wrong = mistake_output(problem, bank, prepared, mistake)
        if wrong is CANNOT_RUN or not cmp.dtype_differences(wrong, prepared.expected)[1]:
            continue
        loosen_to = expected_coarsest(prepared)
        if not cmp.dtype_differences(actual, wrong)[1] and \
                check_output(problem, prepared.case, actual, wrong, prepared.args, against="mistake",
                             loosen_to=loosen_to, overrides=case_tolerances(problem, prepared, loosen_to)) is None:
            return mistake
    return None


def device_mismatch(prepared: PreparedCase, run: CaseRun) -> str | None:
    """Where the output left the case's device, or None.

    Every tensor returned must be on the case's device (any index of it: "cuda:0" is "cuda"),
    and a case whose expected output holds tensors must get tensors back: a `.numpy()` or
    `.tolist()` result on a CUDA case is a device mistake too. `run.devices` says where each
    tensor was in the child (the values themselves come back on the CPU)."""
    want = prepared.device.split(":")[0]
    for path, device in run.devices.items():
        if device.split(":")[0] != want:
            return f"{path} is on {device}, expected {prepared.device}"
    if want != "cpu" and len(run.devices) < _count_tensors(prepared.expected):
        return f"the output holds fewer tensors than expected: tensors on {prepared.device} must stay tensors there"
    return None


def _count_tensors(value) -> int:
    tensors: list = []
    map_arrays(value, tensors.append, lambda a: a)
    return len(tensors)


def _judge_speed(problem: Problem, bank: Bank, executor: Executor, limits: Limits, prepared: PreparedCase,
                 run: CaseRun, test: TestResult) -> bool:
    """Turn a speed test whose output was right into a pass or fail on time; True on a grader error.

    The output check already ran (`test` passed it): code that is fast but wrong never passes."""
    if run.timing is None:
        test.status, test.score, test.outcome = Status.FAILED, 0.0, "bad_output"
        test.output = "the timing of this run did not come back"
        return False
    measured = performance.reference_timing(problem, bank, executor, prepared.call, prepared.case, limits)
    if measured.timing is None:
        test.status, test.score, test.outcome = Status.FAILED, 0.0, "grader_error"
        test.output = f"the grader could not time the reference: {measured.error}"
        return True
    passed, message, test.timing = performance.judge(prepared.speed, prepared.device, run.timing, measured.timing)
    test.output = message
    if not passed:
        test.status, test.score, test.outcome = Status.FAILED, 0.0, "slow"
    return False


def _add_problem_feedback(problem: Problem, result: ProblemResult) -> None:
    seen = []
    for test in result.tests:
        for name in (test.mistake or "").split("+"):  # "a+b": two mistakes at once
            if name and name not in seen:
                seen.append(name)
    for mistake in problem.spec.get("mistakes", []):
        if mistake["name"] in seen and mistake.get("hint"):
            result.feedback.append(f"Hint ({mistake['name']}): {mistake['hint']}")
    if not result.passed and not seen and problem.hints and not result.error:
        result.feedback.extend(f"Hint: {h}" for h in problem.hints)
