"""Compare a student's output with the expected output, torch.testing style.

Why this module exists: a grade is only useful if students can trust it.  A
false fail (correct work marked wrong because of float noise, a harmless
container type or an unhelpful message) costs far more than a missed bug: it
sends the student hunting for a problem that does not exist and erodes trust
in every later verdict.  So the comparison here

* checks attributes first (type, length/keys, shape, dtype, device) and only
  then values, so the first reported problem is the most fundamental one;
* compares floating point values with the dtype-aware tolerances of
  ``torch.testing.assert_close`` (scaled by the *expected* value only, so a
  wildly wrong answer cannot widen its own tolerance);
* treats NaN and inf explicitly (NaN where NaN is expected is fine; a NaN or
  inf anywhere else is reported as such, with a count and the first index);
* returns the first mismatch as data (:class:`Mismatch`) with a message that
  says where the problem is and what was expected.

The values passed in have already been decoded into plain Python, numpy and
torch objects in the trusted process.  As belt and braces we still dispatch on
exact types and never call methods on objects of types we do not know, except
``type(x).__name__`` and ``type(x).__module__``.

This module does not import torch: a value can only be a tensor once something else has
imported it, and the commands that grade nothing (`grader list`, `show`, `start`) never do.
"""

from __future__ import annotations

import sys

import collections
import functools
import math
from dataclasses import dataclass

import numpy as np

from grader.compare.tolerance import DEFAULT_TOLERANCES, Tolerance, tolerance_for  # noqa: F401 - part of this module's API


@dataclass(frozen=True)
class Mismatch:
    path: str  # "output", "output[1]", "output['m']"
    kind: str  # "type", "length", "keys", "shape", "dtype", "device", "value", "nan", "inf"
    message: str  # full human message, starting with the path
    # Only for kind "value":
    mismatched: int | None = None
    total: int | None = None
    max_abs: float | None = None
    max_abs_index: tuple | None = None
    max_rel: float | None = None
    max_rel_index: tuple | None = None


# --------------------------------------------------------------------------
# Descriptions of values and types (safe on objects of unknown types).

_DICT_TYPES = (dict, collections.OrderedDict, collections.defaultdict)
_SIMPLE_REPR_TYPES = (type(None), bool, int, float, complex, str)


def _type_name(x) -> str:
    t = type(x)
    if t.__module__ == "builtins":
        return t.__name__
    return f"{t.__module__}.{t.__name__}"


def _torch_for(x):
    """torch when `x` (a value, or a dtype) is one of its objects, else None. Its type says so
    before torch is imported here (it is loaded by whoever made `x`; the import waits for another
    thread still importing it)."""
    if type(x).__module__.partition(".")[0] != "torch":
        return None
    import torch

    return torch


@functools.cache
def _tensor_types() -> tuple:
    import torch

    return torch.Tensor, torch.nn.Parameter, torch.nn.Buffer


def is_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and type(x) in _tensor_types()


def is_ndarray(x) -> bool:
    return type(x) is np.ndarray


def _is_numpy_scalar(x) -> bool:
    return isinstance(x, np.generic) and type(x).__module__ == "numpy"


def safe_repr(x, limit: int = 60) -> str:
    """repr for trusted built-in scalar types, otherwise just the type name."""
    if type(x) in _SIMPLE_REPR_TYPES:
        text = repr(x)
    elif _is_numpy_scalar(x):
        text = str(x)
    else:
        return f"<{_type_name(x)} object>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _items(n: int) -> str:
    return f"{n} item" if n == 1 else f"{n} items"


def shape_str(shape) -> str:
    return str(tuple(int(s) for s in shape))


