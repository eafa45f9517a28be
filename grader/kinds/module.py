"""Kind `module`: the student defines a class (an nn.Module, or a plain class for NumPy courses).

Each case builds the student's class with the case's constructor arguments, checks its parameters
against the contract (the reference's names and shapes, or its shapes in registration order), sets
known weights (drawn from the seed, the same for the reference and the student), puts the module
in train or eval mode and makes the spec's calls. A call with `gradients` gets an upstream
gradient from the grader; the child back-propagates it and returns the gradients of the named
inputs and of every parameter. Everything is compared here, against the reference class run in
float64 on the same weights; a known mistake (a wrong class) that gives the student's numbers is
named. The child-side half is grader/child_module.py.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.compare import tensors as cmp
from grader.errors import SpecError
from grader.kinds.base import Kind
from grader.problems.inputs import Argument, case_arguments, stream
from grader.kinds.function.kind import coarsest_float_dtype, strictness, tolerance_overrides
from grader.kinds.precision import cast_like, upcast
from grader.kinds.student_run import RUN_OUTCOMES, bounded_output, exception_hint, forbidden_message, static_error
from grader.limits import Limits
from grader.result import ProblemResult, Status, TestResult, split_points
from grader.sandbox.runner import Call, Executor, Job, RunStatus
from grader.problems.spec import Problem
from grader.problems.source import check_sources
from grader.problems.submission import Submission, find_module
from grader.problems.locations import private_paths

if TYPE_CHECKING:
    from grader.problems.bank import Bank

DEFAULT_STD = 0.5  #: weights are drawn from normal(0, std) unless the spec says otherwise


@dataclass
class ModuleCase:
    """One case, ready to run: its arguments, the child's plan, the reference's record."""

    case: dict
    args: list[Argument]
    call: Call
    expected: dict                 #: {"parameters": [[name, shape]], "calls": [{"output", "input_grads", "param_grads"}]}
    setup: dict = field(repr=False)  #: what the trusted runs need again (weights, upstream gradients)
    #: known mistakes' records on this case, computed once
    mistake_records: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.case["name"]

    @property
    def visible(self) -> bool:
        return bool(self.case.get("visible", False))

    @property
    def weight(self) -> float:
        return float(self.case.get("weight", 1))


# ---------------------------------------------------------------- the spec

def settings(problem: Problem) -> dict:
    """The spec's `module` section with its defaults."""
    section = dict(problem.spec["module"])
    section.setdefault("parameters", "by_name")
    section.setdefault("params_attr", "params")
    section.setdefault("weights", {})
    return section


def check_module_spec(data: dict) -> list[str]:
    """Rules the schema cannot express: every name the module section uses is an input."""
    from grader.kinds.function.rules import check_function_spec  # inputs, cases, sizes and mistakes as for functions

    problems = check_function_spec(data)
    inputs = data.get("inputs", {})
    section = data.get("module", {})
    for name in section.get("init", []):
        if name not in inputs:
            problems.append(f"$.module.init: no input named '{name}' (inputs: {', '.join(inputs)})")
    for i, entry in enumerate(section.get("calls", [])):
        args = entry.get("args", [])
        for name in args:
            if name not in inputs:
                problems.append(f"$.module.calls[{i}].args: no input named '{name}' (inputs: {', '.join(inputs)})")
        for name in entry.get("gradients", []):
            if name not in args:
                problems.append(f"$.module.calls[{i}].gradients: '{name}' is not an argument of this call")
            elif inputs.get(name, {}).get("type") != "tensor":
                problems.append(f"$.module.calls[{i}].gradients: '{name}' is not a tensor input")
        if "gradients" in entry and data.get("framework", "torch") != "torch":
            problems.append(f"$.module.calls[{i}].gradients: gradients through autograd need framework torch "
                            "(a NumPy class returns its gradients from a call, compared as an output)")
    return problems


# ---------------------------------------------------------------- trusted runs

def _torch():
    import torch

    return torch


