"""The CSV gradebook and the per-student JSON files: pure functions of a ClassReport."""
from __future__ import annotations

import csv
import io
import json

from grader.result import json_safe
from grader.render.safe import one_line, student_file_stem

# A spreadsheet reads a cell starting with one of these as a formula (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def number(x: float) -> str:
    """A score as the gradebook shows it: no float noise (7.777777778 -> 7.777778, 10.0 -> 10)."""
    text = f"{round(x, 6):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text_cell(value: str) -> str:
    """A text cell no spreadsheet runs: control characters escaped, and a cell that would start a
    formula prefixed with `'` as OWASP recommends (`=HYPERLINK(...)` -> `'=HYPERLINK(...)`).
    Score cells are numbers the grader wrote (`number`), left numeric."""
    value = one_line(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def gradebook_csv(report) -> str:
    """One row per student: `student`, one column per problem (in assignment order), `total`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    ids = [text_cell(p.id) for p in report.assignment.problems]
    writer.writerow(["student", *ids, "total"])
    for student in report.students:
        writer.writerow([text_cell(student.student), *(number(p.score) for p in student.problems),
                         number(student.score)])
    return out.getvalue()


def strict_json(data, **options) -> str:
    """JSON any parser accepts: no NaN or Infinity (null instead), no lone surrogates."""
    return json.dumps(json_safe(data)[0], allow_nan=False, **options)


def student_json(student) -> str:
    """One student's results: totals, then each problem in the `grader check --json` shape.
    `student` is the real id, whatever the file is called (see `student_file_name`)."""
    return strict_json(student.to_dict(), indent=2)


def student_file_name(student: str) -> str:
    """`<id>.json` for an ordinary id; a bounded, unique safe name for a long or odd one."""
    return student_file_stem(student) + ".json"
