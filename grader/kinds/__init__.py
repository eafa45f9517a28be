"""Problem kinds. Each kind module checks its own spec rules and grades a submission.

`function`: the student writes a function; `numeric` and `choice`: quiz questions.
"""
from __future__ import annotations

from typing import Callable

# kind name -> function(spec data) -> list of error lines, for rules a JSON Schema cannot express
SPEC_CHECKS: dict[str, Callable[[dict], list[str]]] = {}


def kind_checks(data: dict) -> list[str]:
    check = SPEC_CHECKS.get(data.get("kind", ""))
    return check(data) if check else []


def grader_for(kind: str) -> Callable:
    """The grading function of a kind: (problem, submission, **options) -> ProblemResult."""
    if kind == "function":
        from .function import grade_function

        return grade_function
    if kind in GRADERS:
        return GRADERS[kind]
    from ..errors import SpecError

    raise SpecError(f"problems of kind '{kind}' cannot be graded by this version of grader")


# kind name -> grading function, registered by the question kinds
GRADERS: dict[str, Callable] = {}

# kind name -> function(problem, seed, student, bank) -> dict of extra `grader show` fields
DESCRIBERS: dict[str, Callable] = {}

# kind name -> function(problem_id, path) -> the submission object that kind's grader takes
# (the function kind reads files with grader.submission.read_submission)
SUBMISSION_READERS: dict[str, Callable] = {}


def _register_question_kinds() -> None:
    """`numeric` and `choice`: quiz questions answered with an answers file (grader.answers)."""
    from ..answers import answer_for
    from . import choice, numeric

    for name, module, grade, describe, check in (
            ("numeric", numeric, numeric.grade_numeric, numeric.describe_numeric, numeric.check_numeric_spec),
            ("choice", choice, choice.grade_choice, choice.describe_choice, choice.check_choice_spec)):
        GRADERS[name], DESCRIBERS[name], SPEC_CHECKS[name] = grade, describe, check
        SUBMISSION_READERS[name] = answer_for


_register_question_kinds()


def _register_steps_kind() -> None:
    """`steps`: the student's functions and methods called in sequence (grader.kinds.steps)."""
    from . import steps

    GRADERS["steps"], DESCRIBERS["steps"], SPEC_CHECKS["steps"] = steps.grade_steps, steps.describe_steps, steps.check_steps_spec


_register_steps_kind()