def describe_value(x) -> str:
    """A short description of a value for messages, e.g. "a Python float 3.0"."""
    t = type(x)
    if x is None:
        return "None"
    if t in (bool, int, float, complex):
        return f"a Python {t.__name__} {x!r}"
    if t is str:
        return f"a str {safe_repr(x)}"
    if t in (bytes, bytearray):
        return f"a {t.__name__} object of length {len(x)}"
    if t in (tuple, list, set, frozenset):
        return f"a {t.__name__} of {_items(len(x))}"
    if t in _DICT_TYPES:
        n = len(x)
        return f"a {_type_name(x)} with {n} key" + ("" if n == 1 else "s")
    if is_tensor(x):
        text = f"a {_type_name(x)} of shape {shape_str(x.shape)} and dtype {x.dtype}"
        if x.device.type != "cpu":
            text += f" on {x.device}"
        return text
    if is_ndarray(x):
        return f"a numpy.ndarray of shape {shape_str(x.shape)} and dtype {x.dtype}"
    if _is_numpy_scalar(x):
        return f"a numpy.{t.__name__} {x}"
    if isinstance(x, tuple) and t.__module__ in ("torch", "torch.return_types"):
        return f"a {_type_name(x)} of {_items(len(x))}"
    return f"a {_type_name(x)} object"


def _describe_expected_type(e) -> str:
    t = type(e)
    if e is None:
        return "None"
    names = {bool: "a bool", int: "an int", float: "a float", complex: "a complex number", str: "a str"}
    if t in names:
        return names[t]
    if t in (tuple, list):
        return f"a {t.__name__} of {_items(len(e))}"
    if is_tensor(e):
        return "a torch.Tensor"
    if is_ndarray(e):
        return "a numpy.ndarray"
    if _is_numpy_scalar(e):
        return f"a numpy.{t.__name__}"
    if t in _DICT_TYPES:
        return "a dict"
    return f"a {_type_name(e)}"


def _is_numpy_float64(x) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and type(x) is np.float64


def _conversion_hint(a, e) -> str:
    """A suggestion when a scalar came back as the wrong kind of number."""
    target = {float: "float", int: "int", bool: "bool", complex: "complex"}.get(type(e))
    if target is None:
        return ""
    if is_tensor(a) and a.dim() == 0:
        return f"; return a Python {target} with .item()"
    if _is_numpy_scalar(a) or (is_ndarray(a) and a.ndim == 0):
        return f"; return a Python {target} with {target}(...)"
    if type(a) in (int, float) and target in ("float", "complex"):
        return f"; return a Python {target} with {target}(...)"
    return ""


# --------------------------------------------------------------------------
# Number formatting.


def fmt(x) -> str:
    if type(x) is int:
        return str(x)
    return format(x, ".6g")


def _fmt_pair(a, e) -> tuple[str, str]:
    """Format two numbers so that different numbers never print the same."""
    sa, se = fmt(a), fmt(e)
    if sa == se and a != e:
        sa, se = repr(a), repr(e)
    return sa, se


def _positions(n: int) -> str:
    return f"{n} position" if n == 1 else f"{n} positions"


# --------------------------------------------------------------------------
# Comparison.


#: How strictly numbers are typed (a problem's `strictness.numbers`):
#: "python" takes only Python numbers (and numpy.float64, a subclass of float);
#: "numpy" also NumPy scalars and 0-d arrays; "any" also 0-d tensors.
NUMBER_POLICIES = ("python", "numpy", "any")
#: How strictly float dtypes are held (a problem's `strictness.dtype` maps onto these two):
#: "strict": another float dtype is a mismatch; "loose": values are compared at the coarser of
#: the two precisions and the dtype is left to `dtype_differences`.
DTYPE_POLICIES = ("strict", "loose")


