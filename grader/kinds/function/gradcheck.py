"""Numerical gradient checks: a student's backward against finite differences of a trusted forward.

A spec may add

    gradcheck:
      forward: activations:sigmoid     # trusted forward, module:function under reference/
      wrt: [x]                         # inputs the backward differentiates with respect to
      output_grad: grad_output         # the input holding dL/dy (absent: dL/dy = 1)
      forward_args: [x]                # arguments of the forward (default: inputs except output_grad)
      eps: 1.0e-6                      # central-difference step
      tolerance: {float64: {rtol: 1.0e-5, atol: 1.0e-7}}
      cases:                           # like ordinary cases; small inputs away from kinks
        - {name: small, sizes: {B: 2, D: 3}}

Each entry of `cases` becomes an extra scored case named `gradcheck-<name>`: its inputs are
generated in float64, the student's function (the backward) runs on them in the child like any
other case, and the expected output is computed here, in the trusted process, by central
differences of the loss L = sum(output_grad * forward(...)):

    dL/dx_i ~ (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)

With float64 and eps = 1e-6 the truncation error is O(eps^2) and the round-off O(1e-16 / eps),
about 1e-10 relative: far below the default tolerance (rtol 1e-5, atol 1e-7). Inputs must stay
away from kinks (ReLU at 0, |x| at 0), where a finite difference straddles two slopes: choose
their distribution so (e.g. uniform on [0.1, 2] and its negative).

The expected value is one tensor for one `wrt` name, else a tuple in `wrt` order: the student's
backward must return the gradients in that order.
"""
from __future__ import annotations

from typing import Any

from grader.errors import SpecError
from grader.problems.inputs import case_arguments

PREFIX = "gradcheck-"
DEFAULT_EPS = 1e-6
DEFAULT_TOLERANCE = {"float64": {"rtol": 1e-5, "atol": 1e-7}}


def gradcheck_case_dicts(problem) -> list[dict]:
    """The gradcheck entries as ordinary case dicts (float64, prefixed names, the check's tolerance)."""
    spec = problem.spec.get("gradcheck")
    if not spec:
        return []
    tolerance = {**DEFAULT_TOLERANCE, **spec.get("tolerance", {})}
    cases = []
    for entry in spec.get("cases") or [{"name": "default"}]:
        case = {**entry, "name": PREFIX + entry["name"], "dtype": "float64",
                "tolerance": {**tolerance, **entry.get("tolerance", {})}}
        case.setdefault("description", "numerical gradient check (float64 central differences of the forward)")
        cases.append(case)
    return cases


def spec_problems(problem) -> list[str]:
    """Consistency rules of the gradcheck field that the schema cannot express."""
    spec = problem.spec.get("gradcheck")
    if not spec:
        return []
    inputs = problem.spec.get("inputs", {})
    errors = []
    names = list(spec.get("wrt", [])) + ([spec["output_grad"]] if spec.get("output_grad") else []) \
        + list(spec.get("forward_args", []))
    for name in names:
        if name not in inputs:
            errors.append(f"$.gradcheck: '{name}' is not an input (inputs: {', '.join(inputs)})")
    own = {c["name"] for c in problem.spec.get("cases", [])}
    for entry in spec.get("cases", []):
        if PREFIX + entry["name"] in own:
            errors.append(f"$.gradcheck.cases: '{PREFIX}{entry['name']}' clashes with a case name")
    return errors


def numerical_gradient(problem, bank, args) -> Any:
    """Central differences of sum(output_grad * forward(...)) with respect to each `wrt` input."""
    spec = problem.spec["gradcheck"]
    forward = bank.load_callable(spec["forward"], what="gradcheck forward")
    eps = float(spec.get("eps", DEFAULT_EPS))
    values = {a.name: a.value for a in args}
    out_name = spec.get("output_grad")
    forward_names = spec.get("forward_args") or [a.name for a in args if a.name != out_name]
    where = f"{problem.path}: gradcheck"
    for name in spec["wrt"]:
        if name not in values:
            raise SpecError(f"{where}: 'wrt' names '{name}', which this case does not pass")

    def loss(current: dict) -> float:
        try:
            y = forward(*[_copy(current[n]) for n in forward_names])
        except Exception as exc:  # the forward is trusted: its failure is the spec's to fix
            raise SpecError(f"{where}: the forward {spec['forward']} failed: {type(exc).__name__}: {exc}") from None
        weight = current.get(out_name) if out_name else None
        total = (y * weight).sum() if weight is not None else y.sum()
        return float(total)

    grads = []
    for name in spec["wrt"]:
        x = values[name]
        grad = _zeros_like(x)
        flat_x, flat_g = _flat(x), _flat(grad)
        for i in range(flat_x.shape[0]):
            original = float(flat_x[i])
            flat_x[i] = original + eps
            plus = loss(values)
            flat_x[i] = original - eps
            minus = loss(values)
            flat_x[i] = original
            flat_g[i] = (plus - minus) / (2 * eps)
        grads.append(grad)
    return grads[0] if len(grads) == 1 else tuple(grads)


def _copy(value):
    if hasattr(value, "clone"):
        return value.clone()
    if hasattr(value, "copy"):
        return value.copy()
    return value


def _zeros_like(x):
    import numpy as np

    if isinstance(x, np.ndarray):
        return np.zeros_like(x)
    import torch

    return torch.zeros_like(x)


def _flat(x):
    """A flat view that writes through (inputs are generated contiguous)."""
    return x.reshape(-1)


def gradcheck_cases(problem, bank, seed: int, outputs=None) -> list[tuple[dict, list, object]]:
    """(case, arguments, expected) for each gradcheck entry: float64 inputs, finite-difference expected
    (from `outputs`, grader.problems.expected_cache.ExpectedOutputs, where it holds them)."""
    cases = []
    for case in gradcheck_case_dicts(problem):
        args = case_arguments(problem, case, seed)
        compute = lambda args=args: numerical_gradient(problem, bank, args)  # noqa: E731
        cases.append((case, args, outputs.get(case["name"], compute) if outputs is not None else compute()))
    return cases
