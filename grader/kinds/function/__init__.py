"""Kind `function`: the student writes a function, graded on generated cases."""
from __future__ import annotations

from grader.kinds.base import Kind
from grader.kinds.function.gradcheck import gradcheck_case_dicts
from grader.kinds.function.kind import grade_function, prepare_cases, save_mistakes
from grader.kinds.function.rules import function_spec_errors
from grader.kinds.function.validate import check_function_problem


class FunctionKind(Kind):
    """The student writes a function; it runs in the sandbox on generated cases."""

    name = "function"
    scaffold_template = "function"
    release_as = "cases"

    def check_spec(self, problem) -> list[str]:
        return function_spec_errors(problem)

    def prepare(self, problem, bank, seed, device="all"):
        return prepare_cases(problem, bank, seed, device)

    def save_prepared(self, prepared) -> None:
        save_mistakes(prepared)

    def grade(self, problem, submission, **options):
        return grade_function(problem, submission, **options)

    def validate(self, problem, bank, executor, report) -> None:
        check_function_problem(problem, bank, executor, report)

    def case_named(self, problem, name: str) -> dict:
        extra = gradcheck_case_dicts(problem) if name.startswith("gradcheck-") and problem.spec.get("gradcheck") else []
        return problem.case(name, extra)
