"""grader: an automated assessment and quiz engine for machine learning courses.

The engine is a library first; the `grader` command is a thin layer over it:

    from grader import grade
    result = grade("sigmoid-backward", "my_solution.py")
    print(result.score, result.max_score)

Names are imported on first use, so a sandboxed child (which imports grader.sandbox) loads
nothing of the engine it does not need.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> the module that defines it
_PUBLIC = {
    "grade": "grader.grading",
    "resolve_seed": "grader.grading",
    "Bank": "grader.problems.bank",
    "Problem": "grader.problems.spec",
    "ProblemResult": "grader.result",
    "TestResult": "grader.result",
    "StudentResult": "grader.result",
    "QuizResult": "grader.result",
    "load_assignment": "grader.classes.assignment",
    "find_students": "grader.classes.students",
    "grade_class": "grader.classes.batch",
    "LocalPool": "grader.classes.pool",
    "write_outputs": "grader.classes.outputs",
    "load_quiz": "grader.quiz",
    "grade_quiz": "grader.quiz",
    "validate": "grader.authoring.validate",
}

__all__ = ["__version__", "case_inputs", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'grader' has no attribute {name!r}")


def case_inputs(problem_id: str, case_name: str, seed: int = 0, bank: str | None = None) -> dict:
    """Rebuild a case's inputs by name, e.g. to rerun a failing case by hand."""
    from grader.kinds import kind_of
    from grader.problems.bank import Bank

    found = Bank(bank)
    problem = found.get(problem_id)
    return kind_of(problem.kind).case_inputs(problem, case_name, seed, found)
