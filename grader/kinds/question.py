"""What the question kinds (`numeric`, `choice`) share: parameters drawn per student, safe
expressions for constraints and derived values, and templates for the question text.

Everything here runs in the trusted process. Spec expressions: grader/expressions.py.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import inspect
import math
import string

from grader.errors import GraderError, SpecError
from grader.kinds.base import VALIDATION_SEEDS, Kind
from grader.problems.answers import answer_for
from grader.expressions import evaluate as evaluate_expr, names as expr_names
from grader.problems.inputs import stream
from grader.problems.spec import Problem

if TYPE_CHECKING:
    from grader.problems.bank import Bank

MAX_REDRAWS = 1000

# ---------------------------------------------------------------- parameters

def _draw_one(spec: dict, rng) -> Any:
    if "choices" in spec:
        return spec["choices"][int(rng.integers(0, len(spec["choices"])))]
    if "value" in spec:
        return spec["value"]
    low, high = spec["low"], spec["high"]
    step = spec.get("step")
    if spec.get("type") == "int":
        step = int(step or 1)
        return int(low + step * int(rng.integers(0, (int(high) - int(low)) // step + 1)))
    if step:
        count = int(math.floor((high - low) / step + 1e-9)) + 1
        value = low + step * int(rng.integers(0, count))
        decimals = max(0, -int(math.floor(math.log10(step))) + 2)
        return round(value, decimals)
    return round(low + (high - low) * float(rng.random()), int(spec.get("round", 2)))


def draw_params(problem: Problem, seed: int) -> dict[str, Any]:
    """The parameter values of `problem` for `seed`: drawn in order, redrawn (deterministically)
    until every constraint holds, then the derived (`expr`) parameters."""
    specs = problem.spec.get("params", {})
    constraints = problem.spec.get("constraints", [])
    rng = stream(seed, problem.id, "params")
    for _ in range(MAX_REDRAWS):
        values: dict[str, Any] = {}
        for name, spec in specs.items():
            values[name] = evaluate_expr(spec["expr"], values) if "expr" in spec else _draw_one(spec, rng)
        if all(evaluate_expr(c, values) for c in constraints):
            return values
    raise SpecError(f"{problem.path}: $.constraints: no parameter values satisfied every constraint in "
                    f"{MAX_REDRAWS} draws", "Widen the parameter ranges or loosen the constraints.")


def call_with_params(bank: Bank, ref: str, params: dict[str, Any], where: str) -> Any:
    """Call the trusted function `ref` (module:function under reference/) with the parameters it names."""
    func = bank.load_callable(ref, what=where)
    signature = inspect.signature(func)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()):
        kwargs = dict(params)
    else:
        kwargs = {k: v for k, v in params.items() if k in signature.parameters}
    try:
        return func(**kwargs)
    except Exception as exc:
        raise SpecError(f"{where} '{ref}' failed on {params}: {type(exc).__name__}: {exc}",
                        "Every answer function must accept the problem's parameters by name.") from None


# ---------------------------------------------------------------- templates

def template_fields(template: str) -> set[str]:
    """The names a template uses: '{p}', '{answer:.3f}', '{m[0]}' -> {'p', 'answer', 'm'}."""
    names = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field:
            names.add(field.split(".")[0].split("[")[0])
    return names


def render(template: str, values: dict[str, Any]) -> str:
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise SpecError(f"template '{template[:60]}...' could not be filled in: {type(exc).__name__}: {exc}",
                        "Write literal braces as {{ and }}.") from None


def format_number(value: float | int) -> str:
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return str(int(value))
    return f"{value:.4g}"


def common_checks(data: dict, extra_names: set[str]) -> list[str]:
    """Rules shared by the question kinds: expressions parse and name known parameters,
    templates name known fields."""
    errors = []
    names: list[str] = []
    for name, spec in data.get("params", {}).items():
        if "expr" in spec:
            try:
                unknown = expr_names(spec["expr"]) - set(names)
            except (SyntaxError, ValueError) as exc:
                errors.append(f"$.params.{name}.expr: {exc}")
                unknown = set()
            for u in sorted(unknown):
                errors.append(f"$.params.{name}.expr: '{u}' is not a parameter defined before '{name}'")
        elif "low" in spec and spec["low"] > spec["high"]:
            errors.append(f"$.params.{name}: low {spec['low']} is above high {spec['high']}")
        names.append(name)
    for i, text in enumerate(data.get("constraints", [])):
        try:
            unknown = expr_names(text) - set(names)
        except (SyntaxError, ValueError) as exc:
            errors.append(f"$.constraints[{i}]: {exc}")
            continue
        for u in sorted(unknown):
            errors.append(f"$.constraints[{i}]: '{u}' is not a parameter (params: {', '.join(names) or 'none'})")
    known = set(names) | extra_names
    templates = [("$.question", data.get("question", "")), ("$.explanation", data.get("explanation", ""))]
    templates += [(f"$.options[{i}].text", o.get("text", "")) for i, o in enumerate(data.get("options", []))]
    templates += [(f"$.options[{i}].feedback", o.get("feedback", "")) for i, o in enumerate(data.get("options", []))]
    templates += [(f"$.wrong_answers[{i}].feedback", w.get("feedback", ""))
                  for i, w in enumerate(data.get("wrong_answers", []))]
    for where, template in templates:
        allowed = set(names) if where == "$.question" else known  # the question never shows the answer
        try:
            unknown = template_fields(template) - allowed
        except ValueError as exc:
            errors.append(f"{where}: {exc} (write literal braces as {{{{ and }}}})")
            continue
        for u in sorted(unknown):
            errors.append(f"{where}: '{{{u}}}' names no parameter (known: {', '.join(sorted(allowed)) or 'none'})")
    return errors


class QuestionKind(Kind):
    """A quiz question (numeric, choice): answered in an answers file or typed in `grader quiz`."""

    answered_in_code = False
    release_as = "question"

    def read_submission(self, problem_id, path, notebook=None):
        return answer_for(problem_id, path)

    def validate(self, problem, bank, executor, report) -> None:
        """The parameters and the answer can be drawn for several seeds."""
        try:
            for seed in VALIDATION_SEEDS:
                self.describe(problem, seed, None, bank)
        except GraderError as exc:
            report.add("question", False, f"drawing the question failed: {exc.message}")
            return
        report.add("question", True, f"drawn for seeds {', '.join(map(str, VALIDATION_SEEDS))}")
