"""Kind `steps`: the student's functions, or methods of an object their code built, called in sequence.

A steps problem lists calls (see grader/child_steps.py for a step's fields). Values a step keeps
(a forward pass's `cache`, an optimizer object, a `config` dict) stay in the child: the trusted
side never decodes them. The spec names the values that come back (`compare`), after each call;
they are compared with the same steps run on the reference here, in the trusted process (in
float64 as the function kind does), with the problem's tolerances and comparators. Known
mistakes replace one of the reference's functions (`replaces`) and are named by their outputs,
or by failing the same way (a key never stored back).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from grader.sandbox import child_steps
from grader.compare import tensors as cmp
from grader.errors import SpecError
from grader.kinds.base import Kind
from grader.problems.inputs import Argument, case_arguments, literal_source
from grader.kinds.function.kind import CANNOT_RUN, PreparedCase, check_output, name_mistakes, strictness
from grader.kinds.precision import cast_like, clone, upcast
from grader.kinds.student_run import RUN_OUTCOMES, bounded_output, forbidden_message, static_error
from grader.limits import Limits
from grader.result import ProblemResult, Status, TestResult, split_points
from grader.sandbox.runner import Call, CaseRun, Executor, Job, RunStatus
from grader.problems.source import check_sources
from grader.kinds.function.rules import check_function_spec
from grader.problems.spec import Problem
from grader.problems.submission import Submission, find_module
from grader.problems.locations import private_paths

if TYPE_CHECKING:
    from grader.problems.bank import Bank


class Failed:
    """A trusted run whose step failed the way a student's can (child_steps.StepFailure)."""

    def __init__(self, message: str):
        self.message = message


def defined_names(problem: Problem) -> list[str]:
    """The names the student's code must define: the entry point, then `functions`."""
    return [problem.entry_point] + [f["name"] for f in problem.spec.get("functions", [])]


def signatures(problem: Problem) -> list[str]:
    return [problem.signature] + [f["signature"] for f in problem.spec.get("functions", [])]


def reference_names(problem: Problem, bank: Bank, mistake: dict | None = None) -> dict:
    """The reference's function for each defined name (its module is the spec's `reference`'s);
    with `mistake`, the one it `replaces` (default: the entry point) is the mistake's."""
    module = problem.spec["reference"].partition(":")[0]
    names = {name: bank.load_callable(f"{module}:{name}") for name in defined_names(problem)}
    if mistake is not None:
        names[mistake.get("replaces", problem.entry_point)] = bank.load_callable(
            mistake["impl"], what=f"mistake '{mistake['name']}'")
    return names


def case_namespace(problem: Problem, case: dict, seed: int) -> tuple[list[Argument], dict]:
    """A case's generated inputs, and its starting namespace: the inputs and the spec's `values`."""
    args = case_arguments(problem, case, seed) if problem.spec.get("inputs") else []
    names = {a.name: a.value for a in args}
    names.update((k, child_steps.copy_plain(v)) for k, v in case_values(problem, case).items())
    return args, names


def case_values(problem: Problem, case: dict) -> dict:
    """The spec's plain `values` of a case (the problem's, then the case's own)."""
    return {**problem.spec.get("values", {}), **case.get("values", {})}


def _with_grad(problem: Problem, names: dict) -> dict:
    for key in problem.spec.get("requires_grad", []):
        names[key] = names[key].requires_grad_(True)
    return names


def run_trusted(problem: Problem, functions: dict, names: dict, precision: str, where: str):
    """The compared values of the steps run on trusted functions (a list, one dict per call), or
    Failed when a step fails as a student's can. Anything else a step raises is a SpecError."""
    steps = problem.spec["steps"]

    def lookup(name):
        return functions[name]

    try:
        native = child_steps.run_steps(steps, _with_grad(problem, clone(names)), lookup)
        if precision == "native":
            return native
        high = child_steps.run_steps(steps, _with_grad(problem, upcast(names)), lookup)
    except child_steps.StepError as exc:
        if isinstance(exc.cause, child_steps.StepFailure):
            return Failed(f"{exc.step}: {exc.cause}")
        raise SpecError(f"{where} failed at {exc.step}: {type(exc.cause).__name__}: {exc.cause}",
                        "The reference must run on every case; fix reference/ or the case.") from None
    return cast_like(high, native, where)