def reference_parameters(obj, problem: Problem) -> list[tuple[str, Any]]:
    """[(name, array)] of a trusted object's parameters, in registration order."""
    if problem.framework == "torch":
        return list(obj.named_parameters())
    return [(name, value) for name, value in getattr(obj, settings(problem)["params_attr"]).items()
            if hasattr(value, "shape")]


def draw_weights(problem: Problem, case: dict, seed: int, params: list, dtype: str) -> list:
    """Known weights for a case: normal(0, std) in float64 from the seed, one stream per parameter
    position, cast to the case's dtype (the reference gets these very numbers, upcast)."""
    from grader.problems.inputs import to_framework

    std = float(settings(problem)["weights"].get("std", DEFAULT_STD))
    values = []
    for index, (_, value) in enumerate(params):
        shape = tuple(int(d) for d in value.shape)
        rng = stream(seed, problem.id, case["name"], f"weight:{index}")
        values.append(to_framework(std * rng.standard_normal(shape), dtype, problem.framework,
                                   f"{problem.path}: case '{case['name']}'"))
    return values


def draw_upstream(problem: Problem, case: dict, seed: int, index: int, output):
    """The upstream gradient of call `index`: normal(0, 1) with the output's shape, in float64."""
    torch = _torch()
    rng = stream(seed, problem.id, case["name"], f"upstream:{index}")
    return torch.from_numpy(rng.standard_normal(tuple(output.shape)))


def call_arguments(args: list[Argument], names: list[str]) -> tuple[list, dict, list[str]]:
    """(positional, keyword, text parts) of a call on the named inputs (omitted ones left out)."""
    by_name = {a.name: a for a in args}
    positional, keywords, parts, skipped = [], {}, [], False
    for name in names:
        arg = by_name.get(name)
        if arg is None:
            skipped = True  # an omitted argument: later ones go by keyword
            continue
        if arg.keyword or skipped:
            keywords[name] = arg.value
            parts.append(f"{name}={name}")
        else:
            positional.append(arg.value)
            parts.append(name)
    return positional, keywords, parts


def trusted_record(cls, problem: Problem, case: dict, args: list[Argument], weights: list, seed: int,
                   high: bool, where: str) -> dict:
    """The record a trusted class (the reference or a known mistake) gives on a case, in float64
    (`high`) or in the case's own precision."""
    section = settings(problem)
    convert = upcast if high else (lambda v: v)
    init_args, init_kwargs, _ = call_arguments(args, section.get("init", []))
    try:
        obj = cls(*convert(init_args), **convert(init_kwargs))
        if problem.framework == "torch":
            if weights:  # the precision of this run: float64 (`high`) or the case's dtype
                obj.to(convert(weights)[0].dtype)
            if "mode" in section:
                obj.train(section["mode"] == "train")
        params = reference_parameters(obj, problem)
        if len(params) != len(weights):
            raise SpecError(f"{where}: it has {len(params)} parameters, the reference {len(weights)}")
        _set_weights(obj, problem, params, convert(weights))
        record = {"parameters": [[name, [int(d) for d in value.shape]] for name, value in params], "calls": []}
        for index, entry in enumerate(section.get("calls", [])):
            positional, keywords, _ = call_arguments(args, entry.get("args", []))
            record["calls"].append(_trusted_call(obj, problem, case, entry, index, convert(positional),
                                                 convert(keywords), params, seed))
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken reference is the instructor's to fix
        raise SpecError(f"{where} failed: {type(exc).__name__}: {exc}",
                        "The reference must run on every case; fix reference/ or the case.") from None
    return record


def _set_weights(obj, problem: Problem, params: list, values: list) -> None:
    if problem.framework != "torch":
        store = getattr(obj, settings(problem)["params_attr"])
        for (name, _), value in zip(params, values):
            store[name] = value.copy()
        return
    torch = _torch()
    with torch.no_grad():
        for (_, param), value in zip(params, values):
            param.copy_(value)


