"""The one tolerance table: torch.testing's baseline per dtype, overrides from a spec, and the
uniform tables (exact, anything goes) built over the same dtype names."""
from __future__ import annotations

from dataclasses import dataclass

#: every dtype name a tolerance override may name ("float": a Python float, held as float64)
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128", "float")


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


# Baseline tolerances, as in torch.testing.assert_close.
DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "float16": Tolerance(rtol=1e-3, atol=1e-5),
    "bfloat16": Tolerance(rtol=1.6e-2, atol=1e-5),
    "float32": Tolerance(rtol=1.3e-6, atol=1e-5),
    "float64": Tolerance(rtol=1e-7, atol=1e-7),
    "complex64": Tolerance(rtol=1.3e-6, atol=1e-5),
    "complex128": Tolerance(rtol=1e-7, atol=1e-7),
}

# Python scalars: "float" and "complex" fall back to the float64/complex128
# baseline and to overrides given for those names.
_ALIASES = {"float": "float64", "complex": "complex128"}
_INEXACT_PREFIXES = ("float", "bfloat", "complex")


def tolerance_for(dtype_name: str, overrides: dict[str, dict] | None = None) -> Tolerance | None:
    """Tolerance for a dtype name ("float32", "torch.float32", "float", ...).

    ``overrides`` maps a dtype name to ``{"rtol": ..., "atol": ...}``; a missing
    key falls back to the baseline.  Returns None for exact dtypes (integers,
    bool, ...).  Floating dtypes not in the baseline table (float8 variants,
    numpy's float128) are compared exactly unless overridden.
    """
    name = dtype_name.removeprefix("torch.")
    base_name = _ALIASES.get(name, name)
    if not base_name.startswith(_INEXACT_PREFIXES):
        return None
    base = DEFAULT_TOLERANCES.get(base_name, Tolerance(rtol=0.0, atol=0.0))
    overrides = overrides or {}
    override = overrides.get(name, overrides.get(base_name))
    if override is None:
        return base
    unknown = set(override) - {"rtol", "atol"}
    if unknown:
        raise ValueError(f"unknown tolerance keys for {name!r}: {sorted(unknown)}")
    tol = Tolerance(rtol=float(override.get("rtol", base.rtol)), atol=float(override.get("atol", base.atol)))
    if not (tol.rtol >= 0 and tol.atol >= 0):
        raise ValueError(f"tolerances must be non-negative, got {tol} for {name!r}")
    return tol


def uniform(rtol: float, atol: float) -> dict[str, dict]:
    """The same tolerance for every float dtype, as `overrides` for `tolerance_for`."""
    return {name: {"rtol": rtol, "atol": atol} for name in FLOAT_DTYPES}


#: identical values only (a value compared with itself: same seed, same inputs; comparator `exact`)
EXACT = uniform(0.0, 0.0)
