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


def case_inputs(*args, **kwargs):
    """Rebuild a case's inputs by name; see grader.problems.inputs.case_inputs."""
    from grader.problems.inputs import case_inputs as _case_inputs

    return _case_inputs(*args, **kwargs)