def prepare_cases(problem: Problem, bank: Bank, seed: int = 0, device: str = "all") -> list[PreparedCase]:
    """Every case with its namespace, the child's program and the reference's compared values."""
    functions = reference_names(problem, bank)
    precision = problem.spec.get("reference_precision", "float64")
    program = {"steps": problem.spec["steps"], "defines": defined_names(problem),
               "requires_grad": problem.spec.get("requires_grad", [])}
    prepared = []
    for case in problem.cases:
        args, names = case_namespace(problem, case, seed)
        where = f"{problem.path}: the reference on case '{case['name']}'"
        expected = run_trusted(problem, functions, names, precision, where)
        if isinstance(expected, Failed):
            raise SpecError(f"{where}: {expected.message}", "The reference must pass its own steps.")
        call = Call(name=case["name"], args=[], kwargs={}, text=f"the steps of case '{case['name']}'",
                    time_limit=case.get("time_limit"), plan={**program, "names": names})
        prepared.append(PreparedCase(case, args, call, expected))
    return prepared


def mistake_run(problem: Problem, bank: Bank, prepared: PreparedCase, mistake: dict):
    """A known mistake's compared values on a case (Failed, or CANNOT_RUN if it raised), once per case."""
    key = mistake["name"]
    if key not in prepared.mistake_outputs:
        precision = mistake.get("precision", problem.spec.get("reference_precision", "float64"))
        try:
            out = run_trusted(problem, reference_names(problem, bank, mistake), prepared.call.plan["names"], precision,
                              f"{problem.path}: mistake '{key}' on case '{prepared.name}'")
        except SpecError:
            out = CANNOT_RUN
        prepared.mistake_outputs[key] = out
    return prepared.mistake_outputs[key]


def mistake_values(problem: Problem, bank: Bank, prepared: PreparedCase, mistake: dict):
    """A mistake's compared values, for matching by value (CANNOT_RUN when it failed)."""
    out = mistake_run(problem, bank, prepared, mistake)
    return CANNOT_RUN if isinstance(out, Failed) else out


# ---------------------------------------------------------------- comparing

def first_difference(problem: Problem, prepared: PreparedCase, actual, expected, against: str = "reference") -> str | None:
    """None when every compared value matches, else which step and value differ, and how."""
    if not isinstance(actual, list) or len(actual) != len(expected) or \
            not all(isinstance(a, dict) and a.keys() == e.keys() for a, e in zip(actual, expected)):
        return "the values sent back do not match the problem's steps"
    latest: dict = {}
    expanded = [step for _, _, step in child_steps.expand(problem.spec["steps"])]
    for label, step, got, want in zip(child_steps.labels(problem.spec["steps"]), expanded, actual, expected):
        for path in step.get("compare", []):
            message = check_output(problem, prepared.case, got[path], want[path], prepared.args, against=against)
            if message is not None:
                return f"{label}: `{path}`: {message}"
        latest.update(got)
        for analytic, numeric in step.get("agree", {}).items():
            mismatch = cmp.compare(latest[analytic], latest[numeric], overrides=gradcheck_tolerance(latest[numeric]),
                                   dtypes="loose")
            if mismatch is not None:
                return (f"{label}: `{analytic}` (your analytic gradient) does not match `{numeric}`, the numerical "
                        f"gradient of your own forward: {mismatch.message}")
    return None