def _trusted_call(obj, problem: Problem, case: dict, entry: dict, index: int, positional: list, keywords: dict,
                  params: list, seed: int) -> dict:
    method = obj if problem.framework == "torch" and entry.get("method", "forward") == "forward" \
        else getattr(obj, entry.get("method", "forward"))
    wrt = entry.get("gradients")
    if not wrt:
        output = method(*positional, **keywords)
        if problem.framework == "torch":
            torch = _torch()
            output = _detach(output, torch)
        return {"output": output}
    torch = _torch()
    names = entry.get("args", [])
    tensors = []
    for name in wrt:  # the same leaves the child makes: a fresh tensor that requires grad
        holder, key = _locate(name, names, positional, keywords)
        holder[key] = holder[key].detach().clone().requires_grad_(True)
        tensors.append(holder[key])
    output = method(*positional, **keywords)
    upstream = draw_upstream(problem, case, seed, index, output).to(output.dtype)
    everything = tensors + [p for _, p in params]
    grads = torch.autograd.grad([output], everything, grad_outputs=[upstream], allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g.detach() for t, g in zip(everything, grads)]
    return {"output": output.detach(), "input_grads": grads[:len(tensors)], "param_grads": grads[len(tensors):]}


def _detach(value, torch):
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, (list, tuple)):
        return type(value)(_detach(v, torch) for v in value)
    if isinstance(value, dict):
        return {k: _detach(v, torch) for k, v in value.items()}
    return value


def _locate(name: str, names: list[str], positional: list, keywords: dict):
    """Where input `name` sits in a call's arguments: (the list or dict, the index or key)."""
    if name in keywords:
        return keywords, name
    present = [n for n in names if n not in keywords]
    return positional, present.index(name)


def gradient_positions(args: list[Argument], entry: dict) -> list:
    """The child's handle on each input to differentiate: its position, or its keyword."""
    positional, keywords, _ = call_arguments(args, entry.get("args", []))
    wrt = []
    for name in entry.get("gradients", []):
        holder, key = _locate(name, entry.get("args", []), list(positional), dict(keywords))
        wrt.append(key)
    return wrt


# ---------------------------------------------------------------- preparing cases

_prepared: dict[tuple, list[ModuleCase]] = {}
_prepared_lock = threading.Lock()


def prepare_module_cases(problem: Problem, bank: Bank, seed: int = 0) -> list[ModuleCase]:
    """Every case with inputs, weights, upstream gradients and the reference's record for `seed`
    (kept for the next student graded with the same seed: a class run prepares each once)."""
    key = (str(problem.path), problem.id, seed, id(problem))
    with _prepared_lock:
        found = _prepared.get(key)
    if found is not None:
        return found
    reference = bank.load_callable(problem.spec["reference"])
    section = settings(problem)
    cases = []
    for case in problem.cases:
        where = f"{problem.path}: the reference on case '{case['name']}'"
        args = case_arguments(problem, case, seed)
        dtype = case.get("dtype") or problem.spec.get("dtype") or "float32"
        init_args, init_kwargs, init_parts = call_arguments(args, section.get("init", []))
        try:
            template = reference(*init_args, **init_kwargs)
            params = reference_parameters(template, problem)
        except Exception as exc:  # noqa: BLE001
            raise SpecError(f"{where} failed to build: {type(exc).__name__}: {exc}") from None
        weights = draw_weights(problem, case, seed, params, dtype)
        native = trusted_record(reference, problem, case, args, weights, seed, False, where)
        if problem.spec.get("reference_precision", "float64") == "float64":
            expected = cast_like(trusted_record(reference, problem, case, args, weights, seed, True, where),
                                 native, where)
        else:
            expected = native
        calls = []
        for index, entry in enumerate(section.get("calls", [])):
            positional, keywords, parts = call_arguments(args, entry.get("args", []))
            method = entry.get("method", "forward")
            item = {"method": method, "args": positional, "kwargs": keywords,
                    "text": f"{method}({', '.join(parts)})", "grad": None}
            if entry.get("gradients"):
                item["grad"] = {"upstream": draw_upstream(problem, case, seed, index, native["calls"][index]["output"])
                                .to(native["calls"][index]["output"].dtype),
                                "wrt": gradient_positions(args, entry)}
            calls.append(item)
        plan = {"framework": problem.framework,
                "init": {"args": init_args, "kwargs": init_kwargs,
                         "text": f"{problem.entry_point}({', '.join(init_parts)})"},
                "dtype": dtype if problem.framework == "torch" and dtype != "float32" else None,
                "train": (section["mode"] == "train") if "mode" in section and problem.framework == "torch" else None,
                "params": "torch" if problem.framework == "torch" else section["params_attr"],
                "weights": {"names": [n for n, _ in params] if section["parameters"] == "by_name" else None,
                            "values": weights},
                "calls": calls}
        call = Call(name=case["name"], args=[], kwargs={}, text=plan["init"]["text"],
                    time_limit=case.get("time_limit"), plan=plan)
        cases.append(ModuleCase(case, args, call, expected, setup={"weights": weights}))
    with _prepared_lock:
        if len(_prepared) > 64:
            _prepared.clear()
        _prepared[key] = cases
    return cases


