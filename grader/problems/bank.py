"""The problem bank: problems/<topic>/<id>.yaml specs and their trusted reference/ modules.

The bank lives beside the package in a checkout (the bundled bank), or wherever `--bank` or
GRADER_BANK points. Reference modules are imported only here, in the trusted process, by path:
`reference` is never an installed package, so student code cannot simply import it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from grader.errors import SpecError, UsageError
from grader.kinds import spec_errors
from grader.problems.locations import (BANK_ENV, default_bank_root, private_paths,  # noqa: F401 - used by callers too
                                       spec_paths, unknown_problem)
from grader.problems.reference import load_callable
from grader.problems.spec import Problem, invalid_spec, load_problem

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
            self._paths = spec_paths(self.root)
        return self._paths

    def ids(self) -> list[str]:
        return list(self.spec_paths())

    def get(self, problem_id: str) -> Problem:
        if problem_id in self._loaded:
            return self._loaded[problem_id]
        path = self.spec_paths().get(problem_id)
        if path is None:
            raise unknown_problem(self.root, problem_id, self.ids())
        problem = self.load(path)
        if problem.id != path.stem:
            raise SpecError(f"{path}: $.id: the id '{problem.id}' must match the file name '{path.stem}'")
        self._loaded[problem_id] = problem
        return problem

    def all(self) -> list[Problem]:
        return [self.get(i) for i in self.ids()]

    def load_callable(self, ref: str, *, what: str = "reference") -> Callable:
        """Import `module:function` from reference/ (trusted, in this process only)."""
        return load_callable(self.reference_dir, ref, what=what)

    def load(self, path: Path) -> Problem:
        """A spec file of this bank, checked against its schema and its kind's rules."""
        problem = load_problem(path, self.root)
        errors = spec_errors(problem)
        if errors:
            raise invalid_spec(path, errors)
        return problem

    def private_paths(self) -> list[str]:
        """What a child must never see: this bank's and the default bank's references and specs."""
        return private_paths(self.root)
