"""`grader validate`: prove that problems are right and strong before students see them.

For every function problem under a path (a spec file, a topic folder, or the whole bank):

1. spec: the schema and the consistency rules (comparator and gradcheck fields included);
2. statement: names the entry point;
3. reference: the reference, run as a submission through the real child executor (ONE child
   per problem, every case on every listed device that is available; the others are reported
   as skipped), passes its own cases with the problem's comparator and tolerances;
4. mistakes: every known mistake fails at least one HIDDEN case (evaluated in this process,
   compared exactly as a student would be), and is recognised as itself when it does, so its
   feedback reaches students; the kill rate is reported per problem and overall;
5. inputs: the same seed gives the same inputs; problems with random inputs get different
   inputs for different seeds;
6. starter: grading the starter stub through the engine scores 0 without a grader error;
7. speed (cases with `performance`): the reference, timed in a child, takes long enough to
   time, and the spec's known slow solution is right but fails the speed test.

Question kinds (numeric, choice) get the spec check and a draw of their parameters for two
seeds. Problems run in parallel threads (each child is a process).

Exit status of the CLI: 0 all valid, 1 any check failed, 2 a spec is malformed.
"""
from __future__ import annotations

import ast

import concurrent.futures
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .bank import Bank
from .errors import ExitCode, GraderError, SpecError, UsageError
from .spec import Problem, load_problem

SEEDS = (0, 1)
EXACT = {k: {"rtol": 0.0, "atol": 0.0} for k in ("float16", "bfloat16", "float32", "float64", "float")}


@dataclass
class Check:
    name: str        #: spec, statement, reference, mistakes, inputs, starter
    ok: bool
    message: str = ""
    skipped: bool = False


@dataclass
class MistakeResult:
    name: str
    killed_by: list[str]           #: hidden cases it fails
    recognised: bool               #: named as itself on a case it fails


@dataclass
class ProblemReport:
    problem: str
    path: str
    kind: str = ""
    checks: list[Check] = field(default_factory=list)
    mistakes: list[MistakeResult] = field(default_factory=list)
    malformed: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.malformed and all(c.ok for c in self.checks)

    @property
    def killed(self) -> int:
        return sum(1 for m in self.mistakes if m.killed_by)

    def failures(self) -> list[str]:
        return [f"{c.name}: {c.message}" for c in self.checks if not c.ok]

    def add(self, name: str, ok: bool, message: str = "", skipped: bool = False) -> None:
        self.checks.append(Check(name, ok, message, skipped))


@dataclass
class ValidationReport:
    problems: list[ProblemReport]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.problems)

    @property
    def malformed(self) -> bool:
        return any(p.malformed for p in self.problems)

    @property
    def mistakes_total(self) -> int:
        return sum(len(p.mistakes) for p in self.problems)

    @property
    def mistakes_killed(self) -> int:
        return sum(p.killed for p in self.problems)

    @property
    def kill_rate(self) -> float:
        return self.mistakes_killed / self.mistakes_total if self.mistakes_total else 1.0

    @property
    def exit_code(self) -> ExitCode:
        if self.malformed:
            return ExitCode.USAGE_ERROR
        return ExitCode.OK if self.ok else ExitCode.TESTS_FAILED

    def to_dict(self) -> dict:
        return {"ok": self.ok, "exit_code": int(self.exit_code), "mistakes_total": self.mistakes_total,
                "mistakes_killed": self.mistakes_killed, "kill_rate": self.kill_rate, "seconds": self.seconds,
                "problems": [{**asdict(p), "ok": p.ok, "killed": p.killed} for p in self.problems]}


# ---------------------------------------------------------------- which specs


def find_bank_root(path: Path) -> Path | None:
    """The folder holding problems/ that `path` lies under."""
    path = path.resolve()
    for folder in [path, *path.parents]:
        if folder.name == "problems" and (folder.parent / "reference").is_dir():
            return folder.parent
        if (folder / "problems").is_dir() and (folder / "reference").is_dir() and folder != path:
            return folder
    return None


def spec_files(path: Path | None, bank: Bank) -> list[Path]:
    """Spec files selected by `path` (a .yaml file, a folder) or the whole bank."""
    if path is None:
        return sorted(bank.spec_paths().values())
    path = Path(path)
    if path.is_file():
        if path.suffix not in (".yaml", ".yml"):
            raise UsageError(f"{path}: not a problem spec (.yaml)")
        return [path]
    if path.is_dir():
        files = sorted(path.rglob("*.yaml"))
        if not files:
            raise UsageError(f"{path}: no .yaml problem specs in this folder")
        return files
    raise UsageError(f"{path}: no such file or folder", "Give a spec file, a topic folder, or nothing for the whole bank.")


