"""JUnit XML: one testcase per student x problem x case, so any CI shows a class's results."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

# Characters XML 1.0 cannot hold at all (student output may contain anything).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str, limit: int = 20000) -> str:
    text = _INVALID_XML.sub(lambda m: "\\x%02x" % ord(m.group()), text or "")
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more characters]"


def junit_xml(report) -> str:
    """The report as JUnit XML: a testsuite per problem, classname `student.problem`, name = case."""
    root = ET.Element("testsuites", name=_clean(report.assignment.name))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for index, item in enumerate(report.assignment.problems):
        suite = ET.SubElement(root, "testsuite", name=item.id)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        seconds = 0.0
        for student in report.students:
            problem = student.problems[index]
            for test in problem.tests + problem.skipped:  # skipped: e.g. CUDA cases where no GPU is available
                case = ET.SubElement(suite, "testcase", classname=f"{student.student}.{item.id}", name=test.name,
                                     time=f"{test.seconds or 0.0:.6f}")
                seconds += test.seconds or 0.0
                counts["tests"] += 1
                props = ET.SubElement(case, "properties")
                ET.SubElement(props, "property", name="score", value=f"{test.score:g}")
                ET.SubElement(props, "property", name="max_score", value=f"{test.max_score:g}")
                if problem.grader_error:
                    counts["errors"] += 1
                    error = ET.SubElement(case, "error", message=_clean(problem.error or "grader error", 500))
                    error.text = _clean(problem.stderr or problem.error or "")
                elif test.status.value == "skipped":  # e.g. a CUDA case where no GPU is available
                    counts["skipped"] += 1
                    ET.SubElement(case, "skipped", message=_clean(test.output or "skipped", 500))
                elif not test.passed:
                    counts["failures"] += 1
                    message = test.output.splitlines()[0] if test.output else (test.outcome or "failed")
                    failure = ET.SubElement(case, "failure", message=_clean(message, 500),
                                            type=test.outcome or "failed")
                    failure.text = _clean(f"score {test.score:g} / {test.max_score:g}\n{test.output}")
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", f"{seconds:.6f}")
        for key in totals:
            totals[key] += counts[key]
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{report.wall:.6f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
