"""Inputs for a case, generated from a seed in the trusted process.

Values are drawn with NumPy's PCG64 generator in float64 and then cast, so the same seed gives
the same inputs on every machine and for both frameworks. Each input of each case gets its own
stream, derived from (seed, problem id, case name, input name): adding a case or an input never
changes the others.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.errors import SpecError
from grader.problems.spec import Problem

FLOAT_DTYPES = {"float16", "bfloat16", "float32", "float64"}


@dataclass
class Argument:
    """One argument of the student's call."""

    name: str
    value: Any
    keyword: bool = False


def seed_for_student(student: str) -> int:
    """A stable seed for a student id, the same on every machine."""
    return int.from_bytes(hashlib.sha256(f"student:{student}".encode()).digest()[:8], "big")


def stream(seed: int, *parts: str) -> np.random.Generator:
    """An independent generator for (seed, *parts)."""
    digest = hashlib.sha256("\x1f".join([str(seed), *parts]).encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "big")))


def input_spec(problem: Problem, case: dict, name: str) -> dict:
    """The problem's spec for input `name` with the case's override merged in."""
    spec = dict(problem.spec["inputs"][name])
    override = case.get("inputs", {}).get(name)
    if isinstance(override, dict):
        spec.update(override)
        if "value" in override and "shape" not in override:
            spec.pop("shape", None)  # a fixed value has its own shape
    elif name in case.get("inputs", {}):
        spec["value"] = override
        spec.pop("shape", None)
    return spec


def resolve_shape(shape: list, sizes: dict[str, int], where: str) -> tuple[int, ...]:
    out = []
    for dim in shape:
        if isinstance(dim, str):
            if dim not in sizes:
                raise SpecError(f"{where}: size '{dim}' is not set")
            dim = sizes[dim]
        out.append(int(dim))
    return tuple(out)


def _number(x) -> float:
    """A number from a spec value: numbers as they are, and the strings 'nan', 'inf', '-inf'."""
    return float(x)


def bound(value, sizes: dict[str, int], where: str) -> float:
    """A low/high bound: a number, or a size name with an optional offset ('C - 1')."""
    if not isinstance(value, str):
        return value
    match = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*(?:([+-])\s*(\d+)\s*)?", value)
    if not match or match.group(1) not in sizes:
        raise SpecError(f"{where}: bound '{value}' must be a number or a size name such as 'C - 1'")
    offset = int(match.group(3) or 0) * (-1 if match.group(2) == "-" else 1)
    return sizes[match.group(1)] + offset


def draw_array(spec: dict, shape: tuple[int, ...], rng: np.random.Generator, where: str,
               sizes: dict | None = None) -> np.ndarray:
    """Random values for a tensor input, as a float64 (or bool/int64) NumPy array."""
    dist = spec.get("distribution", "normal")
    if sizes is not None:
        spec = {**spec, **{k: bound(spec[k], sizes, where) for k in ("low", "high") if k in spec}}
    if dist == "normal":
        arr = spec.get("mean", 0.0) + spec.get("std", 1.0) * rng.standard_normal(shape)
    elif dist == "uniform":
        low, high = spec.get("low", 0.0), spec.get("high", 1.0)
        arr = low + (high - low) * rng.random(shape)
    elif dist == "randint":
        arr = rng.integers(int(spec.get("low", 0)), int(spec.get("high", 9)) + 1, size=shape).astype(np.int64)
    elif dist == "bernoulli":
        arr = rng.random(shape) < spec.get("p", 0.5)
    elif dist == "mask":
        arr = rng.random(shape) < spec.get("p", 0.5)
        if arr.size and shape[-1] > 0:
            rows = arr.reshape(-1, shape[-1])
            keep = rng.integers(0, shape[-1], size=rows.shape[0])
            rows[np.arange(rows.shape[0]), keep] = True
            arr = rows.reshape(shape)
    elif dist == "simplex":
        if not shape or shape[-1] == 0:
            raise SpecError(f"{where}: a simplex input needs a non-empty last dimension")
        logits = spec.get("std", 1.0) * rng.standard_normal(shape)
        zeros = rng.random(shape) < spec.get("zero_fraction", 0.0)
        keep = rng.integers(0, shape[-1], size=shape[:-1])
        np.put_along_axis(zeros, keep[..., None], False, axis=-1)  # every row keeps one entry
        weights = np.where(zeros, 0.0, np.exp(logits - logits.max(axis=-1, keepdims=True)))
        arr = weights / weights.sum(axis=-1, keepdims=True)
    elif dist == "causal":
        if len(shape) < 2:
            raise SpecError(f"{where}: a causal mask needs at least 2 dimensions")
        arr = np.broadcast_to(np.tril(np.ones(shape[-2:], dtype=bool)), shape).copy()
    else:  # pragma: no cover - the schema lists the distributions
        raise SpecError(f"{where}: unknown distribution '{dist}'")
    if "scale" in spec and arr.dtype.kind == "f":
        arr = arr * spec["scale"]
    edge = spec.get("edge")
    if edge and arr.size:
        flat = arr.reshape(-1).astype(np.float64) if arr.dtype.kind == "f" else arr.reshape(-1)
        positions = rng.permutation(flat.size)[: len(edge)]
        for pos, value in zip(positions, edge):
            flat[pos] = _number(value)
        arr = flat.reshape(shape)
    return arr