# ---------------------------------------------------------------- the checks


def validate(path: Path | str | list | tuple | None = None, *, bank: Bank | None = None, executor=None,
             workers: int | None = None, progress=None) -> ValidationReport:
    """Validate the problems under `path` (a spec, a folder, a list of them; default: the whole bank)."""
    start = time.monotonic()
    _forget_reference_modules()  # a long-lived process sees the instructor's latest edits
    paths = [Path(p) for p in path] if isinstance(path, (list, tuple)) else [Path(path)] if path is not None else []
    if bank is None:
        bank = Bank(find_bank_root(paths[0]) if paths else None)
    files = [f for p in paths for f in spec_files(p, bank)] if paths else spec_files(None, bank)
    own_executor = executor is None
    if own_executor:
        executor = default_executor()
    try:
        return _validate_files(files, bank, executor, workers, progress, start)
    finally:
        close = getattr(executor, "close", None) if own_executor else None
        if close:
            close()


def default_executor():
    """The warm fork server when this install has it (children in milliseconds), else a fresh
    Python per job."""
    try:
        from .batch import AutoExecutor
    except ImportError:
        from .runner import SubprocessExecutor

        return SubprocessExecutor()
    return AutoExecutor("fork")


def _validate_files(files, bank, executor, workers, progress, start) -> ValidationReport:
    workers = workers or max(1, min(len(files), os.cpu_count() or 1))
    if (bank.reference_dir / "__init__.py").exists():
        from .bank import _register_reference_package

        _register_reference_package(bank.reference_dir)  # once, before threads import from it

    def one(spec_path: Path) -> ProblemReport:
        report = validate_file(spec_path, bank, executor)
        if progress:
            progress(report)
        return report

    if workers == 1 or len(files) == 1:
        reports = [one(f) for f in files]
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            reports = list(pool.map(one, files))
    return ValidationReport(reports, seconds=time.monotonic() - start)


def _forget_reference_modules() -> None:
    import sys

    for name in [m for m in sys.modules if m == "reference" or m.startswith("reference.")]:
        del sys.modules[name]


def validate_file(spec_path: Path, bank: Bank, executor) -> ProblemReport:
    start = time.monotonic()
    report = ProblemReport(problem=spec_path.stem, path=str(spec_path))
    try:
        problem = load_problem(spec_path, bank.root)
        report.problem, report.kind = problem.id, problem.kind
        if problem.id != spec_path.stem:
            raise SpecError(f"{spec_path}: $.id: the id '{problem.id}' must match the file name '{spec_path.stem}'")
        rule_errors = extra_spec_problems(problem)
        if rule_errors:
            raise SpecError(f"{spec_path}: invalid problem spec:\n" + "\n".join(f"  {e}" for e in rule_errors))
        report.add("spec", True)
        if problem.kind == "function":
            check_function_problem(problem, bank, executor, report)
        elif problem.kind == "steps":
            from .kinds.steps import validate_steps

            validate_steps(problem, bank, executor, report)
        else:
            check_question_problem(problem, bank, report)
    except SpecError as exc:
        report.malformed = not report.checks  # malformed if the spec itself did not load
        report.add("spec" if report.malformed else "run", False, str(exc))
    except Exception as exc:  # noqa: BLE001 - a validation must report every problem, not stop at one
        report.add("internal", False, f"{type(exc).__name__}: {exc}")
    report.seconds = time.monotonic() - start
    return report


def extra_spec_problems(problem: Problem) -> list[str]:
    from . import comparators, gradcheck

    if problem.kind != "function":
        return []
    return comparators.spec_problems(problem) + gradcheck.spec_problems(problem)


def check_function_problem(problem: Problem, bank: Bank, executor, report: ProblemReport) -> None:
    from .kinds.function import prepare_cases

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


