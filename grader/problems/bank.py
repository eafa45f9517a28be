"""The problem bank: problems/<topic>/<id>.yaml specs and their trusted reference/ modules.

The bank lives beside the package in a checkout (the bundled bank), or wherever `--bank` or
GRADER_BANK points. Reference modules are imported only here, in the trusted process, by path:
`reference` is never an installed package, so student code cannot simply import it.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Callable

from grader.errors import SpecError, UnknownProblem, UsageError
from grader.problems.spec import Problem, load_problem

BANK_ENV = "GRADER_BANK"


def private_paths() -> list[str]:
    """The folders of the default bank (and GRADER_BANK's) that a child must never see: its
    reference implementations and problem specs. Jobs carry them to the sandbox (`Job.hide`)."""
    roots = {default_bank_root()}
    if os.environ.get(BANK_ENV):
        roots.add(Path(os.environ[BANK_ENV]))
    return sorted(str(Path(root, d).resolve()) for root in roots for d in ("reference", "problems"))


def default_bank_root() -> Path:
    """GRADER_BANK, else the checkout this package lives in, else the current folder."""
    if os.environ.get(BANK_ENV):
        return Path(os.environ[BANK_ENV]).resolve()
    bundled = Path(__file__).resolve().parents[2]
    if (bundled / "problems").is_dir():
        return bundled
    return Path.cwd()


class Bank:
    """All problems under `root/problems`, indexed by id."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root).resolve() if root else default_bank_root()
        self.problems_dir = self.root / "problems"
        self.reference_dir = self.root / "reference"
        if not self.problems_dir.is_dir():
            raise UsageError(f"no problem bank at {self.root} (expected a problems/ folder there)",
                             f"Point --bank or {BANK_ENV} at the folder holding problems/ and reference/.")
        self._paths: dict[str, Path] | None = None
        self._loaded: dict[str, Problem] = {}

    def spec_paths(self) -> dict[str, Path]:
        """Problem id -> spec file. Ids are file stems; each spec's `id` must match its file name."""
        if self._paths is None:
            paths: dict[str, Path] = {}
            for path in sorted(self.problems_dir.rglob("*.yaml")):
                if path.stem in paths:
                    raise SpecError(f"problem id '{path.stem}' is defined twice: {paths[path.stem]} and {path}")
                paths[path.stem] = path
            self._paths = paths
        return self._paths

    def ids(self) -> list[str]:
        return list(self.spec_paths())

    def get(self, problem_id: str) -> Problem:
        if problem_id in self._loaded:
            return self._loaded[problem_id]
        path = self.spec_paths().get(problem_id)
        if path is None:
            close = [i for i in self.ids() if problem_id.split("-")[0] in i][:5]
            hint = f"Did you mean: {', '.join(close)}? " if close else ""
            raise UnknownProblem(f"no problem '{problem_id}' in the bank at {self.root}",
                                 f"{hint}Try 'grader list'.")
        problem = load_problem(path, self.root)
        if problem.id != path.stem:
            raise SpecError(f"{path}: $.id: the id '{problem.id}' must match the file name '{path.stem}'")
        self._loaded[problem_id] = problem
        return problem

    def all(self) -> list[Problem]:
        return [self.get(i) for i in self.ids()]

    def load_callable(self, ref: str, *, what: str = "reference") -> Callable:
        """Import `module:function` from reference/ (trusted, in this process only)."""
        module_name, _, func_name = ref.partition(":")
        if not (self.reference_dir / "__init__.py").exists():
            raise SpecError(f"{self.reference_dir}: the bank's reference/ folder needs an __init__.py")
        _register_reference_package(self.reference_dir)
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


def _register_reference_package(reference_dir: Path) -> None:
    """Make `reference` importable from `reference_dir` without putting the bank on sys.path."""
    existing = sys.modules.get("reference")
    if existing is not None and Path(getattr(existing, "__file__", "") or "").parent == reference_dir:
        return
    for name in [m for m in sys.modules if m == "reference" or m.startswith("reference.")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        "reference", reference_dir / "__init__.py", submodule_search_locations=[str(reference_dir)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["reference"] = module
    spec.loader.exec_module(module)