def to_framework(arr: np.ndarray, dtype: str, framework: str, where: str):
    """Cast a NumPy array to `dtype` in the problem's framework."""
    if framework == "numpy":
        if dtype == "bfloat16":
            raise SpecError(f"{where}: NumPy has no bfloat16")
        return np.array(arr, dtype=dtype, order="C")  # (np.ascontiguousarray would make 0-d arrays 1-d)
    import torch

    if dtype == "bfloat16":
        return torch.from_numpy(np.array(arr, dtype=np.float32, order="C")).to(torch.bfloat16)
    return torch.from_numpy(np.array(arr, dtype=dtype, order="C"))


def tensor_array(spec: dict, *, sizes: dict, dtype: str, rng: np.random.Generator, where: str) -> tuple[np.ndarray, str]:
    """A tensor input's values as a NumPy array, and the dtype it gets in the problem's framework."""
    tensor_dtype = spec.get("dtype") or ("bool" if spec.get("distribution") in ("bernoulli", "mask", "causal")
                                         else "int64" if spec.get("distribution") == "randint" else dtype)
    if "value" in spec:
        arr = np.array(spec["value"], dtype=np.float64 if tensor_dtype in FLOAT_DTYPES else None)
        if "shape" in spec:
            arr = np.broadcast_to(arr, resolve_shape(spec["shape"], sizes, where)).copy()
    else:
        arr = draw_array(spec, resolve_shape(spec["shape"], sizes, where), rng, where, sizes)
    return arr, tensor_dtype


def make_value(spec: dict, *, sizes: dict, dtype: str, framework: str, rng: np.random.Generator, where: str):
    kind = spec["type"]
    if kind == "none":
        return None
    if kind == "tensor":
        arr, tensor_dtype = tensor_array(spec, sizes=sizes, dtype=dtype, rng=rng, where=where)
        return to_framework(arr, tensor_dtype, framework, where)
    if "value" in spec:
        value = spec["value"]
        if kind == "float":
            return float(_number(value))
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise SpecError(f"{where}: int input has non-integer value {value}")
            return int(value)
        return value
    if kind == "int":
        low, high = bound(spec.get("low", 0), sizes, where), bound(spec.get("high", 10), sizes, where)
        return int(rng.integers(int(low), int(high) + 1))
    if kind == "float":
        low, high = bound(spec.get("low", 0.0), sizes, where), bound(spec.get("high", 1.0), sizes, where)
        return float(low + (high - low) * rng.random())
    if kind == "bool":
        return bool(rng.random() < spec.get("p", 0.5))
    raise SpecError(f"{where}: input of type '{kind}' needs a 'value'")


def case_arguments(problem: Problem, case: dict | str, seed: int = 0, make=make_value) -> list[Argument]:
    """The arguments of one case, in call order; omitted inputs are left out. Each value is
    `make`'s (make_value's arguments; `summarize_input`: what `grader show` says of it)."""
    if isinstance(case, str):
        case = problem.case(case)
    sizes = {**problem.spec.get("sizes", {}), **case.get("sizes", {})}
    dtype = case.get("dtype") or problem.spec.get("dtype") or "float32"
    args = []
    skipped = False  # after an omitted argument, later ones must go by keyword to reach their slot
    for name in problem.spec["inputs"]:
        spec = input_spec(problem, case, name)
        if spec.get("omit"):
            skipped = True
            continue
        where = f"{problem.path}: case '{case['name']}', input '{name}'"
        rng = stream(seed, problem.id, case["name"], name)
        value = make(spec, sizes=sizes, dtype=dtype, framework=problem.framework, rng=rng, where=where)
        args.append(Argument(name, value, keyword=bool(spec.get("keyword")) or skipped))
    return args


def literal_source(value: Any, framework: str) -> str | None:
    """Python source that rebuilds `value` exactly, or None when it is too big to print."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float('{value}')"
    arr = value if isinstance(value, np.ndarray) else None
    if arr is None:
        import torch

        if not isinstance(value, torch.Tensor) or value.numel() > 64:
            return None
        dtype = str(value.dtype).replace("torch.", "")
        data = value.to(torch.float64) if value.is_floating_point() else value
        return f"torch.tensor({_nested(data.tolist())}, dtype=torch.{dtype})"
    if arr.size > 64:
        return None
    return f"np.array({_nested(arr.tolist())}, dtype=np.{arr.dtype})"


def _nested(values) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v) for v in values) + "]"
    if isinstance(values, float) and not math.isfinite(values):
        return f"float('{values}')"
    return repr(values)


def summarize_input(spec: dict, *, sizes: dict, dtype: str, framework: str, rng: np.random.Generator, where: str) -> str:
    """`summarize` of the value make_value makes, without making a torch tensor: `grader show`
    describes a torch problem's inputs without importing torch (seconds)."""
    if spec["type"] != "tensor" or framework == "numpy":
        return summarize(make_value(spec, sizes=sizes, dtype=dtype, framework=framework, rng=rng, where=where))
    arr, tensor_dtype = tensor_array(spec, sizes=sizes, dtype=dtype, rng=rng, where=where)
    return f"tensor of shape {arr.shape}, {tensor_dtype}"  # torch.from_numpy keeps the shape; the names are torch's


def summarize(value) -> str:
    """A short description of an input value: shape and dtype, or the value itself."""
    import numpy as np

    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (int, float)):
        dtype = str(value.dtype).replace("torch.", "")
        kind = "np.ndarray" if isinstance(value, np.ndarray) else "tensor"
        return f"{kind} of shape {tuple(shape)}, {dtype}"
    return repr(value)
