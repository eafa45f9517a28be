"""The reference's values in the trusted process: copies it may change freely, its inputs in
float64 (free of float32 round-off), and its float64 results cast back to the native run's types."""
from __future__ import annotations

from grader.errors import SpecError
from grader.sandbox.values import map_leaves


def map_arrays(value, tensor_fn, array_fn):
    """Apply `tensor_fn` to the tensors and `array_fn` to the NumPy arrays of a nested value."""
    import numpy as np

    torch = _torch()

    def leaf(x, _path):
        if torch is not None and isinstance(x, torch.Tensor):
            return tensor_fn(x)
        if isinstance(x, np.ndarray):
            return array_fn(x)
        return x
    return map_leaves(value, leaf)


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - numpy-only installs
        return None
    return torch


def clone(value):
    """A deep copy of tensors and arrays, so a reference never mutates the student's inputs."""
    return map_arrays(value, lambda t: t.clone(), lambda a: a.copy())


def upcast(value):
    """Floating tensors and arrays in float64, for a reference free of float32 round-off."""
    import numpy as np

    torch = _torch()
    return map_arrays(value,
                lambda t: t.to(torch.float64) if t.is_floating_point() else t.clone(),
                lambda a: a.astype(np.float64) if a.dtype.kind == "f" else a.copy())


def cast_like(value, template, where: str):
    """`value` (from the float64 run) with the types and dtypes of `template` (the native run)."""
    import numpy as np

    torch = _torch()
    if torch is not None and isinstance(template, torch.Tensor):
        if not isinstance(value, torch.Tensor):
            raise SpecError(f"{where}: the reference returned different types in float64 and native precision")
        return value.to(template.dtype)
    if isinstance(template, np.ndarray):
        return np.asarray(value).astype(template.dtype)
    if isinstance(template, (tuple, list)):
        if not isinstance(value, (tuple, list)) or len(value) != len(template):
            raise SpecError(f"{where}: the reference returned different structures in float64 and native precision")
        return type(template)(cast_like(v, t, where) for v, t in zip(value, template))
    if isinstance(template, dict):
        return {k: cast_like(value[k], t, where) for k, t in template.items()}
    if isinstance(template, float):
        return float(value)
    return template if not isinstance(template, int) or isinstance(template, bool) else int(value)
