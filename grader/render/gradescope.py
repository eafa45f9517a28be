"""Gradescope's results.json for one submission, per the Gradescope autograder specification.

Fields (https://gradescope-autograders.readthedocs.io/en/latest/specs/): top level `score`,
`execution_time` (seconds), `output`, `visibility`, `stdout_visibility`, `tests`; each test
`score`, `max_score`, `status` (passed|failed), `name`, `number`, `output`, `tags`, `visibility`.
A hidden case is graded but shown only `after_published` (the default; the assignment's
`gradescope.hidden_visibility` may choose `after_due_date`, or `hidden` for cases worth nothing).

Every text is plain text (`output_format`, `test_output_format`, `test_name_format` and each
test's `output_format` / `name_format` are `text`): a student's message is never read as HTML or
Markdown, and control characters in it are shown escaped. A test that could not run says why:
the problem's whole error (a load failure's traceback line), not only its first line.
"""
from __future__ import annotations

import math

from grader.render.safe import printable, with_reason

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def _round(x: float) -> float:
    x = float(x)
    return round(x, 6) if math.isfinite(x) else 0.0


def overview(student) -> str:
    """The text shown above the tests: a line per problem, and why a problem could not run."""
    lines = []
    for problem in student.problems:
        lines.append(f"{problem.problem}: {_round(problem.score):g} / {_round(problem.max_score):g}")
        if problem.error:
            lines += ["    " + line for line in problem.error.splitlines()]
        lines += ["    " + note for note in problem.feedback]
    lines.append(f"Total: {_round(student.score):g} / {_round(student.max_score):g}")
    return printable("\n".join(lines))


def results_json(student, assignment, execution_time: float) -> dict:
    """results.json for one student's submission."""
    settings = assignment.gradescope or {}
    hidden = settings.get("hidden_visibility", "after_published")
    tests = []
    for p_number, problem in enumerate(student.problems, start=1):
        for t_number, test in enumerate(problem.tests, start=1):
            tags = [problem.problem] + ([test.outcome] if test.outcome else []) + ([test.mistake] if test.mistake else [])
            tests.append({
                "score": _round(test.score),
                "max_score": _round(test.max_score),
                "status": "passed" if test.passed else "failed",
                "name": printable(f"{problem.problem}: {test.name}"),
                "name_format": "text",
                "number": f"{p_number}.{t_number}",
                "output": printable(test.output if test.passed else with_reason(test.output, problem.error))
                or ("passed" if test.passed else test.outcome or "failed"),
                "output_format": "text",
                "tags": [printable(tag) for tag in tags],
                "visibility": "visible" if test.visible else hidden,
            })
    return {
        "score": _round(student.score),
        "execution_time": int(math.ceil(execution_time)) if math.isfinite(execution_time) else 0,
        "output": overview(student),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": settings.get("stdout_visibility", "hidden"),
        "tests": tests,
    }