def compare(actual, expected, *, overrides: dict[str, dict] | None = None, path: str = "output",
            numbers: str = "python", dtypes: str = "strict", nonfinite_alike: bool = False,
            detail: bool = True) -> Mismatch | None:
    """First mismatch (depth-first, in order) between actual and expected, or None.

    `numbers` and `dtypes` say how strictly number types and float dtypes are held
    (NUMBER_POLICIES, DTYPE_POLICIES); the defaults are the strictest. `nonfinite_alike` counts
    any two non-finite values (inf, -inf, NaN) as equal: for matching a known mistake, whose
    overflow may give inf where the student's gives NaN or the reverse. `detail=False`: only
    whether they differ matters (matching known mistakes), so arrays that differ give a mismatch
    without the figures that describe it, which cost more than the comparison."""
    e, a = expected, actual
    te = type(e)
    policy = {"numbers": numbers, "dtypes": dtypes, "nonfinite_alike": nonfinite_alike, "detail": detail}

    if e is None:
        if a is None:
            return None
        return type_mismatch(a, e, path)

    if te in (bool, int, float) and type(a) is not te and numbers != "python":
        found = _as_number(a, te, numbers)
        if found is not None:
            a, a_dtype = found
            if te is float:
                return _compare_scalar(a, e, _coarser(tolerance_for("float", overrides),
                                                      tolerance_for(a_dtype, overrides)), path, nonfinite_alike)
            return None if a == e else Mismatch(path, "value", f"{path} is {a!r}, expected {e!r}")

    if te in (bool, int, str, float, complex):
        if te is float and _is_numpy_float64(a):
            a = float(a)  # numpy.float64 *is* a Python float (a subclass, same precision): not worth a false fail
        if type(a) is not te:
            return type_mismatch(a, e, path)
        if te is float or te is complex:
            tol = tolerance_for(te.__name__, overrides)
            return _compare_scalar(a, e, tol, path, nonfinite_alike)
        if a == e:
            return None
        if te is str:
            return Mismatch(path, "value", f"{path} is {safe_repr(a)}, expected {safe_repr(e)}" + _str_diff_hint(a, e))
        return Mismatch(path, "value", f"{path} is {a!r}, expected {e!r}")

    if is_tensor(e) or is_ndarray(e):
        same_kind = is_tensor(a) if is_tensor(e) else is_ndarray(a)
        if not same_kind:
            return type_mismatch(a, e, path)
        return _compare_arrays(a, e, overrides, path, dtypes, nonfinite_alike, detail)

    if _is_numpy_scalar(e):
        if type(a) is not te and numbers != "python" and e.dtype.kind in "biuf":
            want = {"b": bool, "i": int, "u": int, "f": float}[e.dtype.kind]
            found = _as_number(a, want, numbers)
            if found is not None:
                return compare(found[0], want(e), overrides=overrides, path=path, **policy)
        if type(a) is not te:
            return type_mismatch(a, e, path)
        return _compare_numpy_scalar(a, e, overrides, path)

    if te in _DICT_TYPES:
        if type(a) not in _DICT_TYPES:
            return type_mismatch(a, e, path)
        missing = [k for k in e if k not in a]
        unexpected = [k for k in a if k not in e]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append("missing keys " + ", ".join(safe_repr(k) for k in missing))
            if unexpected:
                parts.append("unexpected keys " + ", ".join(safe_repr(k) for k in unexpected))
            return Mismatch(path, "keys", f"{path} has " + " and ".join(parts))
        for k in e:
            found = compare(a[k], e[k], overrides=overrides, path=f"{path}[{k!r}]", **policy)
            if found is not None:
                return found
        return None

    if isinstance(e, (tuple, list)):
        # A named tuple (or torch.Size, torch.return_types) also accepts a plain tuple.
        ok = type(a) is te or (isinstance(e, tuple) and type(a) is tuple)
        if not ok:
            return type_mismatch(a, e, path)
        if len(a) != len(e):
            return Mismatch(path, "length", f"{path} has {_items(len(a))}, expected {_items(len(e))}")
        for i, (ai, ei) in enumerate(zip(a, e)):
            found = compare(ai, ei, overrides=overrides, path=f"{path}[{i}]", **policy)
            if found is not None:
                return found
        return None

    # Any other type (set, bytes, torch.dtype, ...): same type and ==.
    if type(a) is not te:
        return type_mismatch(a, e, path)
    if bool(a == e):
        return None
    return Mismatch(path, "value", f"{path} is {a!r}, expected {e!r}")