def gradcheck_tolerance(numeric) -> dict:
    """How close an analytic gradient must be to central differences of the same code (h = 1e-5):
    round-off in the forward, divided by 2h, grows with the size of the values (1e-4 of the
    largest gradient for inputs in the thousands), so the tolerance is relative to the largest
    numerical gradient, not to each element. A wrong gradient is off by far more."""
    import numpy as np

    try:
        scale = max(1.0, float(np.max(np.abs(np.asarray(numeric, dtype=np.float64)))))
    except (TypeError, ValueError):
        scale = 1.0
    return {"float64": {"rtol": 1e-5, "atol": 1e-4 * scale}, "float32": {"rtol": 1e-2, "atol": 1e-2 * scale},
            "float": {"rtol": 1e-5, "atol": 1e-4 * scale}}


def _test_result(problem: Problem, bank: Bank, prepared: PreparedCase, run: CaseRun, max_score: float,
                 seed: int) -> TestResult:
    test = TestResult(name=prepared.name, score=0.0, max_score=max_score, status=Status.FAILED,
                      visible=prepared.visible, seconds=run.seconds)
    if run.status is not RunStatus.OK:
        test.outcome = RUN_OUTCOMES[run.status]
        test.output = run.message
        if run.status is RunStatus.BAD_OUTPUT:  # a step that failed the way a known mistake does
            for mistake in problem.spec.get("mistakes", []):
                out = mistake_run(problem, bank, prepared, mistake)
                if isinstance(out, Failed) and out.message == run.message:
                    test.mistake = mistake["name"]
                    test.output += f"\nThis matches a known mistake ({mistake['name']}): {mistake['feedback']}"
                    break
        return test
    message = first_difference(problem, prepared, run.value, prepared.expected)
    if message is None:
        test.status, test.score, test.outcome = Status.PASSED, max_score, "passed"
        return test
    test.outcome = "wrong"
    seed_flag = f" --seed {seed}" if seed else ""
    test.output = f"{message}\nRebuild this case: grader show {problem.id} --case {prepared.case['name']}{seed_flag}"
    return test


def grade_steps(problem: Problem, submission: Submission, *, bank: Bank, executor: Executor, seed: int = 0,
                limits: Limits | None = None, student: str | None = None, prepared: list[PreparedCase] | None = None,
                module_name: str | None = None, device: str = "all") -> ProblemResult:
    """Grade one submission for one steps problem: one test per case."""
    start = time.monotonic()
    prepared = prepared if prepared is not None else prepare_cases(problem, bank, seed, device)
    max_scores = split_points(problem.points, [p.weight for p in prepared])
    checked = check_sources(submission.files, problem.entry_point, problem.spec.get("forbidden", []))
    module = find_module(submission, problem.entry_point, module_name, checked)
    result = ProblemResult.empty(problem, submission=submission.label, seed=seed, student=student,
                                 feedback=list(submission.notes))
    error = static_error(problem, submission, module, checked)
    if error is None:
        base = (limits or Limits()).with_overrides(problem.spec.get("limits"))
        job = Job(files=submission.files, module=module, entry_point=problem.entry_point,
                  framework=problem.framework, calls=[p.call for p in prepared], limits=base,
                  label=f"{submission.label}:{problem.id}", forbidden=problem.spec.get("forbidden", []), mode="steps",
                  hide=private_paths(getattr(bank, "root", None)))
        run = executor.run(job)
        result.stdout, result.stderr = bounded_output(run.stdout, run.stdout_dropped), bounded_output(run.stderr, run.stderr_dropped)
        result.limits_hit = run.limits_hit
        if run.forbidden_calls:
            error = forbidden_message(run.forbidden_calls, " (seen while it ran)")
        elif run.load_error is not None:
            error = run.load_error
        else:
            runs = {r.name: r for r in run.cases}
            result.tests = [_test_result(problem, bank, p, runs[p.name], m, seed) for p, m in zip(prepared, max_scores)]
            name_mistakes(problem, bank, [(p, t, runs[p.name].value) for p, t in zip(prepared, result.tests)
                                          if t.outcome == "wrong"], output_of=mistake_values)
    if error is not None:
        result.error = error
        result.tests = [TestResult(name=p.name, score=0.0, max_score=m, status=Status.FAILED, visible=p.visible,
                                   output=f"not run: {error.splitlines()[0]}", outcome="not_run")
                        for p, m in zip(prepared, max_scores)]
    result.score = round(sum(t.score for t in result.tests), 9)
    named = {t.mistake for t in result.tests if t.mistake}
    for mistake in problem.spec.get("mistakes", []):
        if mistake["name"] in named and mistake.get("hint"):
            result.feedback.append(f"Hint ({mistake['name']}): {mistake['hint']}")
    if not result.passed and not named and problem.hints and not result.error:
        result.feedback.extend(f"Hint: {h}" for h in problem.hints)
    result.seconds = time.monotonic() - start
    return result


