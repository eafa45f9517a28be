"""The one small expression language of specs: arithmetic, comparisons, and/or/not, a few math
functions, over named values. Used for question parameters and constraints, comparator bounds and
the assumptions a problem's cases promise. Interpreted from an AST subset, never exec'd; specs are
trusted, but a small language keeps them readable and their errors clear."""
from __future__ import annotations

import ast
import math
import operator
from typing import Any, Callable

from grader.errors import SpecError

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
            ast.NotIn: lambda a, b: a not in b}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
FUNCTIONS: dict[str, Callable] = {"abs": abs, "min": min, "max": max, "round": round, "int": int, "float": float,
                                  "sum": sum, "len": len, "sqrt": math.sqrt, "log": math.log, "log2": math.log2,
                                  "exp": math.exp, "ceil": math.ceil, "floor": math.floor}


def parse(text: str) -> ast.AST:
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


def names(text: str) -> set[str]:
    tree = parse(text)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - called


def evaluate(text: str, values: dict[str, Any]) -> Any:
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
        return ev(parse(text))
    except SpecError:
        raise
    except Exception as exc:
        raise SpecError(f"expression '{text}' failed: {type(exc).__name__}: {exc}") from None
