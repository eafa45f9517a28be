"""JUnit XML: one testcase per student x problem x case, so any CI shows a class's results.

The file is valid against `junit-10.xsd`, the schema Jenkins' xUnit plugin validates against
(tests/data/junit-10.xsd restates it): `testsuites` carries name, time, tests, failures and
errors; each `testsuite` also skipped; a `testcase` holds only skipped/error/failure and
system-out/system-err, so a case's score goes in its system-out. Times have three decimals and
are never negative, infinite or NaN; every string a student made is escaped (`\\x1b`) so that no
character XML forbids reaches the file.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from grader.render.safe import first_line, one_line, printable, with_reason

TEXT_LIMIT = 20000   # characters of one failure's text or system-out
MESSAGE_LIMIT = 500  # characters of a message attribute


def _text(text: str | None, limit: int = TEXT_LIMIT) -> str:
    text = printable(text)
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more characters]"


def _attr(text: str | None, limit: int = MESSAGE_LIMIT) -> str:
    text = one_line(text)
    return text if len(text) <= limit else text[:limit] + "..."


def seconds(value) -> str:
    """A time as the schema allows it: digits, a point and three decimals (0.000 for junk)."""
    try:
        value = float(value or 0.0)
    except (TypeError, ValueError):
        value = 0.0
    return f"{value:.3f}" if math.isfinite(value) and value > 0 else "0.000"


def _score(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) else "?"


def junit_xml(report) -> str:
    """The report as JUnit XML: a testsuite per problem, classname `student.problem`, name = case."""
    root = ET.Element("testsuites", name=_attr(report.assignment.name))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for index, item in enumerate(report.assignment.problems):
        suite = ET.SubElement(root, "testsuite", name=_attr(item.id))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        total_seconds = 0.0
        for student in report.students:
            problem = student.problems[index]
            for test in problem.tests + problem.skipped:  # skipped: e.g. CUDA cases where no GPU is available
                case = ET.SubElement(suite, "testcase", name=_attr(test.name),
                                     classname=_attr(f"{student.student}.{item.id}"), time=seconds(test.seconds))
                total_seconds += float(seconds(test.seconds))
                counts["tests"] += 1
                details = f"score {_score(test.score)} / {_score(test.max_score)}"
                if problem.grader_error:
                    counts["errors"] += 1
                    error = ET.SubElement(case, "error", message=_attr(first_line(problem.error) or "grader error"),
                                          type="grader_error")
                    error.text = _text(problem.stderr or problem.error)
                elif test.status.value == "skipped":  # e.g. a CUDA case where no GPU is available
                    counts["skipped"] += 1
                    ET.SubElement(case, "skipped", message=_attr(test.output or "skipped"))
                elif not test.passed:
                    counts["failures"] += 1
                    output = with_reason(test.output, problem.error)
                    failure = ET.SubElement(case, "failure", message=_attr(first_line(output) or test.outcome or "failed"),
                                            type=_attr(test.outcome or "failed"))
                    failure.text = _text(f"{details}\n{output}")
                ET.SubElement(case, "system-out").text = _text(details)
        for key, value in counts.items():
            suite.set(key, str(value))
        suite.set("time", seconds(total_seconds))
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", seconds(report.wall))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