# ---------------------------------------------------------------- comparing

def _shape_text(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def contract_message(problem: Problem, expected: list, found: list) -> str | None:
    """None when the parameters found fit the contract, else expected against found."""
    by_name = settings(problem)["parameters"] == "by_name"
    want = [(name, list(shape)) for name, shape in expected]
    got = [(name, list(shape)) for name, shape in found]
    if by_name and sorted(want) == sorted(got):
        return None
    if not by_name and [s for _, s in want] == [s for _, s in got]:
        return None
    lines = ["the parameters do not match the contract" + (" (names and shapes)" if by_name
                                                            else " (shapes, in registration order)") + ":",
             "  expected: " + (", ".join(f"{n} {_shape_text(s)}" for n, s in want) or "none"),
             "  found:    " + (", ".join(f"{n} {_shape_text(s)}" for n, s in got[:40]) or "none")
             + (f", ... ({len(got)} in all)" if len(got) > 40 else "")]
    if by_name:
        names, found_names = dict(want), dict(got)
        missing = [n for n in names if n not in found_names]
        extra = [n for n in found_names if n not in names]
        wrong = [f"{n} is {_shape_text(found_names[n])}, expected {_shape_text(names[n])}"
                 for n in names if n in found_names and found_names[n] != names[n]]
        lines += [f"  missing: {', '.join(missing)}"] if missing else []
        lines += [f"  not expected: {', '.join(extra[:20])}"] if extra else []
        lines += [f"  wrong shape: {'; '.join(wrong)}"] if wrong else []
    else:
        lines.append(f"  ({len(want)} parameters expected, {len(got)} found)")
    return "\n".join(lines)


def _read_record(value) -> tuple[list, list] | str:
    """(parameters, calls) from a child's record, or why it cannot be read (it is the student's data)."""
    if not isinstance(value, dict) or not isinstance(value.get("parameters"), list) \
            or not isinstance(value.get("calls"), list):
        return "the result could not be read: not a record of parameters and calls"
    params = value["parameters"]
    for item in params:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], list) and all(type(d) is int for d in item[1])):
            return "the result could not be read: a parameter entry is not a name and a shape"
    for item in value["calls"]:
        if not isinstance(item, dict) or "output" not in item:
            return "the result could not be read: a call entry has no output"
    return params, value["calls"]


