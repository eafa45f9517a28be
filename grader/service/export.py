"""Stored results as the records `grader grade` writes from (a ClassReport), for the gradebook CSV."""
from __future__ import annotations

import json

from grader.classes.assignment import Assignment
from grader.classes.batch import ClassReport
from grader.classes.cache import result_from_dict
from grader.result import ProblemResult, StudentResult


def class_report(assignment: Assignment, latest: dict) -> ClassReport:
    """One StudentResult per student: their latest graded submission, or zeros ('no submission')."""
    students = []
    for name, sub in latest.items():
        if sub is not None:
            problems = [result_from_dict(p) for p in json.loads(sub.result)["problems"]]
            label = sub.id
        else:
            problems = [ProblemResult(problem=item.id, title=item.problem.title, score=0.0,
                                      max_score=item.problem.points, tests=[], kind=item.problem.kind,
                                      student=name, error="no submission") for item in assignment.problems]
            label = ""
        students.append(StudentResult(name, label, problems))
    return ClassReport(assignment, students)