def _as_number(a, want: type, numbers: str):
    """(a as a Python `want`, its dtype name) when `a` is a number of that kind the policy
    accepts, else None. Ints stay ints: a float is never taken where an int is expected."""
    if type(a) is bool or type(a) in (int, float):
        value, dtype = a, "float" if type(a) is float else None
    elif _is_numpy_scalar(a) or (is_ndarray(a) and a.ndim == 0):
        value, dtype = a.item(), a.dtype.name
    elif numbers == "any" and is_tensor(a) and a.dim() == 0 and not a.is_complex() and a.layout == _torch_for(a).strided \
            and a.device.type == "cpu":
        value, dtype = a.detach().cpu().item(), str(a.dtype).removeprefix("torch.")
    else:
        return None
    if want is bool:
        return (value, None) if type(value) is bool else None
    if type(value) is bool or type(value) not in (int, float):
        return None
    if want is int:
        return (value, None) if type(value) is int else None
    return float(value), dtype or "float"


def _coarser(*tolerances: Tolerance | None) -> Tolerance:
    """The loosest of some tolerances: values of two precisions are compared at the coarser one."""
    found = [t for t in tolerances if t is not None] or [Tolerance(0.0, 0.0)]
    return Tolerance(rtol=max(t.rtol for t in found), atol=max(t.atol for t in found))


def dtype_differences(actual, expected, path: str = "output") -> tuple[int, list[tuple[str, str, str]]]:
    """(how many float arrays/tensors were compared, [(path, actual dtype, expected dtype)] where
    a float output came back in another float dtype). Walks only where the structures agree."""
    if (is_tensor(expected) and is_tensor(actual)) or (is_ndarray(expected) and is_ndarray(actual)):
        if not (_is_float_dtype(expected.dtype) and _is_float_dtype(actual.dtype)):
            return 0, []
        if actual.dtype == expected.dtype:
            return 1, []
        return 1, [(path, _dtype_name(actual.dtype), _dtype_name(expected.dtype))]
    pairs = []
    if type(expected) in _DICT_TYPES and type(actual) in _DICT_TYPES:
        pairs = [(actual[k], expected[k], f"{path}[{k!r}]") for k in expected if k in actual]
    elif isinstance(expected, (tuple, list)) and isinstance(actual, (tuple, list)) and len(actual) == len(expected):
        pairs = [(ai, ei, f"{path}[{i}]") for i, (ai, ei) in enumerate(zip(actual, expected))]
    checked, found = 0, []
    for ai, ei, where in pairs:
        n, more = dtype_differences(ai, ei, where)
        checked, found = checked + n, found + more
    return checked, found


def agreement(actual, target, overrides: dict | None = None) -> np.ndarray | None:
    """Which numbers of `actual` are close to `target`'s (any two non-finite values agree), as
    one flat bool array over every leaf in order; None where the structures, shapes or kinds
    differ. Used to see which known mistakes explain which wrong numbers (mistake matching)."""
    if (is_tensor(target) and is_tensor(actual)) or (is_ndarray(target) and is_ndarray(actual)):
        if tuple(actual.shape) != tuple(target.shape):
            return None
        strided = _torch_for(target).strided if is_tensor(target) else None
        if strided is not None and (target.layout != strided or actual.layout != strided
                                    or target.is_complex() or actual.is_complex()):
            return None
        if is_ndarray(target) and (target.dtype.kind not in "biuf" or actual.dtype.kind not in "biuf"):
            return None
        a, t = as_float64(actual, False).reshape(-1), as_float64(target, False).reshape(-1)
        name = _dtype_name(target.dtype)
    elif type(target) in (int, float, bool) and type(actual) in (int, float, bool):
        a, t, name = np.array([float(actual)]), np.array([float(target)]), "float"
    elif isinstance(target, (tuple, list)) and isinstance(actual, (tuple, list)) and len(actual) == len(target):
        parts = [agreement(x, y, overrides) for x, y in zip(actual, target)]
        return None if any(p is None for p in parts) else np.concatenate(parts + [np.zeros(0, bool)])
    elif type(target) in _DICT_TYPES and type(actual) in _DICT_TYPES and set(actual) == set(target):
        parts = [agreement(actual[k], target[k], overrides) for k in target]
        return None if any(p is None for p in parts) else np.concatenate(parts + [np.zeros(0, bool)])
    else:
        return None
    tol = tolerance_for(name, overrides) or Tolerance(0.0, 0.0)
    with np.errstate(all="ignore"):
        close = np.abs(a - t) <= tol.atol + tol.rtol * np.abs(t)
        return close | (a == t) | (~np.isfinite(a) & ~np.isfinite(t))


