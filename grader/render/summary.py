"""The terminal summary of a graded class: a pure function of a ClassReport.

Student ids and error lines are shown escaped (`eve\\x1b[31m`): a name is a file name the
student chose, and the summary goes to a terminal and to summary.txt."""
from __future__ import annotations

import math

from grader.render.gradebook import number
from grader.render.safe import first_line, one_line

BAR = 30


def _histogram(fractions: list[float], bins: int = 10) -> list[str]:
    counts = [0] * bins
    for f in fractions:
        counts[min(int(f * bins), bins - 1)] += 1
    top = max(counts) or 1
    lines = []
    for i, count in enumerate(counts):
        lo, hi = 100 * i // bins, 100 * (i + 1) // bins
        label = f"{lo:>3}-{hi}%" if i < bins - 1 else f"{lo:>3}-100%"
        lines.append(f"  {label:<9} {'#' * round(BAR * count / top):<{BAR}} {count}")
    return lines


def _seconds(problem) -> float:
    value = problem.seconds
    return value if isinstance(value, (int, float)) and math.isfinite(value) else 0.0


def render_summary(report, slowest: int = 5) -> str:
    a = report.assignment
    students = report.students
    n_sub = sum(len(s.problems) for s in students)
    rate = report.graded / report.wall if report.wall > 0 else 0.0
    lines = [f"{one_line(a.name)}: {len(students)} students x {len(a.problems)} problems = {n_sub} problem-submissions "
             f"in {report.wall:.1f} s ({report.graded} graded at {rate:.1f}/s on {report.jobs} workers, "
             f"{report.cached} from cache)"]
    max_total = a.max_score
    totals = [s.score for s in students]
    if students:
        mean = sum(totals) / len(totals)
        ordered = sorted(totals)
        median = ordered[len(ordered) // 2] if len(ordered) % 2 else (ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2
        lines += ["", f"Score distribution (total out of {number(max_total)}; mean {mean:.1f}, "
                      f"median {median:.1f}, full marks {sum(1 for t in totals if t >= max_total - 1e-9)}):"]
        lines += _histogram([t / max_total if max_total else 0.0 for t in totals])
    lines += ["", "Per problem:"]
    width = max((len(p.id) for p in a.problems), default=8)
    for index, item in enumerate(a.problems):
        results = [s.problems[index] for s in students]
        passed = sum(1 for r in results if r.passed)
        mean = sum(r.score for r in results) / len(results) if results else 0.0
        pct = 100 * passed / len(results) if results else 0.0
        errors = sum(1 for r in results if r.error and not r.grader_error)
        extra = f", {errors} did not run" if errors else ""
        lines.append(f"  {item.id:<{width}}  {passed:>4}/{len(results)} full marks ({pct:5.1f}%)  "
                     f"mean {mean:.1f}/{number(item.problem.points)}{extra}")
    spent = {id(s): sum(_seconds(p) for p in s.problems) for s in students}
    ranked = sorted(students, key=lambda s: spent[id(s)], reverse=True)[:slowest]
    if ranked:
        lines += ["", f"Slowest submissions (grading time, all problems; cached results count their first run):"]
        for s in ranked:
            worst = max(s.problems, key=_seconds)
            lines.append(f"  {one_line(s.student):<24} {spent[id(s)]:7.2f} s  "
                         f"(slowest: {worst.problem} {_seconds(worst):.2f} s)")
    hit = [(one_line(s.student), p.problem, p.limits_hit) for s in students for p in s.problems if p.limits_hit]
    lines += ["", f"Submissions that hit limits: {len(hit) or 'none'}"]
    for student, problem, limits in hit[:20]:
        lines.append(f"  {student:<24} {problem}: {one_line(', '.join(limits))}")
    if len(hit) > 20:
        lines.append(f"  ... and {len(hit) - 20} more (see the per-student JSON)")
    errors = report.grader_errors
    if errors:
        lines += ["", f"GRADER ERRORS: {len(errors)} problem-submissions could not be graded (not the students' fault):"]
        for student, p in errors[:10]:
            lines.append(f"  {one_line(student)}: {p.problem}: {first_line(p.error)}")
    return "\n".join(lines)