# ---------------------------------------------------------------- spec rules, `grader show`

def check_steps_spec(data: dict) -> list[str]:
    """Rules the schema cannot express: every name a step uses exists by then; mistakes replace a defined name."""
    problems = check_function_spec(data) if data.get("inputs") else []
    defined = [data["entry_point"]["name"]] + [f["name"] for f in data.get("functions", [])]
    known = set(data.get("inputs", {})) | set(data.get("values", {}))
    for case in data.get("cases", []):
        known |= set(case.get("values", {}))

    def heads(expr):
        if isinstance(expr, list):
            return [h for e in expr for h in heads(e)]
        if isinstance(expr, dict):
            return []
        return [expr.split("[")[0].split(".")[0]]

    compared: set = set()
    for i, step in enumerate(data.get("steps", [])):
        where = f"$.steps[{i}]"
        exprs = list(step.get("args", [])) + list(step.get("kwargs", {}).values()) + list(step.get("set", {}).values())
        exprs += [step["numgrad"]["upstream"]] if step.get("numgrad") else []
        for name in heads(exprs) + [t.split(".")[0] for t in step.get("set", {})]:
            if name not in known:
                problems.append(f"{where}: '{name}' is not an input, a value or kept by an earlier step")
        call = step["call"].split(".")[0]
        if call not in known and call not in defined:
            problems.append(f"{where}.call: '{call}' is neither defined by the student (entry_point, functions) "
                            "nor kept by an earlier step")
        keep = step.get("keep")
        known |= {keep} if isinstance(keep, str) else {k for k in keep or [] if k != "_"}
        for path in step.get("compare", []) + step.get("send", []):
            if path.split(".")[0] not in known:
                problems.append(f"{where}.compare: '{path}' names no input, value or kept value")
        compared |= set(step.get("compare", [])) | set(step.get("send", []))
        for analytic, numeric in step.get("agree", {}).items():
            for path in (analytic, numeric):
                if path not in compared:
                    problems.append(f"{where}.agree: '{path}' must be in `compare` or `send` of this step or an earlier one")
        numgrad = step.get("numgrad")
        if numgrad:
            for name in numgrad["wrt"]:
                if name not in step.get("args", []):
                    problems.append(f"{where}.numgrad.wrt: '{name}' is not one of the step's args")
    for i, mistake in enumerate(data.get("mistakes", [])):
        if mistake.get("replaces", defined[0]) not in defined:
            problems.append(f"$.mistakes[{i}].replaces: '{mistake['replaces']}' is not one of {', '.join(defined)}")
    return problems