def record_differences(problem: Problem, mc: ModuleCase, found_params: list, calls: list, expected: dict,
                       loosen_to: str | None = None, limit: int = 3) -> list[str]:
    """What differs between a record's calls and the expected ones: one line per item, the first `limit`."""
    overrides = tolerance_overrides(problem, mc.case, loosen_to)
    numbers = strictness(problem)["numbers"]
    section = settings(problem)
    by_name = section["parameters"] == "by_name"
    position = {name: i for i, (name, _) in enumerate(found_params)}
    out = []
    if len(calls) != len(expected["calls"]):
        return [f"{len(calls)} calls came back, {len(expected['calls'])} expected"]
    for index, (got, want) in enumerate(zip(calls, expected["calls"])):
        text = mc.call.plan["calls"][index]["text"]
        items = [("output", got.get("output"), want["output"])]
        if "input_grads" in want:
            grads, param_grads = got.get("input_grads"), got.get("param_grads")
            if not isinstance(grads, list) or not isinstance(param_grads, list) \
                    or len(grads) != len(want["input_grads"]) or len(param_grads) != len(found_params):
                out.append(f"call {index + 1} `{text}`: the gradients did not come back")
                continue
            for name, g, w in zip(section["calls"][index]["gradients"], grads, want["input_grads"]):
                items.append((f"gradient of {name}", g, w))
            for i, ((name, _), w) in enumerate(zip(expected["parameters"], want["param_grads"])):
                j = position.get(name) if by_name else i
                items.append((f"gradient of parameter {name if by_name else found_params[i][0]}",
                              param_grads[j] if j is not None else None, w))
        for label, actual, wanted in items:
            item_overrides = overrides if label == "output" else gradient_overrides(overrides, wanted)
            mismatch = cmp.compare(actual, wanted, overrides=item_overrides, numbers=numbers, dtypes="loose",
                                   path=label, nonfinite_alike=loosen_to is not None)
            if mismatch is not None:
                out.append(f"call {index + 1} `{text}`: {mismatch.message}")
                if len(out) >= limit:
                    return out
    return out


def gradient_overrides(overrides: dict, expected) -> dict:
    """Tolerances for one gradient: each element of a parameter's gradient is a sum over the batch
    and positions, so its round-off follows the gradient's largest terms, not the element. An
    element may differ by rtol x the largest |expected| element of that gradient (scaled by the
    expected values only), or by the dtype's atol, whichever is larger."""
    import numpy as np

    try:
        largest = float(np.abs(np.asarray(expected, dtype=np.float64)).max(initial=0.0))
    except (TypeError, ValueError):
        return overrides
    if not np.isfinite(largest):
        return overrides
    raised = dict(overrides)
    for dtype in ("float16", "bfloat16", "float32", "float64", "float"):
        tol = cmp.tolerance_for(dtype, overrides)
        if tol is not None:
            raised[dtype] = {"rtol": tol.rtol, "atol": max(tol.atol, tol.rtol * largest)}
    return raised


def check_record(problem: Problem, mc: ModuleCase, value) -> str | None:
    """None when the child's record is right, else what is wrong (the contract first)."""
    read = _read_record(value)
    if isinstance(read, str):
        return read
    params, calls = read
    contract = contract_message(problem, mc.expected["parameters"], params)
    if contract:
        return contract
    if value.get("loaded") is not True:
        return "the weights could not be set"
    differences = record_differences(problem, mc, params, calls, mc.expected)
    return "\n".join(differences) if differences else None


def mistake_record(problem: Problem, bank: Bank, mc: ModuleCase, mistake: dict, seed: int):
    """A known mistake's record on a case (None if it cannot run), computed once per case."""
    if mistake["name"] not in mc.mistake_records:
        cls = bank.load_callable(mistake["impl"], what=f"mistake '{mistake['name']}'")
        where = f"{problem.path}: mistake '{mistake['name']}' on case '{mc.name}'"
        try:
            native = trusted_record(cls, problem, mc.case, mc.args, mc.setup["weights"], seed, False, where)
            high = mistake.get("precision", problem.spec.get("reference_precision", "float64")) == "float64"
            record = cast_like(trusted_record(cls, problem, mc.case, mc.args, mc.setup["weights"], seed, True, where),
                               native, where) if high else native
        except SpecError:
            record = None
        mc.mistake_records[mistake["name"]] = record
    return mc.mistake_records[mistake["name"]]