def _is_float_dtype(dtype) -> bool:
    torch = _torch_for(dtype)
    if torch is not None and isinstance(dtype, torch.dtype):
        return dtype.is_floating_point
    return dtype.kind == "f"


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def type_mismatch(a, e, path: str) -> Mismatch:
    message = f"{path} should be {_describe_expected_type(e)}, got {describe_value(a)}"
    return Mismatch(path, "type", message + _conversion_hint(a, e) + _tuple_hint(a, e))


def _tuple_hint(a, e) -> str:
    """A layer that returns (out, cache) where only out is expected."""
    if not (is_tensor(e) or is_ndarray(e)) or type(a) not in (tuple, list) or len(a) < 2:
        return ""
    first = a[0]
    if (is_tensor(first) or is_ndarray(first)) and tuple(first.shape) == tuple(e.shape):
        return (f"; did your function return (out, cache) or another tuple? "
                f"Return only the output array (out), not a {type(a).__name__}")
    return ""


def _shape_hint(a_shape: tuple, e_shape: tuple) -> str:
    """A shape that differs only by size-1 dimensions: a keepdims slip, or a missing squeeze."""
    squeezed_a = tuple(s for s in a_shape if s != 1)
    squeezed_e = tuple(s for s in e_shape if s != 1)
    if squeezed_a != squeezed_e:
        return ""
    if len(a_shape) > len(e_shape):
        return (f"; the values would fit after dropping the size-1 dimensions: reduce without keepdims=True "
                f"(keepdim=True in torch), or reshape/squeeze to {shape_str(e_shape)}")
    if len(a_shape) < len(e_shape):
        return (f"; the values would fit with size-1 dimensions kept: reduce with keepdims=True "
                f"(keepdim=True in torch), or reshape to {shape_str(e_shape)}")
    return f"; the size-1 dimensions are in other places: reshape to {shape_str(e_shape)}"


def _str_diff_hint(a: str, e: str) -> str:
    if len(a) <= 20 and len(e) <= 20:
        return ""
    i = next((i for i, (x, y) in enumerate(zip(a, e)) if x != y), min(len(a), len(e)))
    return f" (first difference at character {i})"


def _compare_scalar(a, e, tol: Tolerance | None, path: str, nonfinite_alike: bool = False) -> Mismatch | None:
    """Python (or numpy, converted) float/complex scalars."""
    tol = tol or Tolerance(0.0, 0.0)
    a_nan, e_nan = _isnan(a), _isnan(e)
    if a_nan and e_nan:
        return None
    if nonfinite_alike and (a_nan or _isinf(a)) and (e_nan or _isinf(e)):
        return None
    sa, se = _fmt_pair(a, e)
    if a_nan or e_nan:
        return Mismatch(path, "nan", f"{path} is {sa}, expected {se}")
    if a == e:
        return None
    if _isinf(a) or _isinf(e):
        return Mismatch(path, "inf", f"{path} is {sa}, expected {se}")
    diff = abs(a - e)
    allowed = tol.atol + tol.rtol * abs(e)
    if diff <= allowed:
        return None
    rel = diff / abs(e) if e != 0 else math.inf
    return Mismatch(
        path,
        "value",
        f"{path} is {sa}, expected {se} (difference {fmt(diff)}, up to {fmt(allowed)} allowed)",
        mismatched=1, total=1, max_abs=diff, max_abs_index=(), max_rel=rel, max_rel_index=(),
    )


