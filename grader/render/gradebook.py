"""The CSV gradebook and the per-student JSON files: pure functions of a ClassReport."""
from __future__ import annotations

import csv
import io
import json


def number(x: float) -> str:
    """A score as the gradebook shows it: no float noise (7.777777778 -> 7.777778, 10.0 -> 10)."""
    text = f"{round(x, 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def gradebook_csv(report) -> str:
    """One row per student: `student`, one column per problem (in assignment order), `total`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    ids = [p.id for p in report.assignment.problems]
    writer.writerow(["student", *ids, "total"])
    for student in report.students:
        writer.writerow([student.student, *(number(p.score) for p in student.problems), number(student.score)])
    return out.getvalue()


def student_json(student) -> str:
    """One student's results: totals, then each problem in the `grader check --json` shape."""
    return json.dumps(student.to_dict(), indent=2)