def describe_steps(problem: Problem, seed: int, student: str | None, bank: Bank) -> dict:
    """`grader show`: what to define, the calls each case makes and what is compared."""
    from grader.problems.inputs import summarize, summarize_input

    procedure = []
    for step, label in zip(problem.spec["steps"], _step_lines(problem)):
        compared = ", ".join(step.get("compare", []))
        agree = ", ".join(f"{a} against {n}" for a, n in step.get("agree", {}).items())
        procedure.append(label + (f"; compared: {compared}" if compared else "")
                         + (f"; your gradients checked: {agree}" if agree else ""))
    cases = []
    for case in problem.cases:
        entry = {"name": case["name"], "visible": bool(case.get("visible", False)),
                 "weight": case.get("weight", 1), "description": case.get("description", "")}
        if entry["visible"]:
            # as case_namespace's names, but the inputs described without making tensors (no torch import)
            inputs = case_arguments(problem, case, seed, make=summarize_input) if problem.spec.get("inputs") else []
            entry["inputs"] = {a.name: a.value for a in inputs}
            entry["inputs"].update((name, summarize(value)) for name, value in case_values(problem, case).items())
        cases.append(entry)
    return {"entry_point": problem.entry_point, "signature": "; ".join(signatures(problem)),
            "forbidden": problem.spec.get("forbidden", []), "strictness": strictness(problem),
            "procedure": procedure, "cases": cases}


def _step_lines(problem: Problem) -> list[str]:
    lines = []
    for number, step in enumerate(problem.spec["steps"], 1):
        label = child_steps.step_label(number, 0, {**step, "repeat": 1})
        repeat = int(step.get("repeat", 1))
        keep = step.get("keep")
        kept = (f" -> {keep}" if isinstance(keep, str) else f" -> ({', '.join(keep)})") if keep else ""
        lines.append(label + kept + (f", {repeat} times ([i] is the call's number from 0)" if repeat > 1 else ""))
    return lines


def case_code(problem: Problem, case_name: str, seed: int, student: str | None) -> str:
    """Python that rebuilds a case's values and makes its calls (`grader show ID --case NAME`)."""
    case = problem.case(case_name)
    _, names = case_namespace(problem, case, seed)
    lines = [f"# Case '{case_name}' of {problem.id}" + (f" ({case['description']})" if case.get("description") else ""),
             "import torch" if problem.framework == "torch" else "import numpy as np",
             problem.import_line(", ".join(defined_names(problem))), ""]
    sources = {name: literal_source(value, problem.framework) if not isinstance(value, (dict, list)) else repr(value)
               for name, value in names.items()}
    if all(s is not None for s in sources.values()):
        lines += [f"{name} = {source}" for name, source in sources.items()]
    else:
        who = f", seed={seed}" if seed else ""
        lines += ["# The inputs are too big to print; the grader rebuilds them exactly:",
                  "from grader import case_inputs",
                  f"names = case_inputs({problem.id!r}, {case_name!r}{who})"]
        lines += [f"{name} = names[{name!r}]" for name in names]
    for name in problem.spec.get("requires_grad", []):
        lines.append(f"{name}.requires_grad_(True)")
    lines.append("")
    for number, step in enumerate(problem.spec["steps"], 1):
        repeat = int(step.get("repeat", 1))
        indent = "    " if repeat > 1 else ""
        if repeat > 1:
            lines.append(f"for i in range({repeat}):")
        for target, expr in step.get("set", {}).items():
            lines.append(f"{indent}{_target_code(target)} = {child_steps.expr_text(expr)}")
        args = [child_steps.expr_text(a) for a in step.get("args", [])] + \
            [f"{k}={child_steps.expr_text(v)}" for k, v in step.get("kwargs", {}).items()]
        keep = step.get("keep")
        kept = (f"{keep} = " if isinstance(keep, str) else f"{', '.join(keep)} = ") if keep else ""
        lines.append(f"{indent}{kept}{step['call']}({', '.join(args)})  # step {number}")
        for path in step.get("compare", []):
            lines.append(f"{indent}print({path!r}, {_target_code(path)})")
    return "\n".join(lines)


def _target_code(path: str) -> str:
    """A path as Python: dict keys for the names the spec gives as dicts ("config.t" -> config['t'])."""
    head, *rest = path.split(".")
    return head + "".join(f".{part}" if part in ("grad", "data") else f"[{part!r}]" for part in rest)


# ---------------------------------------------------------------- `grader validate`

