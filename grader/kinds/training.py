"""Kind `training`: the student's code trains a model; its predictions on held-out points are scored.

Per case, a trusted data function (reference/, `data` in the spec) makes the training inputs and
the held-out points with their labels from the seed. The child (grader/child_training.py) gets
the training inputs and the held-out inputs only: it seeds, calls the student's function within
the CPU budget and returns the model's predictions. Here, in the trusted process, they are
scored against the labels: full marks at `metric.full` or better, none at `metric.zero` or worse,
linear between. Each case is its own job (its own child), so its CPU limit is its own budget.

A problem may ship fixture files (`fixtures`, from problems/<topic>/fixtures/): the child gets
them under fixtures/ in its work folder, readable and not writable.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import SpecError
from grader.kinds.base import Kind
from grader.problems.inputs import stream
from grader.kinds.student_run import RUN_OUTCOMES, bounded_output, exception_hint, forbidden_message, static_error
from grader.limits import Limits
from grader.result import ProblemResult, Status, TestResult, split_points
from grader.sandbox.runner import Call, CaseRun, Executor, Job, RunStatus
from grader.problems.source import check_sources
from grader.problems.spec import Problem
from grader.problems.submission import Submission, find_module
from grader.problems.locations import private_paths

if TYPE_CHECKING:
    from grader.problems.bank import Bank

#: CPU seconds the child gets beyond the training budget: starting (a fresh child imports torch)
#: and predicting. The budget itself is enforced in the child by a soft CPU limit.
CPU_SLACK = 10.0
FIXTURES = "fixtures"  #: the read-only folder of the work folder that holds a problem's fixture files
MAX_FIXTURE_BYTES = 8 << 20  #: all of a problem's fixture files together
#: `grader validate`: the reference may use at most this share of the CPU budget
MAX_REFERENCE_SHARE = 0.8
#: metric name -> True when higher is better
METRICS = {"accuracy": True, "mse": False}


@dataclass
class TrainingCase:
    """One case, ready to run: the call the child makes and the labels it never sees."""

    case: dict
    call: Call
    labels: Any = field(repr=False)
    heldout_count: int = 0
    inputs: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.case["name"]

    @property
    def visible(self) -> bool:
        return bool(self.case.get("visible", False))


# ---------------------------------------------------------------- spec


def budget(problem: Problem) -> dict:
    """{"cpu": training CPU seconds, "wall": wall seconds per case}."""
    data = problem.spec["budget"]
    return {"cpu": float(data["cpu"]), "wall": float(data.get("wall", 2 * data["cpu"] + 30))}


def fixtures_dir(problem: Problem) -> Path:
    """Where a problem's fixture files live: problems/<topic>/fixtures/ beside its spec."""
    return problem.path.parent / FIXTURES


def fixture_files(problem: Problem) -> dict[str, bytes]:
    """The files the child gets read-only, by their path in its work folder."""
    files = {}
    for name in problem.spec.get("fixtures", []):
        path = fixtures_dir(problem) / name
        try:
            files[f"{FIXTURES}/{name}"] = path.read_bytes()
        except OSError as exc:
            raise SpecError(f"{problem.path}: $.fixtures: cannot read {path}: {exc.strerror or exc}",
                            f"Make it with the script in {fixtures_dir(problem)} (make_*.py).") from None
    if sum(map(len, files.values())) > MAX_FIXTURE_BYTES:
        raise SpecError(f"{problem.path}: $.fixtures: more than {MAX_FIXTURE_BYTES >> 20} MB of fixture files")
    return files


