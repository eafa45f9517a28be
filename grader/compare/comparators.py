"""Comparators beyond plain tolerance: chosen by a problem spec's `comparator` field.

`tolerance` (the default) and `exact` live in grader.compare.tensors. This module adds the ones a
bank of ML problems needs, each selected by a mapping with a `type`:

| type | when | spec keys |
|---|---|---|
| `permutation` | cluster labels: equal up to a one-to-one renaming | `fixed`: labels that must match exactly (e.g. `[-1]` for DBSCAN noise) |
| `sign` | eigenvectors / PCA components: each vector equal up to a factor ±1 | `vectors`: `rows` (default) or `columns` |
| `subspace` | bases of the same column space | none |
| `set` | a list/tuple whose order does not matter (Apriori itemsets) | none |
| `dropout` | inverted dropout (random): each element 0 or input/(1−p), zero rate ≈ p | `input`, `p`, optional `training`, `z` |
| `distribution` | random initialisation: sample mean and variance | `mean`, `variance`, optional `kurtosis`, `z` |
| `custom` | anything else: a trusted function under reference/ | `check: module:function` |

Every comparator returns None when the output is right, else a message that says what
differed, where and by how much (the same style as grader.compare.tensors).

Statistical comparators (`dropout`, `distribution`) check the *law* of a random output, never
one random stream, with bounds computed from the sample size: `z` standard errors (default 5,
a two-sided false-fail probability of about 5.7e-7 per check under the normal approximation).

Known mistakes are matched with the same comparator (grader.kinds.function.kind.matching_mistake).
For statistical comparators the parameters of a mistake's law are unknown, so with
``against="mistake"`` they are estimated from the mistake's own output and the student's
output is compared with it by a two-sample bound: a student whose dropout forgets the 1/(1−p)
scaling is told so even though no two random streams agree.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grader.compare import tensors as cmp
from grader.compare.tolerance import uniform
from grader import expressions
from grader.errors import SpecError
from grader.problems.reference import load_callable

DEFAULT_Z = 5.0

COMPARATOR_TYPES = ("permutation", "sign", "subspace", "set", "dropout", "distribution", "custom")


def run_comparator(problem, case: dict, comparator: dict, actual, expected, overrides: dict,
                   args: dict | None = None, against: str = "reference") -> str | None:
    """Compare with the spec's `comparator` mapping; None when right, else a message.

    `args` maps the case's argument names to their values (omitted arguments are absent);
    `against` is "reference" (expected is the reference's output) or "mistake" (expected is a
    known mistake's output, used to name the mistake a wrong answer matches).
    """
    kind = comparator.get("type")
    func = COMPARATORS.get(kind)
    if func is None:
        raise SpecError(f"{problem.path}: $.comparator.type: unknown comparator '{kind}' "
                        f"(known: tolerance, exact, {', '.join(COMPARATOR_TYPES)})")
    context = Context(problem=problem, case=case, spec=comparator, overrides=overrides or {},
                      args=dict(args or {}), against=against)
    return func(actual, expected, context)


class Context:
    """What a comparator may look at besides the two values."""

    def __init__(self, problem, case, spec, overrides, args, against):
        self.problem, self.case, self.spec = problem, case, spec
        self.overrides, self.args, self.against = overrides, args, against

    def where(self) -> str:
        path = getattr(self.problem, "path", "spec")
        return f"{path}: comparator '{self.spec.get('type')}' on case '{self.case.get('name', '?')}'"

    def arg(self, key: str, *, required: bool = True, default=None):
        """The value of spec key `key`: a number/bool literal, or the name of a case argument."""
        if key not in self.spec:
            if required:
                raise SpecError(f"{self.where()}: needs '{key}'")
            return default
        ref = self.spec[key]
        if isinstance(ref, str):
            if ref not in self.args and not required:
                return default  # an omitted optional argument has its default value
            if ref not in self.args:
                raise SpecError(f"{self.where()}: '{key}: {ref}' names no argument of this case "
                                f"(arguments: {', '.join(self.args) or 'none'}); do not omit it, or give a number")
            return self.args[ref]
        return ref

    @property
    def z(self) -> float:
        return float(self.spec.get("z", DEFAULT_Z))


# ---------------------------------------------------------------- helpers


def attribute_mismatch(actual, expected, path: str = "output") -> str | None:
    """Type, shape, dtype and device of a tensor/array (values not compared)."""
    if cmp.is_tensor(expected) or cmp.is_ndarray(expected):
        same_kind = cmp.is_tensor(actual) if cmp.is_tensor(expected) else cmp.is_ndarray(actual)
        if not same_kind:
            return cmp.type_mismatch(actual, expected, path).message
        if tuple(actual.shape) != tuple(expected.shape):
            return f"{path} has shape {cmp.shape_str(actual.shape)}, expected {cmp.shape_str(expected.shape)}"
        if actual.dtype != expected.dtype:
            return f"{path} has dtype {actual.dtype}, expected {expected.dtype}"
        if cmp.is_tensor(expected) and actual.device != expected.device:
            return f"{path} is on {actual.device}, expected {expected.device}"
        return None
    mismatch = cmp.compare(actual, expected, overrides=uniform(math.inf, math.inf), path=path)
    return mismatch.message if mismatch else None


def as_float64(x) -> np.ndarray:
    """A float64 NumPy copy of a tensor or array (CPU)."""
    return cmp.as_float64(x, is_complex=False)


def as_numpy(x) -> np.ndarray:
    if cmp.is_ndarray(x):
        return x
    return cmp.torch_to_numpy(x)


def _torch():
    import torch

    return torch


def dtype_name(x) -> str:
    if cmp.is_ndarray(x):
        return x.dtype.name
    return str(x.dtype).removeprefix("torch.")


def tolerance(x, overrides: dict) -> cmp.Tolerance:
    return cmp.tolerance_for(dtype_name(x), overrides) or cmp.Tolerance(0.0, 0.0)


def index_text(flat: int, shape) -> str:
    return str(tuple(int(i) for i in np.unravel_index(int(flat), shape))) if shape else "()"


def fmt(x) -> str:
    return cmp.fmt(x)


def is_array(x) -> bool:
    return cmp.is_tensor(x) or cmp.is_ndarray(x)


# ---------------------------------------------------------------- permutation


def compare_permutation(actual, expected, ctx: Context) -> str | None:
    """Integer labels equal up to a one-to-one renaming; labels in `fixed` must match exactly."""
    path = "output"
    if not is_array(expected):
        actual_arr, expected_arr = _label_list(actual, path), _label_list(expected, "expected")
        if isinstance(actual_arr, str):
            return actual_arr
    else:
        problem = attribute_mismatch(actual, expected, path)
        if problem:
            return problem
        actual_arr, expected_arr = as_numpy(actual), as_numpy(expected)
    if expected_arr.dtype.kind not in "iub":
        raise SpecError(f"{ctx.where()}: the reference returned {expected_arr.dtype} labels; "
                        "the permutation comparator needs integer labels")
    if actual_arr.shape != expected_arr.shape:
        return f"{path} has {actual_arr.size} labels, expected {expected_arr.size}"
    fixed = set(int(v) for v in ctx.spec.get("fixed", []))
    a, e = actual_arr.reshape(-1).astype(np.int64), expected_arr.reshape(-1).astype(np.int64)
    shape = expected_arr.shape
    for label in sorted(fixed):
        wrong = (e == label) != (a == label)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            n = int(wrong.sum())
            return (f"{path}: label {label} has a fixed meaning and must match exactly; it differs at "
                    f"{n} / {e.size} positions, first at index {index_text(i, shape)} "
                    f"(got {a[i]}, expected {e[i]})")
    free = ~np.isin(e, list(fixed)) if fixed else np.ones(e.shape, dtype=bool)
    forward: dict[int, tuple[int, int]] = {}   # actual label -> (expected label, first index)
    backward: dict[int, tuple[int, int]] = {}  # expected label -> (actual label, first index)
    for i in np.flatnonzero(free):
        la, le = int(a[i]), int(e[i])
        if la in forward and forward[la][0] != le:
            j = forward[la][1]
            return (f"{path}: index {index_text(j, shape)} and index {index_text(i, shape)} are both labelled {la}, "
                    f"but they belong to different clusters (expected labels {e[j]} and {le}); "
                    f"labels may be renamed but the grouping must be the same")
        if le in backward and backward[le][0] != la:
            j = backward[le][1]
            return (f"{path}: index {index_text(j, shape)} and index {index_text(i, shape)} are in the same cluster "
                    f"(expected label {le} for both) but are labelled {backward[le][0]} and {la}")
        forward.setdefault(la, (le, int(i)))
        backward.setdefault(le, (la, int(i)))
    return None


def _label_list(value, path):
    if not isinstance(value, (list, tuple)) or not all(type(v) in (int, bool) for v in value):
        if path == "expected":
            raise SpecError("the permutation comparator needs integer labels (a tensor, array or list of ints)")
        return f"{path} should be a list of int labels, got {cmp.describe_value(value)}"
    return np.asarray(value, dtype=np.int64)


# ---------------------------------------------------------------- sign


def compare_sign(actual, expected, ctx: Context) -> str | None:
    """Each row (or column) equal to the expected one up to a factor ±1, with the usual tolerance."""
    problem = attribute_mismatch(actual, expected)
    if problem:
        return problem
    vectors = ctx.spec.get("vectors", "rows")
    e = as_float64(expected)
    a = as_float64(actual)
    if e.ndim == 1:
        e2, a2 = e[None, :], a[None, :]
    elif e.ndim == 2:
        e2, a2 = (e, a) if vectors == "rows" else (e.T, a.T)
    else:
        raise SpecError(f"{ctx.where()}: the sign comparator needs a 1-D or 2-D output, the reference "
                        f"returned {e.ndim} dimensions")
    with np.errstate(all="ignore"):
        dots = np.nansum(a2 * e2, axis=1)
    signs = np.where(dots < 0, -1.0, 1.0)
    flipped = e2 * signs[:, None]
    if e.ndim == 2 and vectors == "columns":
        flipped = flipped.T
    flipped = flipped.reshape(e.shape)
    if cmp.is_tensor(expected):
        target = _torch().from_numpy(flipped).to(expected.dtype)
    else:
        target = flipped.astype(expected.dtype)
    mismatch = cmp.compare(actual, target, overrides=ctx.overrides)
    if mismatch is None:
        return None
    word = "row" if vectors == "rows" or e.ndim == 1 else "column"
    return (f"{mismatch.message}\n(each {word} was compared up to sign: with the sign that fits best, "
            f"a {word} still differs)")


# ---------------------------------------------------------------- subspace


def compare_subspace(actual, expected, ctx: Context) -> str | None:
    """The column spaces of two 2-D matrices are equal (projection matrices within tolerance)."""
    problem = attribute_mismatch(actual, expected)
    if problem:
        return problem
    a, e = as_float64(actual), as_float64(expected)
    if e.ndim != 2:
        raise SpecError(f"{ctx.where()}: the subspace comparator needs a 2-D output (columns span the subspace)")
    if not np.isfinite(a).all():
        bad = int(np.flatnonzero(~np.isfinite(a))[0])
        return f"output has NaN or inf values, first at index {index_text(bad, a.shape)}"
    tol = tolerance(expected, ctx.overrides)
    rank_e, qe = _orthonormal_basis(e)
    rank_a, qa = _orthonormal_basis(a)
    if rank_a != rank_e:
        return (f"output: its columns span a {rank_a}-dimensional subspace, expected {rank_e} dimensions "
                f"(are some columns linearly dependent or zero?)")
    pa, pe = qa @ qa.T, qe @ qe.T
    diff = np.abs(pa - pe)
    allowed = tol.atol + tol.rtol * np.abs(pe)
    bad = diff > np.maximum(allowed, 1e-12)
    if not bad.any():
        return None
    flat = int(np.argmax(np.where(bad, diff, -1)))
    cosines = np.clip(np.linalg.svd(qa.T @ qe, compute_uv=False), -1.0, 1.0) if rank_e else np.ones(0)
    angle = math.degrees(math.acos(float(cosines.min()))) if cosines.size else 0.0
    return (f"output: its columns span a different subspace than expected.\n"
            f"Largest principal angle between the subspaces: {angle:.3g} degrees\n"
            f"Greatest difference between the projection matrices: {fmt(float(diff.flat[flat]))} at index "
            f"{index_text(flat, diff.shape)} (up to {fmt(float(allowed.flat[flat]))} allowed)")


def _orthonormal_basis(m: np.ndarray) -> tuple[int, np.ndarray]:
    if m.size == 0:
        return 0, np.zeros((m.shape[0], 0))
    u, s, _ = np.linalg.svd(m, full_matrices=False)
    cutoff = max(m.shape) * np.finfo(np.float64).eps * (s[0] if s.size else 0.0) * 1e3
    rank = int((s > cutoff).sum())
    return rank, u[:, :rank]


# ---------------------------------------------------------------- set

_EXACT_SCALARS = (int, str, bool)


def canonical(value):
    """An order-insensitive form of a set item.

    * a list/tuple whose items are all ints or strs is an itemset: sorted, order ignored
      (an empty list/tuple is an empty itemset);
    * any other list/tuple (e.g. a pair (itemset, support) or a rule (antecedent, consequent,
      support, confidence, lift)) keeps its order, with each item made canonical;
    * a dict keeps its keys, with each value made canonical;
    * anything else (numbers, tensors, None) is left as it is and compared by grader.compare.tensors.
    """
    if isinstance(value, (list, tuple)):
        if all(type(v) in _EXACT_SCALARS for v in value):
            return ("itemset", tuple(sorted(value, key=lambda v: (type(v).__name__, v))))
        return ("seq", tuple(canonical(v) for v in value))
    if isinstance(value, dict):
        return ("dict", {k: canonical(v) for k, v in value.items()})
    return value


def exact_key(value):
    """A hashable key of the exact parts of a canonical item (floats and arrays left out)."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "itemset":
        return value
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "seq":
        return ("seq", tuple(exact_key(v) for v in value[1]))
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "dict":
        return ("dict", tuple(sorted(((repr(k), exact_key(v)) for k, v in value[1].items()))))
    if type(value) in _EXACT_SCALARS or value is None:
        return (type(value).__name__, value)
    return ("inexact", type(value).__name__)


def readable(value) -> str:
    """A canonical item written back for messages: itemsets as {a, b}."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "itemset":
        return "{" + ", ".join(cmp.safe_repr(v) for v in value[1]) + "}"
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "seq":
        return "(" + ", ".join(readable(v) for v in value[1]) + ")"
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "dict":
        return "{" + ", ".join(f"{cmp.safe_repr(k)}: {readable(v)}" for k, v in value[1].items()) + "}"
    if type(value) is float:
        return fmt(value)
    if type(value) in _EXACT_SCALARS or value is None:
        return cmp.safe_repr(value)
    return cmp.describe_value(value)


def plain(value):
    """A canonical item as plain nested tuples/dicts for grader.compare.tensors."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] in ("itemset", "seq"):
        return tuple(plain(v) for v in value[1])
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "dict":
        return {k: plain(v) for k, v in value[1].items()}
    return value


def compare_set(actual, expected, ctx: Context) -> str | None:
    """A list/tuple compared as a multiset of items (see `canonical`)."""
    if not isinstance(expected, (list, tuple)):
        raise SpecError(f"{ctx.where()}: the set comparator needs the reference to return a list or tuple")
    if not isinstance(actual, (list, tuple)):
        return f"output should be a list (in any order), got {cmp.describe_value(actual)}"
    groups: dict[Any, list] = {}
    for item in expected:
        c = canonical(item)
        groups.setdefault(exact_key(c), []).append(c)
    missing: list = []
    unexpected: list = []
    differing: list[str] = []
    pool: dict[Any, list] = {}
    for i, item in enumerate(actual):
        c = canonical(item)
        pool.setdefault(exact_key(c), []).append((i, c))
    for key, wanted in groups.items():
        got = list(pool.pop(key, []))
        for want in wanted:
            match = None
            best = None
            for j, (i, c) in enumerate(got):
                mismatch = cmp.compare(plain(c), plain(want), overrides=ctx.overrides, path=f"output[{i}]")
                if mismatch is None:
                    match = j
                    break
                best = best or mismatch
            if match is not None:
                got.pop(match)
            else:
                missing.append(want)
                if best is not None:
                    differing.append(best.message)
        unexpected += [c for _, c in got]
    for rest in pool.values():
        unexpected += [c for _, c in rest]
    if not missing and not unexpected:
        return None
    lines = [f"output (compared as a set, in any order) has {len(actual)} items, expected {len(expected)}; "
             f"{len(missing)} expected item{'s' if len(missing) != 1 else ''} not found, "
             f"{len(unexpected)} unexpected"]
    if missing:
        lines.append("Missing: " + ", ".join(readable(m) for m in missing[:5]) + (" ..." if len(missing) > 5 else ""))
    if unexpected:
        lines.append("Unexpected: " + ", ".join(readable(u) for u in unexpected[:5])
                     + (" ..." if len(unexpected) > 5 else ""))
    if differing:
        lines.append("Closest difference: " + differing[0].splitlines()[0])
    return "\n".join(lines)


# ---------------------------------------------------------------- statistics


def proportion_bound(p: float, n: int, z: float) -> float:
    """Allowed |p_hat - p| for a binomial proportion of n trials: z standard errors + 1/(2n)."""
    return z * math.sqrt(max(p * (1 - p), 0.0) / n) + 0.5 / n


def _truthy_mode(value) -> bool:
    if isinstance(value, str):
        return value.lower() in ("train", "training", "true")
    return bool(value)


def compare_dropout(actual, expected, ctx: Context) -> str | None:
    """Inverted dropout: every element 0 or input/(1-p); the fraction of zeros close to p.

    Elements whose kept value would be within tolerance of 0 (input 0 or tiny) say nothing
    about the mask and are not counted in the rate.
    With `training: <argument>`, an evaluation-mode call (False, or a str other than
    'train'/'training') must return the input unchanged (p = 0).
    """
    problem = attribute_mismatch(actual, expected)
    if problem:
        return problem
    x_value = ctx.arg("input")
    if not is_array(x_value):
        raise SpecError(f"{ctx.where()}: 'input' must name a tensor or array argument")
    x = as_float64(x_value)
    a = as_float64(actual)
    if x.shape != a.shape:
        raise SpecError(f"{ctx.where()}: the output and the input '{ctx.spec['input']}' have different shapes")
    tol = tolerance(actual, ctx.overrides)
    n_nan = int(np.isnan(a).sum())
    if n_nan:
        first = int(np.flatnonzero(np.isnan(a))[0])
        return f"output has NaN at {n_nan} positions, first at index {index_text(first, a.shape)}"
    training = _truthy_mode(ctx.arg("training", required=False, default=True))
    if ctx.against == "mistake":
        law = _infer_dropout_law(x, as_float64(expected), tol)
        if law is None:  # the mistake is not dropout-shaped: compare it as a plain output
            mismatch = cmp.compare(actual, expected, overrides=ctx.overrides)
            return mismatch.message if mismatch else None
        scale, rate, n_ref = law
    else:
        p = float(ctx.arg("p")) if training else 0.0
        if not 0.0 <= p <= 1.0:
            raise SpecError(f"{ctx.where()}: p = {p} is not a probability")
        scale, rate, n_ref = (1.0 / (1.0 - p) if p < 1 else math.inf), p, None
    return _check_dropout(a, x, scale, rate, n_ref, tol, ctx.z, training, ctx.spec.get("p"))


def _infer_dropout_law(x, e, tol) -> tuple[float, float, int] | None:
    """(scale, zero rate, sample size) of a mistake's dropout output, or None if it is not one."""
    counted = np.abs(x) > 2 * tol.atol
    n = int(counted.sum())
    if n == 0:
        return None
    zero = np.abs(e) <= tol.atol
    kept = counted & ~zero
    if not kept.any():
        return math.inf, 1.0, n
    ratios = e[kept] / x[kept]
    scale = float(np.median(ratios))
    if not np.all(np.abs(ratios - scale) <= 1e-3 * abs(scale) + 1e-12):
        return None
    return scale, float((zero & counted).sum()) / n, n


def _check_dropout(a, x, scale, rate, n_ref, tol, z, training, p_name) -> str | None:
    zero = np.abs(a) <= tol.atol
    if math.isinf(scale):
        kept_ok = np.zeros_like(zero)
        target = np.zeros_like(x)
        counted = x != 0
    else:
        target = x * scale
        kept_ok = np.abs(a - target) <= tol.atol + tol.rtol * np.abs(target)
        # an element whose kept value is itself within tolerance of 0 says nothing about the mask
        counted = np.abs(target) > 2 * tol.atol + tol.rtol * np.abs(target)
    bad = ~(zero | kept_ok)
    mode = "" if training else " (not training: the input unchanged)"
    scale_text = "x" if scale == 1 else ("0" if math.isinf(scale) else f"x · {fmt(scale)}")
    if bad.any():
        n_bad = int(bad.sum())
        flat = int(np.argmax(np.where(bad, np.abs(a - target), -1)))
        ratio = a.flat[flat] / x.flat[flat] if x.flat[flat] != 0 else math.nan
        return (f"output: {n_bad} / {a.size} elements are neither 0 nor {scale_text}{mode}.\n"
                f"Greatest difference at index {index_text(flat, a.shape)}: got {fmt(float(a.flat[flat]))}, "
                f"x = {fmt(float(x.flat[flat]))} so a kept element is {fmt(float(target.flat[flat]))}"
                + (f" (your value is x · {fmt(float(ratio))})" if math.isfinite(ratio) else ""))
    n = int(counted.sum())
    if n == 0:
        return None
    zeros = int((zero & counted).sum())
    observed = zeros / n
    if n_ref is None:
        allowed = proportion_bound(rate, n, z)
        against = f"p = {fmt(rate)}" if training else "0 when not training"
    else:
        pooled = rate
        allowed = z * math.sqrt(max(pooled * (1 - pooled), 0.0) * (1 / n + 1 / n_ref)) + 0.5 / n + 0.5 / n_ref
        against = f"{fmt(rate)}"
    if abs(observed - rate) <= allowed:
        return None
    return (f"output: {zeros} of {n} elements are zero, a dropped fraction of {fmt(observed)}; "
            f"expected {against}{mode} (with {n} elements, up to {fmt(allowed)} away is allowed, "
            f"{fmt(z)} standard errors)")


def compare_distribution(actual, expected, ctx: Context) -> str | None:
    """Random values with a given mean and variance (and optionally excess kurtosis).

    Bounds, for n values (sigma^2 the expected variance, kappa the excess kurtosis, 0 for a
    normal law): |mean - mu| <= z sigma / sqrt(n);
    |s^2 - sigma^2| <= z sigma^2 sqrt((2 + kappa) / (n - 1)) (normal approximation of the
    chi-square law of s^2); with `kurtosis` given, |k_hat - kappa| <= z sqrt(24 / n).
    """
    problem = attribute_mismatch(actual, expected)
    if problem:
        return problem
    a = as_float64(actual).reshape(-1)
    n = a.size
    if n < 2:
        raise SpecError(f"{ctx.where()}: a distribution check needs at least 2 values, the output has {n}")
    if not np.isfinite(a).all():
        bad = int(np.flatnonzero(~np.isfinite(a))[0])
        return f"output has NaN or inf values, first at index {index_text(bad, as_float64(actual).shape)}"
    z = ctx.z
    kurt = ctx.spec.get("kurtosis")
    mean, var = float(a.mean()), float(a.var(ddof=1))
    if ctx.against == "mistake":
        e = as_float64(expected).reshape(-1)
        if e.size < 2 or not np.isfinite(e).all():
            mismatch = cmp.compare(actual, expected, overrides=ctx.overrides)
            return mismatch.message if mismatch else None
        mu, sigma2, n_ref = float(e.mean()), float(e.var(ddof=1)), e.size
        mu_text, var_text = f"{fmt(mu)}", f"{fmt(sigma2)}"
    else:
        mu = evaluate_expression(ctx.spec.get("mean", 0), ctx.args, ctx.where())
        sigma2 = evaluate_expression(ctx.spec["variance"], ctx.args, ctx.where())
        n_ref = None
        mu_text = _expr_text(ctx.spec.get("mean", 0), mu)
        var_text = _expr_text(ctx.spec["variance"], sigma2)
    tol = tolerance(actual, ctx.overrides)
    k = 2.0 + float(kurt or 0.0)
    inv = 1 / n + (1 / n_ref if n_ref else 0.0)
    inv1 = 1 / (n - 1) + (1 / (n_ref - 1) if n_ref else 0.0)
    mean_allowed = z * math.sqrt(max(sigma2, 0.0) * inv) + tol.atol
    if abs(mean - mu) > mean_allowed:
        return (f"output: the mean of its {n} values is {fmt(mean)}, expected {mu_text} "
                f"(difference {fmt(abs(mean - mu))}, up to {fmt(mean_allowed)} allowed: {fmt(z)} standard errors)")
    var_allowed = z * max(sigma2, 0.0) * math.sqrt(k * inv1) + tol.atol
    if var > sigma2 and not kurt and n_ref is None:
        # Above sigma^2 the law of s^2 is skewed for few values, and the normal approximation undercuts
        # it: 12 correct normal draws failed 2.8e-4 of the time at z = 5. Take the chi-square bound there.
        var_allowed = max(var_allowed, sigma2 * _chi_square_upper_excess(n - 1, z) + tol.atol)
    if abs(var - sigma2) > var_allowed:
        rel = abs(var - sigma2) / sigma2 if sigma2 else math.inf
        return (f"output: the variance of its {n} values is {fmt(var)}, expected {var_text} "
                f"(difference {fmt(abs(var - sigma2))}, {100 * rel:.3g}% of the expected variance; "
                f"up to {fmt(var_allowed)} allowed: {fmt(z)} standard errors); "
                f"the standard deviation is {fmt(math.sqrt(var))}, expected {fmt(math.sqrt(max(sigma2, 0.0)))}")
    if kurt is not None and var > 0:
        excess = _excess_kurtosis(a)
        target, allowed = float(kurt), z * math.sqrt(24.0 / n)
        if ctx.against == "mistake":  # the mistake's own shape (a uniform law has -1.2)
            e = as_float64(expected).reshape(-1)
            target, allowed = _excess_kurtosis(e), z * math.sqrt(24.0 / n + 24.0 / e.size)
        if abs(excess - target) > allowed:
            return (f"output: the excess kurtosis of its {n} values is {fmt(excess)}, expected {fmt(target)} "
                    f"(up to {fmt(allowed)} away allowed); the values do not look like draws from the "
                    f"stated distribution (a uniform law has -1.2, a normal law 0)")
    return None


def _chi_square_upper_excess(dof: int, z: float) -> float:
    """How far above 1 chi-square(dof)/dof may go at z standard normal errors (Wilson-Hilferty's
    cube-root approximation of the quantile, close even for a few degrees of freedom)."""
    c = 2.0 / (9.0 * dof)
    return (1.0 - c + z * math.sqrt(c)) ** 3 - 1.0


def _excess_kurtosis(values: np.ndarray) -> float:
    centered = values - values.mean()
    second = float(np.mean(centered ** 2))
    return float(np.mean(centered ** 4)) / second ** 2 - 3.0 if second > 0 else 0.0


def _expr_text(expr, value) -> str:
    return f"{expr} = {fmt(value)}" if isinstance(expr, str) else fmt(value)


def evaluate_expression(expr, args: dict, where: str = "comparator") -> float:
    """A number, or an expression (grader/expressions.py) over the case's numeric arguments,
    e.g. "2 / (fan_in + fan_out)"."""
    if isinstance(expr, (int, float)) and not isinstance(expr, bool):
        return float(expr)
    if not isinstance(expr, str):
        raise SpecError(f"{where}: expected a number or an expression, got {expr!r}")
    try:
        used = expressions.names(expr)
    except SyntaxError:
        raise SpecError(f"{where}: cannot parse the expression '{expr}'") from None
    except ValueError as exc:
        raise SpecError(f"{where}: the expression '{expr}' may only use numbers, argument names, arithmetic "
                        f"and the spec functions ({exc})") from None
    for name in sorted(used):
        if name not in args:
            raise SpecError(f"{where}: the expression '{expr}' uses '{name}', which is no argument of this "
                            f"case (arguments: {', '.join(args) or 'none'})")
        if isinstance(args[name], bool) or not isinstance(args[name], (int, float)):
            raise SpecError(f"{where}: the expression '{expr}' uses '{name}', which is not a number")
    try:
        value = expressions.evaluate(expr, {name: args[name] for name in used})
    except SpecError as exc:
        raise SpecError(f"{where}: the expression '{expr}' cannot be evaluated: {exc.message}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{where}: the expression '{expr}' is not a number")
    return float(value)


def expression_names(expr) -> list[str]:
    """Argument names an expression uses (for spec checks)."""
    if not isinstance(expr, str):
        return []
    try:
        return sorted(expressions.names(expr))
    except (SyntaxError, ValueError):
        return []


# ---------------------------------------------------------------- custom


def compare_custom(actual, expected, ctx: Context) -> str | None:
    """A trusted instructor check: check(actual, expected, args) -> None or a message."""
    check = load_callable(Path(ctx.problem.bank_root) / "reference", ctx.spec["check"], what="custom check")
    try:
        message = check(actual, expected, dict(ctx.args))
    except Exception as exc:  # noqa: BLE001 - the output could not be checked: a wrong answer
        return f"output could not be checked ({type(exc).__name__}: {exc}); is it of the type the statement asks for?"
    if message is None:
        return None
    return str(message)


COMPARATORS: dict[str, Callable] = {
    "permutation": compare_permutation,
    "sign": compare_sign,
    "subspace": compare_subspace,
    "set": compare_set,
    "dropout": compare_dropout,
    "distribution": compare_distribution,
    "custom": compare_custom,
}


def spec_problems(problem) -> list[str]:
    """Consistency rules of a problem's comparator that the schema cannot express."""
    comparator = problem.spec.get("comparator")
    if not isinstance(comparator, dict):
        return []
    inputs = problem.spec.get("inputs", {})
    errors = []
    kind = comparator.get("type")
    names = []
    if kind == "dropout":
        names = [comparator.get("input")] + [comparator[k] for k in ("p", "training")
                                            if isinstance(comparator.get(k), str)]
    elif kind == "distribution":
        names = expression_names(comparator.get("mean", 0)) + expression_names(comparator.get("variance"))
    for name in names:
        if name is not None and name not in inputs:
            errors.append(f"$.comparator: '{name}' is not an input (inputs: {', '.join(inputs)})")
    return errors
