"""What the question kinds (`numeric`, `choice`) share: parameters drawn per student, safe
expressions for constraints and derived values, and templates for the question text.

Everything here runs in the trusted process. Spec expressions are interpreted from a small
AST subset (arithmetic, comparisons, and/or/not, abs/min/max/round/...), never exec'd.
"""
from __future__ import annotations

import ast
import inspect
import math
import operator
import string
from typing import Any, Callable

from grader.problems.bank import Bank
from grader.errors import SpecError
from grader.problems.inputs import stream
from grader.problems.spec import Problem

MAX_REDRAWS = 1000

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
            ast.NotIn: lambda a, b: a not in b}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
FUNCTIONS: dict[str, Callable] = {"abs": abs, "min": min, "max": max, "round": round, "int": int, "float": float,
                                  "sum": sum, "len": len, "sqrt": math.sqrt, "log": math.log, "log2": math.log2,
                                  "exp": math.exp, "ceil": math.ceil, "floor": math.floor}


def parse_expr(text: str) -> ast.AST:
    """Parse a spec expression; SyntaxError or ValueError for anything outside the subset."""
    tree = ast.parse(text, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, (ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp,
                             ast.BoolOp, ast.Compare, ast.Call, ast.IfExp, ast.Tuple, ast.List, ast.Subscript,
                             ast.And, ast.Or, *_BINARY, *_COMPARE, *_UNARY)):
            if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                                                   and not node.keywords):
                raise ValueError("only abs, min, max, round, int, float, sum, len, sqrt, log, log2, exp, "
                                 "ceil and floor may be called")
            continue
        raise ValueError(f"'{type(node).__name__}' is not allowed in a spec expression")
    return tree


def expr_names(text: str) -> set[str]:
    tree = parse_expr(text)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - called


def evaluate_expr(text: str, values: dict[str, Any]) -> Any:
    """The value of a spec expression over `values` (no builtins, no attributes, no exec)."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise SpecError(f"expression '{text}': no parameter named '{node.id}'")
            return values[node.id]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(ev(v) for v in node.values)
            return any(ev(v) for v in node.values)
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, comparator in zip(node.ops, node.comparators):
                right = ev(comparator)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Call):
            return FUNCTIONS[node.func.id](*[ev(a) for a in node.args])
        if isinstance(node, ast.IfExp):
            return ev(node.body) if ev(node.test) else ev(node.orelse)
        if isinstance(node, (ast.Tuple, ast.List)):
            return [ev(e) for e in node.elts]
        if isinstance(node, ast.Subscript):
            return ev(node.value)[ev(node.slice)]
        raise SpecError(f"expression '{text}': '{type(node).__name__}' is not allowed")  # pragma: no cover

    try:
        return ev(parse_expr(text))
    except SpecError:
        raise
    except Exception as exc:
        raise SpecError(f"expression '{text}' failed: {type(exc).__name__}: {exc}") from None


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