def check_training_spec(data: dict) -> list[str]:
    """Rules the schema cannot express."""
    errors = []
    metric = data.get("metric", {})
    higher = METRICS.get(metric.get("name"), True)
    if "full" in metric and "zero" in metric and (metric["full"] <= metric["zero"]) == higher:
        better = "above" if higher else "below"
        errors.append(f"$.metric: full ({metric['full']}) must be {better} zero ({metric['zero']}) for {metric['name']}")
    if metric.get("name") == "accuracy" and "classes" not in metric:
        errors.append("$.metric.classes: accuracy needs the number of classes (the model returns (m, classes) scores)")
    names = [c["name"] for c in data.get("cases", [])]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        errors.append(f"$.cases: case name '{dup}' is used twice")
    if data.get("cases") and all(c.get("visible") for c in data["cases"]):
        errors.append("$.cases: a training problem needs a hidden case (mistakes must fail one)")
    for i, name in enumerate(data.get("fixtures", [])):
        if "/" in name or "\\" in name or name.startswith("."):
            errors.append(f"$.fixtures[{i}]: '{name}' must be a plain file name in the topic's fixtures/ folder")
    mistakes = [m["name"] for m in data.get("mistakes", [])]
    for dup in sorted({n for n in mistakes if mistakes.count(n) > 1}):
        errors.append(f"$.mistakes: mistake name '{dup}' is used twice")
    for i, mistake in enumerate(data.get("mistakes", [])):
        if not mistake.get("detect"):
            errors.append(f"$.mistakes[{i}].detect: a training mistake needs a detector (affine, metric or shape), "
                          "so students who make it are told")
    return errors


# ---------------------------------------------------------------- data


def case_seed(problem: Problem, case: dict, seed: int) -> int:
    """The seed of one case's data and of the child's random state, the same on every machine."""
    return int(stream(seed, problem.id, case["name"], "training").integers(0, 2**31 - 1))