def _isnan(x) -> bool:
    if isinstance(x, complex):
        return math.isnan(x.real) or math.isnan(x.imag)
    return math.isnan(x)


def _isinf(x) -> bool:
    if isinstance(x, complex):
        return math.isinf(x.real) or math.isinf(x.imag)
    return math.isinf(x)


def _compare_numpy_scalar(a, e, overrides, path: str) -> Mismatch | None:
    kind = e.dtype.kind
    if kind in "fc":
        tol = tolerance_for(e.dtype.name, overrides)
        convert = complex if kind == "c" else float
        return _compare_scalar(convert(a), convert(e), tol, path)
    if kind in "biu":
        if a == e:
            return None
        return Mismatch(path, "value", f"{path} is {a}, expected {e}")
    if bool(a == e):
        return None
    return Mismatch(path, "value", f"{path} is {safe_repr(a)}, expected {safe_repr(e)}")


def _compare_arrays(a, e, overrides, path: str, dtypes: str = "strict", nonfinite_alike: bool = False,
                    detail: bool = True) -> Mismatch | None:
    """Tensors (both torch) or arrays (both numpy): attributes, then values."""
    is_torch = is_tensor(e)
    if tuple(a.shape) != tuple(e.shape):
        hint = _shape_hint(tuple(a.shape), tuple(e.shape))
        return Mismatch(path, "shape", f"{path} has shape {shape_str(a.shape)}, expected {shape_str(e.shape)}"
                                       + hint)
    other_precision = a.dtype != e.dtype and dtypes == "loose" and _is_float_dtype(a.dtype) and _is_float_dtype(e.dtype)
    if a.dtype != e.dtype and not other_precision:
        return Mismatch(path, "dtype", f"{path} has dtype {a.dtype}, expected {e.dtype}")
    if is_torch:
        if a.device != e.device:
            return Mismatch(path, "device", f"{path} is on {a.device}, expected {e.device}")
        if a.layout != e.layout:
            return Mismatch(path, "type", f"{path} has layout {a.layout}, expected {e.layout}")
        if e.device.type == "meta":
            return None  # no values to compare
        dtype_name = str(e.dtype).removeprefix("torch.")
        inexact = e.dtype.is_floating_point or e.dtype.is_complex
    else:
        dtype_name = e.dtype.name
        inexact = e.dtype.kind in "fc"

    if inexact:
        tol = tolerance_for(dtype_name, overrides) or Tolerance(0.0, 0.0)
        if other_precision:  # e.g. float64 NumPy code on float32 inputs: compared at float32's precision
            tol = _coarser(tol, tolerance_for(_dtype_name(a.dtype), overrides))
        is_complex = e.dtype.is_complex if is_torch else e.dtype.kind == "c"
        a_np, e_np = as_float64(a, is_complex), as_float64(e, is_complex)
        if nonfinite_alike:  # both non-finite at a position: the same overflow, whatever its sign or NaN
            with np.errstate(all="ignore"):
                both = ~np.isfinite(a_np) & ~np.isfinite(e_np)
            if both.any():
                a_np, e_np = np.where(both, 0.0, a_np), np.where(both, 0.0, e_np)
        return _compare_inexact(a_np, e_np, tol, path, detail)
    a_np, e_np = (torch_to_numpy(a), torch_to_numpy(e)) if is_torch else (a, e)
    return _compare_exact(a_np, e_np, path, detail)


def torch_to_numpy(t) -> np.ndarray:
    import torch

    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    return t.cpu().resolve_conj().resolve_neg().numpy()


def as_float64(x, is_complex: bool) -> np.ndarray:
    """A float64 (or complex128) numpy copy on the CPU."""
    dtype = np.complex128 if is_complex else np.float64
    if type(x) is np.ndarray:
        return np.asarray(x, dtype=dtype)
    t = x.detach()
    try:  # a dense CPU tensor: numpy converts a view of it, a few times faster than torch's ops below
        return np.asarray(t.numpy(), dtype=dtype)
    except (TypeError, RuntimeError):  # bfloat16, sparse, another device, a conjugate or negative bit
        pass
    import torch

    if t.layout != torch.strided:
        t = t.to_dense()
    t = t.cpu().resolve_conj().resolve_neg()
    return t.to(torch.complex128 if is_complex else torch.float64).numpy()


