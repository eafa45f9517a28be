"""GitHub Classroom: the runner result that `autograding-grading-reporter` reads.

The reporter reads, for each runner id R, the environment variable `R_RESULTS`: base64 of a
JSON object `{version, status: pass|fail|error, max_score, tests: [{name, status, score,
message}]}`. It sums the tests' `score` against `max_score` for the classroom's points.
"""
from __future__ import annotations

import base64
import json


def runner_result(student) -> dict:
    tests = []
    for problem in student.problems:
        for test in problem.tests:
            status = "error" if problem.grader_error else ("pass" if test.passed else "fail")
            message = test.output or ("passed" if test.passed else test.outcome)
            if problem.error and not test.passed:
                message = problem.error
            tests.append({"name": f"{problem.problem}: {test.name}", "status": status,
                          "score": round(test.score, 6), "message": message,
                          "execution_time": f"{(test.seconds or 0.0):.3f}s"})
    if student.grader_error:
        status = "error"
    else:
        status = "pass" if all(t["status"] == "pass" for t in tests) and tests else "fail"
    return {"version": 1, "status": status, "max_score": round(student.max_score, 6), "tests": tests}


def encode(result: dict) -> str:
    """What goes in the step output `result` (and from there in R_RESULTS)."""
    return base64.b64encode(json.dumps(result).encode("utf-8")).decode("ascii")