def matching_mistake(problem: Problem, bank: Bank, mc: ModuleCase, value, seed: int) -> dict | None:
    """The first known mistake (in the spec's order) whose record equals the student's."""
    read = _read_record(value)
    if isinstance(read, str):
        return None
    params, calls = read
    for mistake in problem.spec.get("mistakes", []):
        record = mistake_record(problem, bank, mc, mistake, seed)
        if record is None or contract_message(problem, record["parameters"], params):
            continue
        loosen = _coarsest(mc.expected)
        if not record_differences(problem, mc, params, calls, record, loosen_to=loosen, limit=1):
            return mistake
    return None


def _coarsest(expected: dict) -> str | None:
    return coarsest_float_dtype(expected["calls"])


# ---------------------------------------------------------------- grading

def grade_module(problem: Problem, submission: Submission, *, bank: Bank, executor: Executor, seed: int = 0,
                 limits: Limits | None = None, student: str | None = None, module_name: str | None = None,
                 prepared: list[ModuleCase] | None = None, **_options) -> ProblemResult:
    """Grade one submission for one module problem."""
    start = time.monotonic()
    prepared = prepared if prepared is not None else prepare_module_cases(problem, bank, seed)
    max_scores = split_points(problem.points, [mc.weight for mc in prepared])
    forbidden = problem.spec.get("forbidden", [])
    checked = check_sources(submission.files, problem.entry_point, forbidden)
    module = find_module(submission, problem.entry_point, module_name, checked)
    result = ProblemResult.empty(problem, submission=submission.label, seed=seed, student=student,
                                 feedback=list(submission.notes))
    error = static_error(problem, submission, module, checked)
    if error is None:
        job = Job(files=submission.files, module=module, entry_point=problem.entry_point,
                  framework=problem.framework, calls=[mc.call for mc in prepared],
                  limits=(limits or Limits()).with_overrides(problem.spec.get("limits")),
                  label=f"{submission.label}:{problem.id}", forbidden=forbidden, mode="module",
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
            result.tests = [_test_result(problem, bank, mc, runs[mc.name], m, seed)
                            for mc, m in zip(prepared, max_scores)]
    if error is not None:
        result.error = error
        result.tests = [TestResult(name=mc.name, score=0.0, max_score=m, status=Status.FAILED, visible=mc.visible,
                                   output=f"not run: {error.splitlines()[0]}", outcome="not_run")
                        for mc, m in zip(prepared, max_scores)]
    result.score = round(sum(t.score for t in result.tests), 9)
    _add_feedback(problem, result)
    result.seconds = time.monotonic() - start
    return result


def _test_result(problem: Problem, bank: Bank, mc: ModuleCase, run, max_score: float, seed: int) -> TestResult:
    test = TestResult(name=mc.name, score=0.0, max_score=max_score, status=Status.FAILED, visible=mc.visible,
                      device="cpu", seconds=run.seconds)
    if run.status is not RunStatus.OK:
        test.outcome = RUN_OUTCOMES[run.status]
        test.output = run.message + (exception_hint(run.message.split(": ", 1)[-1])
                                     if run.status is RunStatus.EXCEPTION else "")
        return test
    message = check_record(problem, mc, run.value)
    if message is None:
        test.status, test.score, test.outcome = Status.PASSED, max_score, "passed"
        return test
    test.outcome = "wrong"
    lines = [message]
    mistake = matching_mistake(problem, bank, mc, run.value, seed)
    if mistake is not None:
        test.mistake = mistake["name"]
        lines.append(f"This matches a known mistake ({mistake['name']}): {mistake['feedback']}")
    if mc.visible:
        lines.append(f"Rebuild this case: grader show {problem.id} --case {mc.name}" + (f" --seed {seed}" if seed else ""))
    test.output = "\n".join(lines)
    return test


def _add_feedback(problem: Problem, result: ProblemResult) -> None:
    seen = {t.mistake for t in result.tests if t.mistake}
    for mistake in problem.spec.get("mistakes", []):
        if mistake["name"] in seen and mistake.get("hint"):
            result.feedback.append(f"Hint ({mistake['name']}): {mistake['hint']}")
    if not result.passed and not seen and problem.hints and not result.error:
        result.feedback.extend(f"Hint: {h}" for h in problem.hints)


# ---------------------------------------------------------------- grader show

def describe_module(problem: Problem, seed: int, student: str | None, bank: Bank) -> dict:
    """What `grader show` tells a student: the class, its parameter contract, the calls compared."""
    from grader.problems.inputs import summarize

    section = settings(problem)
    lines = []
    cases = []
    for case in problem.cases:
        entry = {"name": case["name"], "visible": bool(case.get("visible", False)),
                 "weight": case.get("weight", 1), "description": case.get("description", "")}
        if entry["visible"]:
            args = case_arguments(problem, case, seed)
            entry["inputs"] = {a.name: summarize(a.value) for a in args}
            if not lines:
                lines = _contract_lines(problem, bank, args, section)
        cases.append(entry)
    return {"entry_point": problem.entry_point, "signature": problem.signature,
            "forbidden": problem.spec.get("forbidden", []), "module": lines, "cases": cases}


def _contract_lines(problem: Problem, bank: Bank, args: list[Argument], section: dict) -> list[str]:
    reference = bank.load_callable(problem.spec["reference"])
    init_args, init_kwargs, parts = call_arguments(args, section.get("init", []))
    params = reference_parameters(reference(*init_args, **init_kwargs), problem)
    shown = ", ".join(f"{name} {_shape_text(tuple(value.shape))}" for name, value in params)
    where = "the torch parameters" if problem.framework == "torch" else f"self.{section['params_attr']}"
    lines = [f"Built as {problem.entry_point}({', '.join(parts)}) for each case."]
    if section["parameters"] == "by_name":
        lines.append(f"Parameters ({where}; names and shapes must match; with the first visible case's "
                     f"sizes): {shown}. The grader sets known weights by name.")
    else:
        lines.append(f"Parameters ({where}, in the order they are registered; only the shapes must match; "
                     f"with the first visible case's sizes): {', '.join(_shape_text(tuple(v.shape)) for _, v in params)}."
                     " The grader sets known weights in that order.")
    if "mode" in section:
        lines.append(f"Mode: module.{section['mode']}() before the calls.")
    for entry in section["calls"]:
        method = entry.get("method", "forward")
        text = f"{method}({', '.join(entry.get('args', []))})"
        if entry.get("gradients"):
            lines.append(f"Compared: the output of {text}, and through autograd (for an upstream gradient the "
                         f"grader chooses) the gradients of {', '.join(entry['gradients'])} and of every parameter.")
        else:
            lines.append(f"Compared: what {text} returns.")
    return lines


def case_code_lines(problem: Problem, args: list[Argument]) -> list[str]:
    """The end of `grader show ID --case NAME` for a module problem: build the class, make the calls."""
    section = settings(problem)
    _, _, parts = call_arguments(args, section.get("init", []))
    lines = ["", f"module = {problem.entry_point}({', '.join(parts)})",
             "# the grader then sets known weights (drawn from the seed) "
             + ("by parameter name" if section["parameters"] == "by_name" else "in registration order")]
    if "mode" in section:
        lines.append(f"module.{section['mode']}()")
    for entry in section["calls"]:
        _, _, call_parts = call_arguments(args, entry.get("args", []))
        method = entry.get("method", "forward")
        target = "module" if problem.framework == "torch" and method == "forward" else f"module.{method}"
        lines += [f"result = {target}({', '.join(call_parts)})", "print(result)"]
        if entry.get("gradients"):
            lines.append(f"# the grader back-propagates an upstream gradient through result and compares the "
                         f"gradients of {', '.join(entry['gradients'])} and of every parameter")
    return lines


# ---------------------------------------------------------------- grader validate

def validate_module(problem: Problem, bank: Bank, executor, report) -> None:
    """`grader validate` for a module problem: the statement names the class, inputs are the same
    per seed, the reference class passes through the real child, every known mistake fails a hidden
    case and is recognised as itself, the starter scores 0."""
    from grader.kinds.function.performance import reference_submission
    from grader.kinds.function.validate import check_inputs

    if problem.entry_point in problem.statement:
        report.add("statement", True)
    else:
        report.add("statement", False, f"the statement never names the class '{problem.entry_point}'")
    check_inputs(problem, report)
    prepared = prepare_module_cases(problem, bank, seed=0)
    submission, module, name = reference_submission(problem, bank)
    result = grade_module(problem, submission, bank=bank, executor=executor, module_name=module, prepared=prepared)
    failures = [f"case '{t.name}': {t.output.splitlines()[0] if t.output else t.outcome}"
                for t in result.tests if not t.passed]
    if result.error:
        report.add("reference", False, f"the reference did not run in the child: {result.error}")
    elif failures:
        report.add("reference", False, "; ".join(failures[:3]))
    else:
        report.add("reference", True, f"passes its {len(prepared)} cases in the child")
    _validate_mistakes(problem, bank, prepared, report)
    starter = Submission(f"starter of {problem.id}", {"solution.py": problem.spec["starter"].encode()})
    result = grade_module(problem, starter, bank=bank, executor=executor, prepared=prepared)
    if result.grader_error or result.score != 0:
        report.add("starter", False, f"the starter stub scores {result.score:g}; a stub must fail every case")
    else:
        report.add("starter", True, "scores 0" + (f" ({result.error.splitlines()[0]})" if result.error else ""))


def _validate_mistakes(problem: Problem, bank: Bank, prepared: list[ModuleCase], report) -> None:
    from grader.result import MistakeResult

    hidden = [mc for mc in prepared if not mc.visible]
    if not hidden:
        report.add("mistakes", False, "the problem has no hidden case")
        return
    problems = []
    mistakes = problem.spec.get("mistakes", [])
    for mistake in mistakes:
        killed, recognised = [], False
        for mc in hidden:
            record = mistake_record(problem, bank, mc, mistake, seed=0)
            if record is None:
                killed.append(mc.name)  # a class that raises fails the case too
                continue
            value = {**record, "loaded": True}
            if check_record(problem, mc, value) is not None:
                killed.append(mc.name)
                found = matching_mistake(problem, bank, mc, value, seed=0)
                recognised = recognised or (found is not None and found["name"] == mistake["name"])
        report.mistakes.append(MistakeResult(mistake["name"], killed, recognised))
        if not killed:
            problems.append(f"mistake '{mistake['name']}' passes every hidden case; add a hidden case it fails")
        elif not recognised:
            problems.append(f"mistake '{mistake['name']}' fails hidden cases but is never recognised as itself")
    if len(mistakes) < 3:
        problems.append(f"only {len(mistakes)} known mistakes (at least 3 expected)")
    report.add("mistakes", not problems, "; ".join(problems) if problems else
               f"{report.killed}/{len(mistakes)} killed")


class ModuleKind(Kind):
    """The student writes a class (an nn.Module, or a plain class for NumPy courses)."""

    name = "module"
    scaffold_template = "module"

    def check_spec(self, problem) -> list[str]:
        return check_module_spec(problem.spec)

    def grade(self, problem, submission, **options):
        return grade_module(problem, submission, **options)

    def describe(self, problem, seed, student, bank) -> dict:
        return describe_module(problem, seed, student, bank)

    def validate(self, problem, bank, executor, report) -> None:
        validate_module(problem, bank, executor, report)

    def prepare(self, problem, bank, seed, device="all"):
        return prepare_module_cases(problem, bank, seed)

    def case_named(self, problem, name: str) -> dict:
        return problem.case(name)

    def case_call_lines(self, problem, args) -> list[str]:
        return case_code_lines(problem, args)