def _index(flat: int, shape) -> tuple:
    return tuple(int(i) for i in np.unravel_index(int(flat), shape))


def _first_index(mask: np.ndarray) -> tuple:
    return _index(np.flatnonzero(mask)[0], mask.shape)


def _compare_inexact(a: np.ndarray, e: np.ndarray, tol: Tolerance, path: str, detail: bool = True) -> Mismatch | None:
    with np.errstate(all="ignore"):
        # The common answers first, in a few passes over the arrays (they can be large). Close
        # everywhere: a finite `allowed` means a finite expected value, and `diff <= allowed` then
        # a finite actual one (NaN fails every comparison), so the full test below finds nothing.
        diff = np.abs(a - e)
        allowed = np.abs(e)
        allowed *= tol.rtol
        allowed += tol.atol
        within = diff <= allowed
        if within.all():
            if np.isfinite(allowed).all():
                return None
        elif not detail and np.isfinite(a).all() and np.isfinite(e).all():
            # No NaN or inf on either side: the test below, with every value finite.
            return Mismatch(path, "value", f"{path}: values differ") if ((a != e) & ~within).any() else None
        a_nan, e_nan = np.isnan(a), np.isnan(e)
        if not detail:  # only whether they differ: the same test as below, without the message
            if (a_nan != e_nan).any():
                return Mismatch(path, "nan", f"{path}: NaN where the other has none")
            close = np.isfinite(a) & np.isfinite(e) & within
            return Mismatch(path, "value", f"{path}: values differ") if (~e_nan & (a != e) & ~close).any() else None
        extra_nan = a_nan & ~e_nan
        if extra_nan.any():
            n = int(extra_nan.sum())
            return Mismatch(path, "nan", f"{path} has NaN at {_positions(n)} where numbers were expected, "
                                         f"first at index {_first_index(extra_nan)}")
        missing_nan = e_nan & ~a_nan
        if missing_nan.any():
            n = int(missing_nan.sum())
            idx = _first_index(missing_nan)
            return Mismatch(path, "nan", f"{path} has numbers at {_positions(n)} where NaN was expected, "
                                         f"first at index {idx} (got {fmt(a[idx].item())})")

        finite = np.isfinite(a) & np.isfinite(e)
        bad = ~e_nan & (a != e) & ~(finite & within)
        if not bad.any():
            return None

        bad_inf = bad & ~finite
        if bad_inf.any():
            n = int(bad_inf.sum())
            idx = _first_index(bad_inf)
            sa, se = _fmt_pair(a[idx].item(), e[idx].item())
            return Mismatch(path, "inf", f"{path} has infinite values that differ from expected at {_positions(n)}, "
                                         f"first at index {idx} (got {sa}, expected {se})")

        rel = np.where(e != 0, diff / np.abs(e), np.inf)
        return _value_mismatch(
            path, "close", bad, diff, rel,
            f"(up to {fmt(tol.atol)} allowed)", f"(up to {fmt(tol.rtol)} allowed)",
        )


def _compare_exact(a: np.ndarray, e: np.ndarray, path: str, detail: bool = True) -> Mismatch | None:
    bad = np.asarray(a != e)
    if not bad.any():
        return None
    if not detail:
        return Mismatch(path, "value", f"{path}: values differ")
    if e.dtype.kind in "iu":
        with np.errstate(all="ignore"):
            a64, e64 = a.astype(np.float64), e.astype(np.float64)
            diff = np.abs(a64 - e64)
            rel = np.where(e64 != 0, diff / np.abs(e64), np.inf)
        return _value_mismatch(path, "equal", bad, diff, rel, "", "")
    n, total = int(bad.sum()), bad.size
    idx = _first_index(bad)
    message = (
        f"{path}: values are not equal.\n"
        f"Mismatched elements: {n} / {total} ({100 * n / total:.1f}%)\n"
        f"First mismatch at index {idx}: got {safe_repr(a[idx].item())}, expected {safe_repr(e[idx].item())}"
    )
    return Mismatch(path, "value", message, mismatched=n, total=total)


