"""grader: an automated assessment and quiz engine for machine learning courses.

The engine is a library first; the `grader` command is a thin layer over it:

    from grader import grade
    result = grade("sigmoid-backward", "my_solution.py")
    print(result.score, result.max_score)
"""
__version__ = "0.1.0"


def grade(*args, **kwargs):
    """Grade a submission for a problem; see grader.grading.grade."""
    from grader.grading import grade as _grade

    return _grade(*args, **kwargs)


def case_inputs(problem_id: str, case_name: str, seed: int = 0, bank: str | None = None) -> dict:
    """Rebuild a case's inputs by name, e.g. to rerun a failing case by hand."""
    from grader.kinds import kind_of
    from grader.problems.bank import Bank
    from grader.problems.inputs import case_arguments

    problem = Bank(bank).get(problem_id)
    case = kind_of(problem.kind).case_named(problem, case_name)
    return {a.name: a.value for a in case_arguments(problem, case, seed)}