_ASSUMPTION_NODES = (ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Name, ast.Load,
                     ast.Constant, ast.And, ast.Or, ast.Not, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv,
                     ast.Mod, ast.Pow, ast.USub, ast.UAdd, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def parse_assumption(text: str) -> ast.Expression:
    """An assumption's check as an expression of arithmetic and comparisons on names only
    (the spec is trusted, but a small language keeps checks readable and errors clear)."""
    tree = ast.parse(text, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, _ASSUMPTION_NODES):
            raise SyntaxError(f"'{type(node).__name__}' is not allowed; use names, numbers, arithmetic "
                              "(+ - * / // % **), comparisons, and/or/not")
    return tree


def assumption_values(problem: Problem, case: dict, seed: int = 0) -> dict:
    """The names an assumption may use for a case: its sizes and its int, float and bool inputs."""
    from .inputs import case_arguments

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
                holds = eval(compile(parse_assumption(assumption["check"]), "<assumption>", "eval"),  # noqa: S307
                             {"__builtins__": {}}, dict(values))
            except NameError as exc:
                broken.append(f"case '{case['name']}': cannot check '{assumption['check']}': {exc}")
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
    from . import compare as cmp
    from .gradcheck import gradcheck_case_dicts
    from .inputs import case_arguments, input_spec

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
    from .devices import select_devices

    run, skipped = select_devices(listed)
    return run, [f"{device} ({reason})" for device, reason in skipped]


def check_reference(problem: Problem, bank: Bank, executor, prepared, report: ProblemReport) -> dict:
    """Run the reference as a submission on every prepared case (speed tests included, so it is
    timed here too); returns its runs by test name ({} when it did not run)."""
    from .kinds.function import check_output
    from .limits import Limits
    from .performance import reference_submission
    from .runner import Job, RunStatus

    devices, skipped = available_devices(problem.spec.get("devices", ["cpu"]))
    for device in skipped:
        report.add("reference", True, f"skipped on {device}", skipped=True)
    if not devices:
        return {}
    submission, module, func = reference_submission(problem, bank)
    limits = Limits().with_overrides(problem.spec.get("limits"))
    job = Job(files=submission.files, module=module, entry_point=func, framework=problem.framework,
              calls=[p.call for p in prepared], limits=limits, label=f"validate:{problem.id}")
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
    from . import compare as cmp
    from .kinds.function import _dtype_mistake, check_output, evaluate, matching_mistake, strictness

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
    from .kinds.function import grade_function
    from .submission import Submission

    starter = problem.spec.get("starter", "")
    submission = Submission(f"starter of {problem.id}", {f"{problem.entry_point}.py": starter.encode()})
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
    from .kinds.function import check_output
    from .limits import Limits
    from .performance import describe, judge, time_trusted

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


def check_question_problem(problem: Problem, bank: Bank, report: ProblemReport) -> None:
    """numeric/choice: the parameters and answer can be drawn for several seeds."""
    from .kinds import DESCRIBERS

    describe = DESCRIBERS.get(problem.kind)
    if describe is None:
        report.add("question", True, f"kind '{problem.kind}': spec checked only", skipped=True)
        return
    try:
        for seed in SEEDS:
            describe(problem, seed, None, bank)
    except GraderError as exc:
        report.add("question", False, f"drawing the question failed: {exc.message}")
        return
    report.add("question", True, f"drawn for seeds {', '.join(map(str, SEEDS))}")


# ---------------------------------------------------------------- text


def render_problem_line(report: ProblemReport) -> str:
    if report.ok:
        if report.kind in ("function", "steps"):
            mistakes = f"mistakes {report.killed}/{len(report.mistakes)} killed"
            skipped = [c.message for c in report.checks if c.skipped]
            speed = [f"speed {c.message}" for c in report.checks if c.name == "speed"]
            extra = "".join(f"; {note}" for note in speed + skipped)
            return f"ok    {report.problem:<30} {mistakes}{extra} ({report.seconds:.1f} s)"
        return f"ok    {report.problem:<30} {report.kind}"
    lines = [f"FAIL  {report.problem:<30} {report.path}"]
    for failure in report.failures():
        for i, line in enumerate(failure.splitlines()):
            lines.append(("      - " if i == 0 else "        ") + line)
    return "\n".join(lines)


def render_report(report: ValidationReport) -> str:
    lines = []
    functions = [p for p in report.problems if p.kind in ("function", "steps")]
    if functions:
        lines.append("Mistake kill rate per problem:")
        for p in functions:
            rate = f"{p.killed}/{len(p.mistakes)}"
            pct = f"{100 * p.killed / len(p.mistakes):.0f}%" if p.mistakes else "-"
            lines.append(f"  {p.problem:<32} {rate:>6}  {pct:>5}")
    bad = [p for p in report.problems if not p.ok]
    lines.append(f"Overall mistake kill rate: {report.mistakes_killed}/{report.mistakes_total} "
                 f"({100 * report.kill_rate:.1f}%) over {len(functions)} function problems")
    lines.append(f"{len(report.problems) - len(bad)} of {len(report.problems)} problems valid"
                 + (f"; {len(bad)} failed: {', '.join(p.problem for p in bad)}" if bad else "")
                 + f" ({report.seconds:.1f} s)")
    return "\n".join(lines)