def task_data(problem: Problem, bank: Bank, case: dict, seed: int) -> dict:
    """The data function's {"inputs": {name: value}, "heldout": ..., "labels": ...} for a case."""
    make = bank.load_callable(problem.spec["data"], what="data")
    params = dict(case.get("data", {}))
    if problem.spec.get("fixtures"):
        params["fixtures"] = fixtures_dir(problem)
    where = f"{problem.path}: the data function {problem.spec['data']} on case '{case['name']}'"
    try:
        data = make(seed=case_seed(problem, case, seed), **params)
    except SpecError:
        raise
    except Exception as exc:
        raise SpecError(f"{where} failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(data, dict) or not {"inputs", "heldout", "labels"} <= set(data) \
            or not isinstance(data["inputs"], dict):
        raise SpecError(f"{where} must return a dict with 'inputs' (a dict of arguments), 'heldout' and 'labels'")
    if _array(data["labels"]) is None:
        raise SpecError(f"{where}: 'labels' must be a tensor or an array, got {type(data['labels']).__name__}")
    if len(data["heldout"]) != len(data["labels"]):
        raise SpecError(f"{where}: 'heldout' has {len(data['heldout'])} points but 'labels' {len(data['labels'])}")
    return data


def prepare_cases(problem: Problem, bank: Bank, seed: int = 0) -> list[TrainingCase]:
    prepared = []
    for case in problem.cases:
        data = task_data(problem, bank, case, seed)
        names = list(data["inputs"])
        call = Call(name=case["name"], args=list(data["inputs"].values()), kwargs={},
                    text=f"{problem.entry_point}({', '.join(names)})", time_limit=budget(problem)["wall"],
                    plan={"heldout": data["heldout"], "seed": case_seed(problem, case, seed),
                          "cpu_budget": budget(problem)["cpu"], "predict": problem.spec.get("predict", "forward")})
        prepared.append(TrainingCase(case, call, data["labels"], len(data["labels"]), data["inputs"]))
    return prepared


# ---------------------------------------------------------------- scoring


def _array(value):
    """A float64 NumPy copy of a tensor or array (None for anything else)."""
    import numpy as np

    if type(value) is np.ndarray:
        return value.astype(np.float64) if value.dtype.kind in "biuf" else None
    torch = _torch()
    if torch is not None and type(value) is torch.Tensor and not value.is_complex():
        return value.detach().to(torch.float64).numpy() if value.dtype != torch.bool else None
    return None


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover
        return None
    return torch


def expected_shape(problem: Problem, prepared: TrainingCase) -> tuple:
    metric = problem.spec["metric"]
    if metric["name"] == "accuracy":
        return (prepared.heldout_count, int(metric["classes"]))
    return tuple(getattr(prepared.labels, "shape", (prepared.heldout_count,)))


def metric_value(problem: Problem, output, labels) -> float:
    """The metric of float64 predictions against the labels."""
    import numpy as np

    truth = _array(labels)
    if problem.spec["metric"]["name"] == "accuracy":
        return float(np.mean(np.argmax(output, axis=1) == truth))
    return float(np.mean((output - truth) ** 2))


def fraction(problem: Problem, value: float) -> float:
    """Share of the case's points: 1 at `full` or better, 0 at `zero` or worse, linear between."""
    metric = problem.spec["metric"]
    share = (value - metric["zero"]) / (metric["full"] - metric["zero"])
    return min(1.0, max(0.0, share))


def is_affine(inputs, output) -> bool:
    """Whether the outputs are an affine function of the inputs (a linear model, or layers without
    a nonlinearity between them), and not a constant."""
    import numpy as np

    x = _array(inputs)
    output = output.reshape(len(output), -1) if output.ndim == 1 else output
    if x is None or x.ndim != 2 or output.ndim != 2 or len(x) <= x.shape[1] + 1:
        return False
    centred = output - output.mean(axis=0)
    scale = float(np.abs(centred).max())
    if scale < 1e-6:
        return False
    design = np.hstack([x, np.ones((len(x), 1))])
    coef, *_ = np.linalg.lstsq(design, output, rcond=None)
    return float(np.abs(design @ coef - output).max()) <= 1e-4 * scale


def detected_mistake(problem: Problem, prepared: TrainingCase, output, shape, value: float | None) -> dict | None:
    """The first known mistake whose detector fits this case's output (all its conditions hold)."""
    for mistake in problem.spec.get("mistakes", []):
        detect = mistake["detect"]
        if "shape" in detect:
            want = tuple(prepared.heldout_count if d == "m" else d for d in detect["shape"])
            if shape != want:
                continue
        if detect.get("affine") and (output is None or not is_affine(prepared.call.plan["heldout"], output)):
            continue
        if "metric" in detect:
            low, high = detect["metric"]
            if value is None or not low <= value < high:
                continue
        return mistake
    return None


def read_prediction(problem: Problem, prepared: TrainingCase, value) -> tuple[Any, tuple | None, str | None, float | None]:
    """(float64 predictions or None, their shape or None, what is wrong with them or None, CPU seconds)."""
    if not isinstance(value, dict) or set(value) != {"output", "cpu_seconds"}:
        return None, None, "the child's result could not be read", None
    cpu = value["cpu_seconds"]
    cpu = float(cpu) if type(cpu) in (int, float) and 0 <= cpu <= 1e6 else None
    raw = value["output"]
    output = _array(raw)
    want = expected_shape(problem, prepared)
    if output is None:
        return None, None, (f"the model returned {type(raw).__name__}, not a tensor; return the predictions "
                            f"as a tensor of shape {want}"), cpu
    shape = tuple(output.shape)
    if shape != want:
        what = "scores (logits), one row per point and one column per class" if problem.spec["metric"]["name"] == \
            "accuracy" else "predictions"
        return output, shape, f"the model's output has shape {shape}, expected {want}: {what}", cpu
    import numpy as np

    bad = int(np.size(output) - np.isfinite(output).sum())
    if bad:
        return output, shape, f"{bad} of the model's outputs are not finite (inf or NaN)", cpu
    return output, shape, None, cpu


def _metric_text(problem: Problem, name: str, value: float, count: int) -> str:
    metric = problem.spec["metric"]
    sign = "≥" if METRICS[metric["name"]] else "≤"
    other = "≤" if METRICS[metric["name"]] else "≥"
    return (f"{name}: {metric['name']} {value:.4g} on {count} held-out points "
            f"(full marks at {sign} {metric['full']:g}, none at {other} {metric['zero']:g}, linear between)")


def score_case(problem: Problem, prepared: TrainingCase, run: CaseRun, max_score: float) -> TestResult:
    test = TestResult(name=prepared.name, score=0.0, max_score=max_score, status=Status.FAILED,
                      visible=prepared.visible, seconds=run.seconds, device="cpu")
    spent = budget(problem)
    if run.status is not RunStatus.OK:
        test.outcome = RUN_OUTCOMES[run.status]
        if run.status is RunStatus.CPU:
            test.output = (f"{prepared.call.text}: the training used more than its CPU budget of {spent['cpu']:g} s "
                           "(the process was stopped); train for fewer steps or a smaller model")
        elif run.status is RunStatus.TIMEOUT:
            test.output = (f"{prepared.call.text}: the case took longer than {spent['wall']:g} s of wall time "
                           "(a hang, or waiting on something?)")
        else:
            test.output = f"{prepared.call.text}: {run.message}"
            if run.status is RunStatus.EXCEPTION:
                test.output += exception_hint(run.message)
        return test
    output, shape, wrong, cpu = read_prediction(problem, prepared, run.value)
    value = None if wrong else metric_value(problem, output, prepared.labels)
    time_text = f"trained in {cpu:.1f} s of CPU (budget {spent['cpu']:g} s)" if cpu is not None else ""
    test.metric = {"name": problem.spec["metric"]["name"], "value": value, "full": problem.spec["metric"]["full"],
                   "zero": problem.spec["metric"]["zero"], "heldout": prepared.heldout_count,
                   "cpu_seconds": cpu, "cpu_budget": spent["cpu"]}
    if wrong:
        test.outcome, lines = "bad_output", [wrong]
    else:
        share = fraction(problem, value)
        test.score = max_score * share
        test.status = Status.PASSED if share >= 1.0 else Status.FAILED
        test.outcome = "passed" if share >= 1.0 else "wrong"
        lines = [_metric_text(problem, "score", value, prepared.heldout_count) + f": {share:.0%} of this case's points"]
    if time_text:
        lines.append(time_text)
    if not test.passed:
        mistake = detected_mistake(problem, prepared, output, shape, value)
        if mistake:
            test.mistake = mistake["name"]
            lines.append(f"This looks like a known mistake ({mistake['name']}): {mistake['feedback']}")
    test.output = "\n".join(lines)
    return test


# ---------------------------------------------------------------- grading


def job_limits(problem: Problem, limits: Limits | None) -> Limits:
    """The child's limits: the problem's, with CPU for the budget plus starting and predicting."""
    base = (limits or Limits()).with_overrides(problem.spec.get("limits"))
    return dataclasses.replace(base, cpu=min(base.cpu, budget(problem)["cpu"] + CPU_SLACK),
                               time=max(base.time, budget(problem)["wall"]))


def grade_training(problem: Problem, submission: Submission, *, bank: Bank, executor: Executor, seed: int = 0,
                   limits: Limits | None = None, student: str | None = None, module_name: str | None = None,
                   prepared: list[TrainingCase] | None = None, entry_point: str | None = None,
                   **_options) -> ProblemResult:
    """Grade one submission for one training problem (`entry_point`: another function name, for
    validating a trusted implementation under reference/)."""
    start = time.monotonic()
    prepared = prepared if prepared is not None else prepare_cases(problem, bank, seed)
    max_scores = split_points(problem.points, [float(p.case.get("weight", 1)) for p in prepared])
    result = ProblemResult.empty(problem, submission=submission.label, seed=seed, student=student,
                                 feedback=list(submission.notes))
    entry = entry_point or problem.entry_point
    if entry_point is not None:  # a trusted implementation (grader validate): its module is given
        module, error = module_name, None
    else:
        checked = check_sources(submission.files, entry, problem.spec.get("forbidden", []))
        module = find_module(submission, entry, module_name, checked)
        error = static_error(problem, submission, module, checked)
    if error is None:
        files = {**submission.files, **fixture_files(problem)}
        for p, max_score in zip(prepared, max_scores):
            job = Job(files=files, module=module, entry_point=entry, framework=problem.framework, calls=[p.call],
                      limits=job_limits(problem, limits), label=f"{submission.label}:{problem.id}:{p.name}",
                      forbidden=problem.spec.get("forbidden", []), mode="training",
                      readonly=[FIXTURES] if problem.spec.get("fixtures") else [], hide=private_paths(getattr(bank, "root", None)))
            run = executor.run(job)
            result.stdout += bounded_output(run.stdout, run.stdout_dropped)  # each case's child keeps output_kb of each
            result.stderr += bounded_output(run.stderr, run.stderr_dropped)
            result.limits_hit += [h for h in run.limits_hit if h not in result.limits_hit]
            if run.forbidden_calls:
                error = forbidden_message(run.forbidden_calls, " (seen while it ran)")
                break
            if run.load_error is not None:
                error = run.load_error
                break
            result.tests.append(score_case(problem, p, run.cases[0], max_score))
    if error is not None:
        result.error = error
        result.tests = [TestResult(name=p.name, score=0.0, max_score=m, status=Status.FAILED, visible=p.visible,
                                   output=f"not run: {error.splitlines()[0]}", outcome="not_run")
                        for p, m in zip(prepared, max_scores)]
    result.score = round(sum(t.score for t in result.tests), 9)
    named = []
    for test in result.tests:
        if test.mistake and test.mistake not in named:
            named.append(test.mistake)
    for mistake in problem.spec.get("mistakes", []):
        if mistake["name"] in named and mistake.get("hint"):
            result.feedback.append(f"Hint ({mistake['name']}): {mistake['hint']}")
    if not result.passed and not named and problem.hints and not result.error:
        result.feedback.extend(f"Hint: {h}" for h in problem.hints)
    result.seconds = time.monotonic() - start
    return result


# ---------------------------------------------------------------- grader show


def describe_training(problem: Problem, seed: int, student: str | None, bank: Bank) -> dict:
    """Extra `grader show` fields: the call, the data of each visible case, the metric and budget."""
    from grader.problems.inputs import summarize

    metric, spent = problem.spec["metric"], budget(problem)
    lines = [f"Your {problem.entry_point}() trains on the data below and returns a model; the grader "
             f"predicts held-out points you never see the labels of.", _scoring_line(problem), _budget_line(problem)]
    if problem.spec.get("fixtures"):
        lines.append("Files you can read (not write): " + ", ".join(f"{FIXTURES}/{n}" for n in problem.spec["fixtures"]))
    cases = []
    for p in prepare_cases(problem, bank, seed):
        entry = {"name": p.name, "visible": p.visible, "description": p.case.get("description", ""),
                 "heldout": p.heldout_count}
        if p.visible:
            entry["inputs"] = {name: summarize(value) for name, value in p.inputs.items()}
        cases.append(entry)
    for case in cases:
        lines.append(f"  case {case['name']}{' (hidden)' if not case['visible'] else ''}: "
                     + (", ".join(f"{k}: {v}" for k, v in case.get("inputs", {}).items()) + "; " if case.get("inputs") else "")
                     + f"{case['heldout']} held-out points")
    return {"entry_point": problem.entry_point, "signature": problem.signature,
            "forbidden": problem.spec.get("forbidden", []), "training_cases": cases,
            "metric": dict(metric), "budget": spent, "training": lines}


def _scoring_line(problem: Problem) -> str:
    metric = problem.spec["metric"]
    higher = METRICS[metric["name"]]
    return (f"Scored by {metric['name']} on the held-out points: full marks at {'≥' if higher else '≤'} "
            f"{metric['full']:g}, none at {'≤' if higher else '≥'} {metric['zero']:g}, linear between.")


def _budget_line(problem: Problem) -> str:
    spent = budget(problem)
    return (f"Budget: {spent['cpu']:g} s of CPU for training (one thread), {spent['wall']:g} s of wall time "
            "per case. Seeds are set before your function runs.")


def case_code(problem: Problem, case_name: str, seed: int, bank: Bank) -> str:
    """`grader show ID --case NAME`: what the grader does in a case (budget, metric and threshold,
    held-out points) and, for a visible case, Python that rebuilds its training data and trains on
    it with the same seeds. The held-out labels are never shown; nor is a hidden case's data."""
    from grader.problems.inputs import literal_source, summarize

    case = problem.case(case_name)
    data = task_data(problem, bank, case, seed)
    how = problem.spec.get("predict", "forward")
    predicts = "in eval mode without gradients" if how == "forward" else f"with model.{how}(...)"
    hidden = not case.get("visible", False)
    lines = [f"# Case '{case_name}' of {problem.id}" + (" (hidden)" if hidden else "")
             + (f": {case['description']}" if case.get("description") else ""),
             f"# The grader calls {problem.entry_point}({', '.join(data['inputs'])}) once, then predicts "
             f"{len(data['labels'])} held-out points {predicts}.",
             f"# {_scoring_line(problem)}", f"# {_budget_line(problem)}"]
    if hidden:
        return "\n".join(lines + [f"# A hidden case's data is not shown: 'grader show {problem.id}' describes the "
                                  "visible cases, whose data is made the same way."])
    sources = {name: literal_source(value, problem.framework) for name, value in data["inputs"].items()}
    uses_torch = problem.framework == "torch"
    lines += ["import random", "", "import numpy as np"] + (["import torch"] if uses_torch else []) + \
             [problem.import_line(problem.entry_point), ""]
    if all(source is not None for source in sources.values()):
        lines += [f"{name} = {source}" for name, source in sources.items()]
    else:
        lines += ["# The training data is too big to print; the grader rebuilds it exactly:",
                  "from grader import case_inputs",
                  f"inputs = case_inputs({problem.id!r}, {case_name!r}" + (f", seed={seed})" if seed else ")")]
        lines += [f"{name} = inputs[{name!r}]  # {summarize(value)}" for name, value in data["inputs"].items()]
    if problem.spec.get("fixtures"):
        lines.append(f"# Run it where {FIXTURES}/ holds " + ", ".join(problem.spec["fixtures"]) + ".")
    number = case_seed(problem, case, seed)
    seeds = f"random.seed({number}); np.random.seed({number % 2**32})" + (f"; torch.manual_seed({number})" if uses_torch else "")
    lines += ["", f"{seeds}  # the grader's seeds for this case",
              f"model = {problem.entry_point}({', '.join(data['inputs'])})", "print(model)"]
    return "\n".join(lines)


# ---------------------------------------------------------------- grader validate


def validate_training(problem: Problem, bank: Bank, executor, report) -> None:
    """The reference reaches full marks within the budget (its training time reported), each
    mistake scores below full on a hidden case and is named as itself, the same data per seed,
    the starter scores below full."""
    from grader.compare import tensors as cmp
    from grader.kinds.function.performance import reference_submission

    entry = problem.entry_point
    report.add("statement", entry in problem.statement,
               "" if entry in problem.statement else f"the statement never names the entry point '{entry}'")
    exact = {k: {"rtol": 0.0, "atol": 0.0} for k in ("float16", "bfloat16", "float32", "float64", "float")}
    same, differ = True, False
    for case in problem.cases:
        first, again, other = (task_data(problem, bank, case, s) for s in (0, 0, 1))
        same &= cmp.compare(again, first, overrides=exact) is None
        differ |= cmp.compare(other, first, overrides=exact) is not None
    fixed = bool(problem.spec.get("fixtures"))  # data read from fixture files may be the same for every seed
    report.add("inputs", same and (differ or fixed),
               "the data function gives different data for the same seed" if not same
               else "seeds 0 and 1 give the same data for every case" if not (differ or fixed)
               else "the same data per seed" + (", other data for another seed" if differ else
                                                " (fixed data from the fixture files)"))
    prepared = prepare_cases(problem, bank, 0)
    hidden_cases = [p for p in prepared if not p.visible]

    def run(impl: str, cases: list[TrainingCase]):
        submission, module, func = reference_submission(problem, bank, impl)
        return grade_training(problem, submission, bank=bank, executor=executor, prepared=cases,
                              module_name=module, entry_point=func)

    # Every run trains a model (seconds of CPU each): they run at once, a child each. A mistake
    # runs on the hidden cases only, the only ones its verdict looks at.
    mistakes = problem.spec.get("mistakes", [])
    starter = problem.spec.get("starter")
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        reference_run = pool.submit(run, problem.spec["reference"], prepared)
        mistake_runs = [pool.submit(run, mistake["impl"], hidden_cases) for mistake in mistakes]
        starter_run = pool.submit(grade_training, problem, Submission(f"starter of {problem.id}",
                                                                      {f"{entry}.py": starter.encode()}),
                                  bank=bank, executor=executor, prepared=prepared) if starter else None

    result = reference_run.result()
    spent = budget(problem)["cpu"]
    times = [t.metric["cpu_seconds"] for t in result.tests if t.metric and t.metric.get("cpu_seconds") is not None]
    problems = [f"case '{t.name}': {t.output.splitlines()[0] if t.output else t.outcome}"
                for t in result.tests if not t.passed]
    if result.error:
        problems.insert(0, result.error.splitlines()[0])
    slow = [t for t in times if t > MAX_REFERENCE_SHARE * spent]
    if slow:
        problems.append(f"the reference trains in {max(slow):.1f} s of CPU, more than {MAX_REFERENCE_SHARE:.0%} of the "
                        f"budget of {spent:g} s: correct solutions would have no margin; raise the budget")
    report.add("reference", not problems, "; ".join(problems) if problems else
               f"full marks on {len(result.tests)} cases; trains in {max(times, default=0):.1f} s of CPU "
               f"(budget {spent:g} s)")
    if not problems:  # the line `grader validate` prints says how much of the budget the reference uses
        report.add("budget", True, f"reference trains in {max(times, default=0):.1f} s of CPU (budget {spent:g} s)")
    from grader.result import MistakeResult

    failures = []
    hidden = {p.name for p in hidden_cases}
    for mistake, mistake_run in zip(mistakes, mistake_runs):
        graded = mistake_run.result()
        killed = [t.name for t in graded.tests if t.name in hidden and not t.passed]
        recognised = any(t.mistake == mistake["name"] for t in graded.tests if t.name in hidden)
        report.mistakes.append(MistakeResult(mistake["name"], killed, recognised))
        if not killed:
            failures.append(f"mistake '{mistake['name']}' gets full marks on every hidden case")
        elif not recognised:
            found = {t.mistake for t in graded.tests if t.name in hidden} - {None}
            failures.append(f"mistake '{mistake['name']}' loses marks but is not recognised as itself"
                            + (f" (named {', '.join(sorted(found))})" if found else ""))
    if len(mistakes) < 3:
        failures.append(f"only {len(mistakes)} known mistakes (at least 3 expected)")
    report.add("mistakes", not failures, "; ".join(failures) if failures else
               f"{report.killed}/{len(report.mistakes)} killed")
    if starter_run is not None:
        graded = starter_run.result()
        report.add("starter", not graded.passed and not graded.grader_error,
                   "scores below full" if not graded.passed else "the starter stub gets full marks")


class TrainingKind(Kind):
    """The student's code trains a model; its predictions on held-out points are scored."""

    name = "training"
    scaffold_template = "training"
    trains_models = True

    def check_spec(self, problem) -> list[str]:
        return check_training_spec(problem.spec)

    def grade(self, problem, submission, **options):
        return grade_training(problem, submission, **options)

    def describe(self, problem, seed, student, bank) -> dict:
        return describe_training(problem, seed, student, bank)

    def prepare(self, problem, bank, seed, device="all"):
        return prepare_cases(problem, bank, seed)

    def validate(self, problem, bank, executor, report) -> None:
        validate_training(problem, bank, executor, report)

    def data_folders(self, problem) -> list[Path]:
        # all of fixtures/: the child's files and those only the data function reads (held-out rows)
        return [fixtures_dir(problem)] if problem.spec.get("fixtures") else []

    def case_named(self, problem, name: str) -> dict:
        return problem.case(name)

    def case_inputs(self, problem, case_name: str, seed: int, bank) -> dict:
        return task_data(problem, bank, problem.case(case_name), seed)["inputs"]  # the training inputs

    def case_code(self, problem, case_name: str, seed: int, student: str | None, bank) -> str:
        return case_code(problem, case_name, seed, bank)
