"""The bank's trusted code: reference/ modules imported by path, in the trusted process only.

`reference` is never an installed package, so student code cannot simply import it; the child
never sees the folder (Job.hide)."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Callable

from grader.errors import SpecError


def load_callable(reference_dir: Path, ref: str, *, what: str = "reference") -> Callable:
    """Import `module:function` from reference/ (trusted, in this process only)."""
    module_name, _, func_name = ref.partition(":")
    if not (reference_dir / "__init__.py").exists():
        raise SpecError(f"{reference_dir}: the bank's reference/ folder needs an __init__.py")
    register_reference_package(reference_dir)
    try:
        module = importlib.import_module(f"reference.{module_name}")
    except ModuleNotFoundError as exc:
        raise SpecError(f"{what} '{ref}': no module reference/{module_name.replace('.', '/')}.py "
                        f"({exc.msg})") from None
    except Exception as exc:  # a broken reference module is the instructor's to fix
        raise SpecError(f"{what} '{ref}': importing reference/{module_name.replace('.', '/')}.py failed: "
                        f"{type(exc).__name__}: {exc}") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise SpecError(f"{what} '{ref}': reference/{module_name.replace('.', '/')}.py "
                        f"defines no function '{func_name}'")
    return func


def register_reference_package(reference_dir: Path) -> None:
    """Make `reference` importable from `reference_dir` without putting the bank on sys.path."""
    existing = sys.modules.get("reference")
    if existing is not None and Path(getattr(existing, "__file__", "") or "").parent == reference_dir:
        return
    forget_reference_modules()
    spec = importlib.util.spec_from_file_location(
        "reference", reference_dir / "__init__.py", submodule_search_locations=[str(reference_dir)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["reference"] = module
    spec.loader.exec_module(module)


def forget_reference_modules() -> None:
    """Drop imported reference modules: the next import reads the instructor's latest edits."""
    for name in [m for m in sys.modules if m == "reference" or m.startswith("reference.")]:
        del sys.modules[name]