def validate_steps(problem: Problem, bank: Bank, executor, report) -> None:
    """The reference passes through the real child, every mistake fails a hidden case and is named
    as itself, inputs are the same per seed, the starter scores 0 (grader.authoring.validate's checks)."""
    from grader.kinds.function import validate as v
    from grader.result import MistakeResult
    from grader.kinds.function.kind import matching_mistakes
    from grader.kinds.function.performance import reference_submission

    missing = [name for name in defined_names(problem) if name not in problem.statement]
    report.add("statement", not missing, f"the statement never names {', '.join(missing)}" if missing else "")
    if problem.spec.get("inputs"):
        v.check_inputs(problem, report)
    prepared = prepare_cases(problem, bank, seed=0)
    submission, module, _ = reference_submission(problem, bank)
    result = grade_steps(problem, submission, bank=bank, executor=executor, prepared=prepared, module_name=module)
    failed = [f"case '{t.name}': {t.output}" for t in result.tests if not t.passed]
    report.add("reference", result.error is None and not failed,
               result.error or "; ".join(failed[:3]) or f"passes its {len(prepared)} cases in the child")
    hidden = [p for p in prepared if not p.visible]
    problems = [] if hidden else ["the problem has no hidden case"]
    for mistake in problem.spec.get("mistakes", []):
        killed, recognised = [], False
        for p in hidden:
            out = mistake_run(problem, bank, p, mistake)
            if isinstance(out, Failed):
                killed.append(p.name)
                first = next(m for m in problem.spec["mistakes"] if isinstance(mistake_run(problem, bank, p, m), Failed)
                             and mistake_run(problem, bank, p, m).message == out.message)
                recognised = recognised or first is mistake
            elif out is CANNOT_RUN or first_difference(problem, p, out, p.expected) is not None:
                killed.append(p.name)
                if out is not CANNOT_RUN and not recognised:
                    found = matching_mistakes(problem, bank, p, out, mistake_values)
                    recognised = bool(found) and found[0]["name"] == mistake["name"]
        report.mistakes.append(MistakeResult(mistake["name"], killed, recognised))
        if not killed:
            problems.append(f"mistake '{mistake['name']}' passes every hidden case; add a hidden case it fails")
        elif not recognised:
            problems.append(f"mistake '{mistake['name']}' fails hidden cases but is never recognised as itself")
    total = len(problem.spec.get("mistakes", []))
    if total < 3:
        problems.append(f"only {total} known mistakes (at least 3 expected)")
    report.add("mistakes", not problems, "; ".join(problems) if problems else f"{report.killed}/{total} killed")
    starter = Submission(f"starter of {problem.id}", {problem.starter_file: problem.spec["starter"].encode()})
    graded = grade_steps(problem, starter, bank=bank, executor=executor, prepared=prepared)
    report.add("starter", graded.score == 0 and not graded.grader_error,
               f"the starter stub scores {graded.score:g}" if graded.score else "scores 0")


class StepsKind(Kind):
    """The student's functions and methods, called in sequence with values kept between the calls."""

    name = "steps"
    scaffold_template = "steps"

    def check_spec(self, problem) -> list[str]:
        return check_steps_spec(problem.spec)

    def grade(self, problem, submission, **options):
        return grade_steps(problem, submission, **options)

    def describe(self, problem, seed, student, bank) -> dict:
        return describe_steps(problem, seed, student, bank)

    def prepare(self, problem, bank, seed, device="all"):
        return prepare_cases(problem, bank, seed, device)

    def validate(self, problem, bank, executor, report) -> None:
        validate_steps(problem, bank, executor, report)

    def case_named(self, problem, name: str) -> dict:
        return problem.case(name)

    def case_inputs(self, problem, case_name: str, seed: int, bank) -> dict:
        return case_namespace(problem, problem.case(case_name), seed)[1]  # the spec's `values` too

    def case_code(self, problem, case_name: str, seed: int, student: str | None, bank) -> str | None:
        return case_code(problem, case_name, seed, student)
