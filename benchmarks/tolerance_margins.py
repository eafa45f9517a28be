"""How close alternative correct formulations come to a problem's tolerance (trusted code only).

For each formulation in a Python file (functions named like the problem's entry point, in
modules given on the command line), every case of the problem is evaluated for several seeds
in this process, and the worst ratio |actual - expected| / (atol + rtol·|expected|) is printed:
below 1 passes, and the margin is 1 / ratio. The numbers back the comments in the specs.

    PYTHONPATH=$PWD python benchmarks/tolerance_margins.py adam-step tests/formulations/adam_step_forms.py
"""
from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np

from grader.compare import tensors as cmp
from grader.problems.bank import Bank
from grader.kinds.function.kind import prepare_cases, strictness, tolerance_overrides


def leaves(actual, expected):
    """Pairs of float arrays (as float64) and their dtype names, walking both structures."""
    if hasattr(expected, "dtype") and hasattr(actual, "dtype") and getattr(expected, "shape", None) is not None:
        name = str(expected.dtype).removeprefix("torch.")
        a = np.asarray(actual.double() if hasattr(actual, "double") else actual, dtype=np.float64)
        e = np.asarray(expected.double() if hasattr(expected, "double") else expected, dtype=np.float64)
        coarse = str(actual.dtype).removeprefix("torch.")
        yield a, e, name, coarse
    elif isinstance(expected, (tuple, list)):
        for x, y in zip(actual, expected):
            yield from leaves(x, y)
    elif isinstance(expected, float):
        yield np.float64(float(actual)), np.float64(expected), "float", "float"


def worst_ratio(problem, func, seeds) -> dict:
    worst = {}
    for seed in seeds:
        for p in prepare_cases(problem, Bank(), seed=seed, device="cpu"):
            if p.skipped or p.speed:
                continue
            positional = [a.value for a in p.args if not a.keyword]
            keywords = {a.name: a.value for a in p.args if a.keyword}
            actual = func(*positional, **keywords)
            overrides = tolerance_overrides(problem, p.case)
            for a, e, name, coarse in leaves(actual, p.expected):
                tol = cmp._coarser(cmp.tolerance_for(name, overrides), cmp.tolerance_for(coarse, overrides))
                with np.errstate(all="ignore"):
                    ratio = np.nanmax(np.abs(a - e) / (tol.atol + tol.rtol * np.abs(e)), initial=0.0)
                key = p.case["name"]
                worst[key] = max(worst.get(key, 0.0), float(ratio))
    return worst


def main(problem_id: str, *paths: str) -> None:
    problem = Bank().get(problem_id)
    print(f"{problem_id}: strictness {strictness(problem)}")
    for path in paths:
        spec = importlib.util.spec_from_file_location("forms", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name in sorted(n for n in dir(module) if n.startswith(problem.entry_point)):
            ratios = worst_ratio(problem, getattr(module, name), seeds=range(int(os.environ.get("SEEDS", 10))))
            case, ratio = max(ratios.items(), key=lambda kv: kv[1])
            print(f"  {name:40s} worst {ratio:8.3g} of the allowed difference (case {case})")
            for case, r in sorted(ratios.items()):
                print(f"      {case:30s} {r:.3g}")


if __name__ == "__main__":
    main(*sys.argv[1:])
