"""What a student is shown of a graded submission, by the assignment's hidden-test policy."""
from __future__ import annotations

import copy

#: fields of a hidden test a student sees under the `status` view; the rest (feedback, mistake, timing) is withheld
STATUS_FIELDS = ("name", "score", "max_score", "status", "visible", "device", "outcome")


def student_view(result: dict, view: str) -> dict:
    """`result` ({score, max_score, problems}) with hidden tests shown `full`, as `status` only, or as a `count`."""
    result = copy.deepcopy(result)
    if view == "full":
        return result
    for problem in result.get("problems", []):
        hidden = [t for t in problem.get("tests", []) if not t.get("visible", True)]
        if view == "status":
            for test in hidden:
                for key in list(test):
                    if key not in STATUS_FIELDS:
                        test[key] = "" if key == "output" else None
        else:  # count: only how many hidden tests there are; scores over the visible ones
            visible = [t for t in problem.get("tests", []) if t.get("visible", True)]
            problem["tests"] = visible
            problem["hidden_tests"] = len(hidden)
            problem["score"] = round(sum(t["score"] for t in visible), 9)
            problem["max_score"] = round(sum(t["max_score"] for t in visible), 9)
            problem["status"] = "passed" if not problem.get("error") and all(
                t["status"] == "passed" for t in visible) else "failed"
        problem["hidden_view"] = view
    problems = result.get("problems", [])
    result["score"] = round(sum(p["score"] for p in problems), 9)
    result["max_score"] = round(sum(p["max_score"] for p in problems), 9)
    return result


def visible_passed(result: dict) -> bool:
    """Every visible test of every problem passed (the exit status of `grader submit`)."""
    for problem in result.get("problems", []):
        if problem.get("error") or problem.get("grader_error"):
            return False
        if any(t.get("status") != "passed" for t in problem.get("tests", []) if t.get("visible", True)):
            return False
    return True