def _value_mismatch(path, word, bad, diff, rel, abs_note, rel_note) -> Mismatch:
    n, total = int(bad.sum()), bad.size
    abs_flat = int(np.argmax(np.where(bad, diff, -1.0)))
    rel_flat = int(np.argmax(np.where(bad, rel, -1.0)))
    max_abs, max_rel = float(diff.flat[abs_flat]), float(rel.flat[rel_flat])
    abs_idx, rel_idx = _index(abs_flat, bad.shape), _index(rel_flat, bad.shape)
    abs_note = f" {abs_note}" if abs_note else ""
    rel_note = f" {rel_note}" if rel_note else ""
    message = (
        f"{path}: values are not {word}.\n"
        f"Mismatched elements: {n} / {total} ({100 * n / total:.1f}%)\n"
        f"Greatest absolute difference: {fmt(max_abs)} at index {abs_idx}{abs_note}\n"
        f"Greatest relative difference: {fmt(max_rel)} at index {rel_idx}{rel_note}"
    )
    return Mismatch(
        path, "value", message,
        mismatched=n, total=total,
        max_abs=max_abs, max_abs_index=abs_idx, max_rel=max_rel, max_rel_index=rel_idx,
    )


def _is_int_dtype(dtype) -> bool:
    torch = _torch_for(dtype)
    if torch is not None and isinstance(dtype, torch.dtype):
        return not (dtype.is_floating_point or dtype.is_complex or dtype == torch.bool)
    return dtype.kind in "iu"


def whole_floats_as_ints(actual, expected, path: str = "output") -> tuple:
    """(`actual`, None) with each float array or tensor that stands where an int one of its shape
    is expected, and holds only whole numbers, cast to the expected dtype: labels kept in a float
    array (CS231n's `y_pred = np.zeros(num_test)`) count as the ints they are. The mismatch, second,
    is the first such array holding a fraction, inf or NaN (None when there is none)."""
    if isinstance(expected, (list, tuple)) and type(actual) in (list, tuple) and len(actual) == len(expected):
        pairs = [whole_floats_as_ints(a, e, f"{path}[{i}]") for i, (a, e) in enumerate(zip(actual, expected))]
        return type(actual)(v for v, _ in pairs), next((m for _, m in pairs if m is not None), None)
    if isinstance(expected, dict) and type(actual) is dict and actual.keys() == expected.keys():
        pairs = {k: whole_floats_as_ints(actual[k], e, f"{path}[{k!r}]") for k, e in expected.items()}
        return {k: v for k, (v, _) in pairs.items()}, next((m for _, m in pairs.values() if m is not None), None)
    same_kind = (is_tensor(actual) and is_tensor(expected)) or (is_ndarray(actual) and is_ndarray(expected))
    if not same_kind or not _is_int_dtype(expected.dtype) or not _is_float_dtype(actual.dtype) \
            or tuple(actual.shape) != tuple(expected.shape) or (is_tensor(actual) and actual.device != expected.device):
        return actual, None
    values = as_float64(actual, False)
    with np.errstate(all="ignore"):
        fraction = ~np.isfinite(values) | (values != np.round(values))
    if fraction.any():
        idx = _first_index(fraction)
        return actual, Mismatch(path, "value", f"{path} holds {fmt(values[idx].item())} at index {idx}, not a whole "
                                               f"number: expected {_dtype_name(expected.dtype)} labels")
    if values.size and np.abs(values).max() >= 2.0 ** 53:
        return actual, None  # past the whole numbers a float holds exactly: left to the dtype check
    return (actual.to(expected.dtype) if is_tensor(actual) else actual.astype(expected.dtype)), None
