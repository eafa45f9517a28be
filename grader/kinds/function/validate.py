"""`grader validate` for kind `function`: the reference passes its cases, every known mistake
fails a hidden case and is recognised, inputs are reproducible, the starter scores 0, speed
tests can tell a slow solution (docs/writing-problems.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from grader import expressions
from grader.errors import SpecError
from grader.problems.spec import Problem
from grader.result import MistakeResult, ProblemReport

from grader.compare.tolerance import EXACT
from grader.kinds.base import VALIDATION_SEEDS as SEEDS
from grader.problems.locations import private_paths

if TYPE_CHECKING:
    from grader.problems.bank import Bank


def check_function_problem(problem: Problem, bank: Bank, executor, report: ProblemReport) -> None:
    from grader.kinds.function.kind import prepare_cases

    entry = problem.entry_point
    if entry and entry in problem.statement:
        report.add("statement", True)
    else:
        report.add("statement", False, f"the statement never names the entry point '{entry}' "
                                       f"(students call {problem.signature})")
    check_inputs(problem, report)
    check_assumptions(problem, report)
    # the reference runs on every case (SpecError if not); cases on unavailable devices are skipped
    prepared = [p for p in prepare_cases(problem, bank, seed=0) if not p.skipped]
    reference_runs = check_reference(problem, bank, executor, prepared, report)
    check_mistakes(problem, bank, prepared, report)
    check_starter(problem, bank, executor, prepared, report)
    check_speed(problem, bank, executor, [p for p in prepared if p.speed], reference_runs, report)


def assumption_values(problem: Problem, case: dict, seed: int = 0) -> dict:
    """The names an assumption may use for a case: its sizes and its int, float and bool inputs."""
    from grader.problems.inputs import case_arguments

    names = {**problem.spec.get("sizes", {}), **case.get("sizes", {})}
    for arg in case_arguments(problem, case, seed):
        if type(arg.value) in (int, float, bool):
            names[arg.name] = arg.value
    return names


def check_assumptions(problem: Problem, report: ProblemReport) -> None:
    """Every case keeps the promises the statement makes (the spec's `assumptions`)."""
    assumptions = problem.spec.get("assumptions", [])
    if not assumptions:
        return
    broken = []
    for case in problem.cases:
        values = assumption_values(problem, case)
        for assumption in assumptions:
            try:
                missing = sorted(expressions.names(assumption["check"]) - set(values))
                if missing:
                    raise NameError(f"name '{missing[0]}' is not defined")
                holds = expressions.evaluate(assumption["check"], values)
            except NameError as exc:
                broken.append(f"case '{case['name']}': cannot check '{assumption['check']}': {exc}")
                continue
            except SpecError as exc:
                broken.append(f"case '{case['name']}': '{assumption['check']}' fails: {exc.message}")
                continue
            except (ArithmeticError, SyntaxError, TypeError) as exc:
                broken.append(f"case '{case['name']}': '{assumption['check']}' fails: {type(exc).__name__}: {exc}")
                continue
            if not holds:
                shown = ", ".join(f"{k}={v}" for k, v in values.items() if k in assumption["check"])
                broken.append(f"case '{case['name']}' breaks the statement's promise '{assumption['says']}' "
                              f"({assumption['check']} is false for {shown})")
    report.add("assumptions", not broken, "; ".join(broken[:5]) if broken else
               f"every case keeps the statement's {len(assumptions)} stated assumption(s)")


def check_inputs(problem: Problem, report: ProblemReport) -> None:
    from grader.compare import tensors as cmp
    from grader.kinds.function.gradcheck import gradcheck_case_dicts
    from grader.problems.inputs import case_arguments, input_spec

    cases = problem.cases + gradcheck_case_dicts(problem)
    random_inputs = False
    differ = False
    for case in cases:
        first = case_arguments(problem, case, SEEDS[0])
        again = case_arguments(problem, case, SEEDS[0])
        for a, b in zip(first, again):
            mismatch = cmp.compare(b.value, a.value, overrides=EXACT)
            if mismatch is not None:
                report.add("inputs", False, f"case '{case['name']}': input '{a.name}' differs between two draws "
                                            f"with the same seed: {mismatch.message.splitlines()[0]}")
                return
        for name in problem.spec["inputs"]:
            spec = input_spec(problem, case, name)
            if not spec.get("omit") and "value" not in spec and spec["type"] not in ("none",) \
                    and spec.get("distribution") != "causal":
                random_inputs = True
        other = case_arguments(problem, case, SEEDS[1])
        for a, b in zip(first, other):
            if cmp.compare(b.value, a.value, overrides=EXACT) is not None:
                differ = True
    if random_inputs and not differ:
        report.add("inputs", False, f"inputs are drawn at random but seeds {SEEDS[0]} and {SEEDS[1]} give the "
                                    "same inputs for every case")
        return
    report.add("inputs", True, "deterministic per seed" + (", differ across seeds" if random_inputs else
                                                          " (all inputs fixed)"))


def available_devices(listed: list[str]) -> tuple[list[str], list[str]]:
    """(devices the engine can run cases on here, skipped devices with the reason)."""
    from grader.sandbox.devices import select_devices

    run, skipped = select_devices(listed)
    return run, [f"{device} ({reason})" for device, reason in skipped]


def check_reference(problem: Problem, bank: Bank, executor, prepared, report: ProblemReport) -> dict:
    """Run the reference as a submission on every prepared case (speed tests included, so it is
    timed here too); returns its runs by test name ({} when it did not run)."""
    from grader.kinds.function.kind import check_output
    from grader.limits import Limits
    from grader.kinds.function.performance import reference_submission
    from grader.sandbox.runner import Job, RunStatus

    devices, skipped = available_devices(problem.spec.get("devices", ["cpu"]))
    for device in skipped:
        report.add("reference", True, f"skipped on {device}", skipped=True)
    if not devices:
        return {}
    submission, module, func = reference_submission(problem, bank)
    limits = Limits().with_overrides(problem.spec.get("limits"))
    job = Job(files=submission.files, module=module, entry_point=func, framework=problem.framework,
              calls=[p.call for p in prepared], limits=limits, label=f"validate:{problem.id}", hide=private_paths(getattr(bank, "root", None)))
    run = executor.run(job)
    if run.load_error is not None:
        report.add("reference", False, f"the reference did not load in the child: {run.load_error}")
        return {}
    runs = {r.name: r for r in run.cases}
    failures = []
    for p in prepared:
        case_run = runs.get(p.name)
        if case_run is None or case_run.status is not RunStatus.OK:
            why = case_run.message if case_run else "not run"
            failures.append(f"case '{p.name}': {case_run.status.value if case_run else 'not_run'}: {why}")
            continue
        message = check_output(problem, p.case, case_run.value, p.expected, p.args)
        if message is not None:
            failures.append(f"case '{p.name}': the reference's own output (native precision, in the child) "
                            f"fails: {message}")
    if failures:
        report.add("reference", False, "; ".join(failures[:3]) + (f" (and {len(failures) - 3} more)"
                                                                  if len(failures) > 3 else ""))
    else:
        report.add("reference", True, f"passes its {len(prepared)} cases on {', '.join(devices)}")
    return runs


def check_mistakes(problem: Problem, bank: Bank, prepared, report: ProblemReport) -> None:
    from grader.compare import tensors as cmp
    from grader.kinds.function.kind import _dtype_mistake, check_output, evaluate, matching_mistake, strictness

    grades_dtype = strictness(problem)["dtype"] != "ignore"
    mistakes = problem.spec.get("mistakes", [])
    hidden = [p for p in prepared if not p.visible]
    if not hidden:
        report.add("mistakes", False, "the problem has no hidden case")
        return
    problems = []
    for mistake in mistakes:
        func = bank.load_callable(mistake["impl"], what=f"mistake '{mistake['name']}'")
        precision = mistake.get("precision", problem.spec.get("reference_precision", "float64"))
        killed, recognised = [], False
        for p in hidden:
            try:
                wrong = evaluate(func, p.args, precision, f"mistake '{mistake['name']}'")
            except SpecError:
                killed.append(p.name)  # a student's code that raises fails this case too
                continue
            if check_output(problem, p.case, wrong, p.expected, p.args) is not None:
                killed.append(p.name)
                if not recognised:
                    found = matching_mistake(problem, bank, p, wrong)
                    recognised = found is not None and found["name"] == mistake["name"]
            elif grades_dtype and cmp.dtype_differences(wrong, p.expected)[1]:  # fails the "keeps dtype" test
                killed.append(p.name)
                if not recognised:
                    found = _dtype_mistake(problem, bank, p, wrong)
                    recognised = found is not None and found["name"] == mistake["name"]
        report.mistakes.append(MistakeResult(mistake["name"], killed, recognised))
        if not killed:
            problems.append(f"mistake '{mistake['name']}' passes every hidden case; add a hidden case it fails")
        elif not recognised:
            problems.append(f"mistake '{mistake['name']}' fails hidden cases but is never recognised as itself "
                            "(an earlier mistake gives the same outputs?)")
    total = len(mistakes)
    summary = f"{report.killed}/{total} killed" if total else "no known mistakes"
    if total < 3:
        problems.append(f"only {total} known mistakes (at least 3 expected)")
    report.add("mistakes", not problems, "; ".join(problems) if problems else summary)


def check_starter(problem: Problem, bank: Bank, executor, prepared, report: ProblemReport) -> None:
    from grader.kinds.function.kind import grade_function
    from grader.problems.submission import Submission

    starter = problem.spec.get("starter", "")
    submission = Submission(f"starter of {problem.id}", {problem.starter_file: starter.encode()})
    result = grade_function(problem, submission, bank=bank, executor=executor, prepared=prepared)
    if result.grader_error:
        report.add("starter", False, "grading the starter stub hit a grader error")
    elif result.score != 0:
        passed = [t.name for t in result.tests if t.passed]
        report.add("starter", False, f"the starter stub scores {result.score:g} (passes {', '.join(passed)}); "
                                     "a stub must fail every case")
    else:
        report.add("starter", True, "scores 0" + (f" ({result.error.splitlines()[0]})" if result.error else ""))


#: below this, a run is mostly Python call overhead and timer noise, and ratios mean little; on
#: a GPU every run is a few kernel launches (about 10 µs each) between two synchronisations
MIN_REFERENCE_SECONDS = {"cpu": 2e-4, "cuda": 2e-5}


def check_speed(problem: Problem, bank: Bank, executor, prepared, reference_runs: dict,
                report: ProblemReport) -> None:
    """Speed tests: the reference (timed by check_reference) takes long enough to time, and a
    known slow solution fails."""
    from grader.kinds.function.kind import check_output
    from grader.limits import Limits
    from grader.kinds.function.performance import describe, judge, time_trusted

    if not prepared:
        return
    limits = Limits().with_overrides(problem.spec.get("limits"))
    problems, notes = [], []
    for p in prepared:
        reference = reference_runs.get(p.name)
        if reference is None or reference.timing is None:
            problems.append(f"'{p.name}': the reference was not timed (see the reference check)")
            continue
        best = reference.timing["best"]
        least = MIN_REFERENCE_SECONDS.get(p.device.split(":")[0], MIN_REFERENCE_SECONDS["cpu"])
        if best < least:
            problems.append(f"'{p.name}': the reference takes {describe(best)} on {p.device}, too little to time "
                            f"reliably (at least {describe(least)}); use larger sizes")
            continue
        note = f"'{p.name}': reference {describe(best)}"
        slow_impl = p.speed.get("slow")
        if slow_impl:
            slow = time_trusted(problem, bank, executor, p.call, limits, impl=slow_impl)
            if slow.timing is None:
                problems.append(f"'{p.name}': the slow solution {slow.error}")
                continue
            wrong = check_output(problem, p.case, slow.value, p.expected, p.args)
            if wrong is not None:
                problems.append(f"'{p.name}': the slow solution {slow_impl} is wrong on this case: "
                                f"{wrong.splitlines()[0]}")
                continue
            passed, _, record = judge(p.speed, p.device, slow.timing, reference.timing)
            if passed:
                problems.append(f"'{p.name}': the slow solution {slow_impl} passes the speed test "
                                f"({record['ratio']:.1f}× ≤ {record['max_ratio']:g}×); use larger sizes or a "
                                "smaller max_ratio")
                continue
            note += f", slow solution {record['ratio']:.0f}× (fails, as it should)"
        notes.append(note)
    report.add("speed", not problems, "; ".join(problems) if problems else "; ".join(notes))
